"""What diehl_cook.brian_internals relies on in Brian 2. If a new Brian release
changes one of these, the matching test fails before the engine silently does."""
import os

import brian2
from brian2 import Network, NeuronGroup, StateMonitor

from diehl_cook import brian_internals
from diehl_cook.engine import standalone_device, use_runtime

TEMPLATES = os.path.join(os.path.dirname(brian2.__file__), "devices", "cpp_standalone",
                         "templates")


def template(name):
    with open(os.path.join(TEMPLATES, name)) as handle:
        return handle.read()


def test_the_stop_flag_is_a_class_attribute_and_a_static_cpp_member():
    assert isinstance(Network._globally_stopped, bool)
    network_cpp = template("network.cpp")
    assert "bool Network::_globally_stopped" in network_cpp
    assert "!Network::_globally_stopped" in network_cpp
    assert "static bool _globally_stopped" in network_cpp


def test_the_stop_function_stops_a_runtime_run(numpy_target):
    """status 0 (RUNNING) goes on; anything else stops at that step."""
    group = NeuronGroup(1, "status : integer", namespace=dict(
        stop_if_not_running=brian_internals.stop_function()))
    group.run_regularly("status = stop_if_not_running(int(t >= 2*ms))", dt=1 * brian2.ms)
    net = Network(group)
    net.run(10 * brian2.ms)
    assert float(net.t / brian2.ms) < 3
    Network._globally_stopped = False


def test_the_random_generators_are_named_as_seed_from_variable_assumes():
    assert "std::vector< RandomGenerator > _random_generators;" in template("objects.cpp")


def test_run_args_arrays_and_monitor_record_shapes_exist(tmp_path):
    """The device lists the files of a run's arguments; a monitor's 2-D record has
    a tuple size that can be reset."""
    with standalone_device(str(tmp_path)) as device:
        assert device.run_args_arrays == []
        group = NeuronGroup(2, "x : 1")
        monitor = StateMonitor(group, "x", record=True)
        sizes = [v.size for v in monitor.variables.values()
                 if isinstance(getattr(v, "size", None), tuple)]
        assert sizes
        brian_internals.forget_record_shapes([monitor])
    assert brian2.get_device().__class__.__name__ == "RuntimeDevice"
    use_runtime()


def test_the_device_switch_always_restores_runtime_mode(tmp_path):
    try:
        with standalone_device(str(tmp_path)):
            assert brian2.get_device().__class__.__name__ == "CPPStandaloneDevice"
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert brian2.get_device().__class__.__name__ == "RuntimeDevice"


def test_synaptic_loops_are_parallel_static_and_the_serial_class_drops_that_pragma():
    """serial_code_object_class assumes that Brian's synaptic run_regularly loop
    (template stateupdate.cpp) is parallelized by the "parallel-static" pragma."""
    from brian2.devices.cpp_standalone.codeobject import openmp_pragma
    assert "{{openmp_pragma('parallel-static')}}" in template("stateupdate.cpp")
    serial = brian_internals.serial_code_object_class()
    pragma = serial.templater.env.globals["openmp_pragma"]
    previous = brian2.prefs.devices.cpp_standalone.openmp_threads
    brian2.prefs.devices.cpp_standalone.openmp_threads = 2
    try:
        assert openmp_pragma("parallel-static").startswith("#pragma omp parallel for")
        assert pragma("parallel-static") == ""
        assert pragma("master") == openmp_pragma("master")
    finally:
        brian2.prefs.devices.cpp_standalone.openmp_threads = previous
