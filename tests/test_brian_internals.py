"""What diehl_cook.brian_internals relies on in Brian 2. If a new Brian release
changes one of these, the matching test fails before the engine silently does."""
import inspect
import os
import pathlib
import subprocess
import weakref

import brian2
import brian2.synapses
import numpy as np
import pytest
from brian2 import Network, NeuronGroup, SpikeMonitor, StateMonitor
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

from diehl_cook import brian_internals
from diehl_cook.engine import standalone_device, use_runtime

from conftest import quiet_model

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
            assert isinstance(brian2.get_device(), CPPStandaloneDevice)
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


def test_objects_are_named_as_if_no_other_program_were_alive(tmp_path):
    """A program built while another one is alive names its objects (and so its
    source files) as if it were alone: an unchanged program is not compiled again."""
    names, alive = [], []
    for k in range(2):
        with standalone_device(str(tmp_path / str(k))) as device, \
                brian_internals.names_as_if_alone():
            group = NeuronGroup(1, "dv/dt = -v / (10*ms) : 1", threshold="v > 1",
                                reset="v = 0", name="cell", dt=1 * brian2.ms,
                                method="exact")
            network = Network(group)
            network.run(1 * brian2.ms)
            names.append([network.name, group.clock.name] + sorted(device.code_objects))
            alive.append((device, network))      # the first program stays alive
    assert names[0] == names[1]
    assert names[1][:2] == ["network", "cell_clock"]
    assert "cell_stateupdater_codeobject" in names[1]
    assert all(ref() is not None for ref in map(weakref.ref, alive[0]))
    use_runtime()


def test_clock_starts_are_queued_lines_that_sort_clock_starts_orders(tmp_path):
    """The lines that start the clocks are "set_by_single_value" entries of the
    device's main queue, one after the other; sort_clock_starts orders them by name."""
    with standalone_device(str(tmp_path)) as device:
        groups = [NeuronGroup(1, "v : 1", name=name, dt=dt * brian2.ms)
                  for name, dt in (("b", 1), ("a", 2), ("c", 0.5))]
        for group in groups:
            group.run_regularly("v += 1")
        Network(groups).run(2 * brian2.ms)
        brian_internals.sort_clock_starts(device)
        runs, run = [], []      # the runs of consecutive clock-start lines
        for kind, args in device.main_queue:
            if kind == "set_by_single_value" and args[0].endswith(("clock_t", "clock_timestep")):
                run.append(args[0])
            elif run:
                runs, run = runs + [run], []
    use_runtime()
    # Brian 2.11 also sets each clock's timestep once when the clock is made (in
    # the order the groups were made); the run's starts are the run with the t's.
    starts = [run for run in runs if any(name.endswith("clock_t") for name in run)]
    assert len(starts) == 1 and len(starts[0]) == 2 * len(groups)
    assert starts[0] == sorted(starts[0]) and "_array_a_clock_timestep" in starts[0]


def test_cython_compiles_extend_the_include_dirs_they_are_given_and_are_hidden_from_builds():
    """Brian's Cython compiler appends its folders to the include list it is given
    (in runtime mode: the preference itself), so a later standalone makefile would
    differ; user_include_dirs leaves them out (the engine builds with that list)."""
    from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager
    given = []
    code = f"#cython: language_level=3\ndef main():\n    return {os.getpid()}  # {id(given)}\n"
    cython_extension_manager.create_extension(code, include_dirs=given)
    assert given[0] == brian_internals.cython_include_dirs()[0]      # brian2/synapses
    assert set(given) <= set(brian_internals.cython_include_dirs())   # (2.11: and brianlib)

    original = brian2.prefs["codegen.cpp.include_dirs"]
    users = [folder for folder in original if folder not in given] + ["/user/headers"]
    leaked = users + given
    brian2.prefs["codegen.cpp.include_dirs"] = leaked
    try:
        assert brian_internals.user_include_dirs() == users
        assert brian2.prefs["codegen.cpp.include_dirs"] is leaked
    finally:
        brian2.prefs["codegen.cpp.include_dirs"] = original


# A driver for Brian's spike queue: random delays (one run sorted by delay per source,
# as network.delay_order makes them, and one unsorted), random spikes over 60 steps;
# it prints the synapses delivered at each step.
QUEUE_DRIVER = r"""
#include <cstdio>
#include <cstdlib>
#include "spikequeue.h"
int main(int argc, char **argv)
{
    const int sources = 40, per_source = 50, n = sources * per_source;
    const bool sorted_delays = argc > 1;
    std::vector<double> delays(n);
    std::vector<int32_t> pre(n);
    srand(1);
    for (int s = 0; s < sources; s++)
        for (int k = 0; k < per_source; k++) {
            pre[s * per_source + k] = s;
            delays[s * per_source + k] = (sorted_delays ? k * 21 / per_source : rand() % 21) * 0.5;
        }
    CSpikeQueue queue(0, sources);
    queue.prepare(&delays[0], n, &pre[0], n, 0.5);
    for (int step = 0; step < 60; step++) {
        std::vector<int32_t> spikes;
        for (int s = 0; s < sources; s++)
            if (rand() % 3 == 0) spikes.push_back(s);
        if (!spikes.empty()) queue.push(&spikes[0], spikes.size());
        std::vector<int32_t> *delivered = queue.peek();
        for (size_t k = 0; k < delivered->size(); k++) printf("%d ", (*delivered)[k]);
        printf("\n");
        queue.advance();
    }
    return 0;
}
"""


def _queue_output(tmp_path, name, source, sorted_delays):
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    (folder / "spikequeue.h").write_text(source)
    (folder / "stdint_compat.h").write_text(
        (pathlib.Path(brian2.synapses.__file__).parent / "stdint_compat.h").read_text())
    (folder / "driver.cpp").write_text(QUEUE_DRIVER)
    subprocess.run(["g++", "-O2", "-o", "driver", "driver.cpp"], cwd=folder, check=True)
    args = ["./driver"] + (["sorted"] if sorted_delays else [])
    return subprocess.run(args, cwd=folder, check=True, capture_output=True, text=True).stdout


@pytest.mark.compile
@pytest.mark.parametrize("sorted_delays", [True, False])
def test_the_spike_queue_by_runs_delivers_what_brians_queue_delivers(tmp_path, sorted_delays):
    brians = pathlib.Path(brian_internals.spike_queue_file()).read_text()
    expected = _queue_output(tmp_path, "brian", brians, sorted_delays)
    by_runs = _queue_output(tmp_path, "by_runs", brian_internals.spike_queue_by_runs(brians),
                            sorted_delays)
    assert len(expected.split()) > 1000
    assert by_runs == expected


def test_the_device_copies_the_queue_that_spike_queue_by_runs_rewrites():
    source = inspect.getsource(CPPStandaloneDevice.copy_source_files)
    copied = os.path.basename(brian_internals.spike_queue_file())
    assert f'"{copied}"' in source and '"spikequeue.h"' in source
    brians = pathlib.Path(brian_internals.spike_queue_file()).read_text()
    assert brian_internals.QUEUE_PUSH_BY_RUNS in brian_internals.spike_queue_by_runs(brians)


def test_make_runs_with_one_job_per_core(tmp_path, monkeypatch):
    """Brian 2.9's default "-j" starts as many compilers as there are files (2.11's
    default is one per core)."""
    from brian2 import prefs
    default = list(prefs["devices.cpp_standalone.extra_make_args_unix"])
    from diehl_cook.engine import Engine
    from diehl_cook.network import initial_state
    from diehl_cook.settings import RunSettings

    class Built(Exception):
        pass

    def build(self, **kwargs):
        raise Built(list(prefs["devices.cpp_standalone.extra_make_args_unix"]))
    monkeypatch.setattr(brian_internals.StandaloneDevice, "build", build)
    settings = RunSettings(phase="testing", n_e=3, chunk_size=2, build_dir=str(tmp_path))
    with pytest.raises(Built) as built:
        Engine(settings, initial_state(3, 0)[1])
    assert built.value.args[0] == [f"-j{os.cpu_count()}"]
    assert prefs["devices.cpp_standalone.extra_make_args_unix"] == default      # restored


# -- The project's templates: a Brian release that changes what they extend --------
def _brian_changes_template(monkeypatch, name, old, new):
    """Brian's template ``name`` as if a release had replaced ``old`` by ``new``."""
    original = brian_internals.brian_template_source

    def changed(template):
        source = original(template)
        return source.replace(old, new) if template == name else source
    monkeypatch.setattr(brian_internals, "brian_template_source", changed)


def test_the_project_templates_extend_this_brians():
    assert brian_internals.templates_differ(["synapses.cpp", "synapses_push_spikes.cpp",
                                             "stateupdate.cpp", "threshold.cpp"]) == []


@pytest.mark.parametrize("name, old, new", [
    ("synapses.cpp", "{% block maincode %}", "{% block main_code %}"),
    ("synapses_push_spikes.cpp", ".push(", ".push_events("),
    ("synapses_push_spikes.cpp", "_source_dt}", "_source_dt, _queue_size}"),   # a new variable
    ("common_group.cpp", "{% block extra_headers %}", ""),
])
def test_a_changed_brian_template_turns_the_delay_ring_off_with_a_warning(
        monkeypatch, name, old, new):
    model = quiet_model(3)
    _brian_changes_template(monkeypatch, name, old, new)
    with pytest.warns(RuntimeWarning, match="the delay ring: off.*Brian's own code"):
        assert brian_internals.use_delay_ring(model.input_exc.pre) is False
    assert model.input_exc.pre.codeobj_class is None          # Brian's own templates


@pytest.mark.parametrize("name, old, new", [
    ("stateupdate.cpp", "for(int _idx=0; _idx<_N; _idx++)", "for(size_t _idx=0; _idx<_N; _idx++)"),
    ("threshold.cpp", "if(_cond)", "if(_cond && _active)"),
])
def test_a_changed_neuron_template_turns_the_vector_loops_off(monkeypatch, name, old, new):
    model = quiet_model(3)
    _brian_changes_template(monkeypatch, name, old, new)
    with pytest.warns(RuntimeWarning, match="the vectorized neuron loops: off"):
        assert brian_internals.use_vector_loops(model.exc, model.inh) is False
    assert model.exc.codeobj_class is None and model.inh.codeobj_class is None
    assert brian_internals.use_delay_ring(model.input_exc.pre) is True    # not concerned


def test_a_changed_threshold_template_turns_the_two_loop_draws_off(monkeypatch):
    model = quiet_model(3)
    _brian_changes_template(monkeypatch, "threshold.cpp", "if(_cond)", "if(_cond && _active)")
    with pytest.warns(RuntimeWarning, match="the input's threshold test in two loops: off"):
        assert brian_internals.use_threshold_with_draws(model.input) is False
    assert model.input.thresholder["spike"].codeobj_class is None


# Threshold conditions with random draws: the input's; one whose second draw depends
# on the first's value (the first loop, drawing nothing, marks every neuron: each
# draws); one with a random function other than rand(), left to Brian's loop.
DRAWING_CONDITIONS = ["rate > 0*Hz and rand() < rate * dt",
                      "rand() < 0.3 and rand() < rate * dt",
                      "rate > 0*Hz and randn() > 2.5"]


def _threshold_spikes(directory, own):
    """The spikes of three groups of 40 neurons, one per DRAWING_CONDITIONS (rates 0
    to 390 Hz, a third of them 0), over 100 steps of a standalone program: with the
    project's two-loop threshold (``own``) or Brian's."""
    with standalone_device(str(directory)) as device:
        groups = [NeuronGroup(40, "rate : Hz", threshold=condition, name=f"drawing_{k}")
                  for k, condition in enumerate(DRAWING_CONDITIONS)]
        for group in groups:
            group.rate = "int(i % 3 > 0) * i * 10*Hz"
            if own:
                assert brian_internals.use_threshold_with_draws(group)
        monitors = [SpikeMonitor(group) for group in groups]
        brian2.seed(7)
        Network(groups + monitors).run(100 * brian2.defaultclock.dt)
        device.build(directory=str(directory), compile=True, run=True, with_output=False)
        network_loop = (directory / "network.cpp").read_text()
        # The program's own measure of its loop (the benchmark's ``loop_ms``).
        assert 0 < brian_internals.last_run_seconds(device) < 60
        code = {group.name: next((directory / "code_objects").glob(
                    f"{group.name}_spike_thresholder_codeobject*.cpp")).read_text()
                for group in groups}
        return [(m.i[:].copy(), m.t[:].copy()) for m in monitors], code, network_loop


@pytest.mark.compile
def test_the_two_loop_threshold_draws_what_brians_loop_draws(tmp_path):
    """The same numbers drawn in the same order, so the same spikes, for every
    condition; conditions that draw with rand() only in two loops, the other in
    Brian's loop."""
    own, own_code, network_loop = _threshold_spikes(tmp_path / "own", own=True)
    brians, brians_code, _ = _threshold_spikes(tmp_path / "brians", own=False)
    for (i, t), (brian_i, brian_t) in zip(own, brians):
        assert len(i) > 0
        assert np.array_equal(i, brian_i) and np.array_equal(t, brian_t)
    assert "_draws" in own_code["drawing_0"] and "_draws" in own_code["drawing_1"]
    assert "_draws" not in own_code["drawing_2"]
    assert not any("_draws" in code for code in brians_code.values())
    # The program's loop reads the clock after the last step (rewritten, Brian 2.9), or
    # only for a report or a time limit (Brian 2.11).
    assert brian_internals.CLOCK_READ_EACH_STEP not in network_loop
    assert ("diehl_cook: the run's duration" in network_loop
            or "should_check_time" in network_loop)


def test_a_network_loop_that_reads_the_clock_otherwise_is_left_as_it_is():
    each_step = brian_internals.CLOCK_READ_EACH_STEP
    assert brian_internals.CLOCK_READ_AT_THE_END in brian_internals.network_loop_without_clock(
        "while(running)\n    {\n" + each_step)
    changed = each_step.replace("\n\n\n", "\n")
    with pytest.warns(RuntimeWarning, match="reading the clock once per run: off"):
        assert brian_internals.network_loop_without_clock(changed) == changed
    assert brian_internals.network_loop_without_clock("no clock") == "no clock"


def test_a_changed_state_update_template_turns_the_normalization_loops_off(monkeypatch):
    """Both of the project's normalization loops (the blocks of exact mode, the changed
    columns of fast mode) extend Brian's state update: Brian's loop instead."""
    model = quiet_model(3)
    assert brian_internals.column_code_object_classes(model.input_exc.pre) is not None
    _brian_changes_template(monkeypatch, "stateupdate.cpp", "{% block maincode %}",
                            "{% block main_code %}")
    with pytest.warns(RuntimeWarning, match="the normalization of the changed columns only: off"):
        assert brian_internals.column_code_object_classes(model.input_exc.pre) is None
    with pytest.warns(RuntimeWarning, match="the vectorized weight normalization: off"):
        assert brian_internals.block_code_object_class() is None


def test_a_changed_spike_queue_is_used_as_it_is_with_a_warning():
    brians = pathlib.Path(brian_internals.spike_queue_file()).read_text()
    changed = brians.replace(brian_internals.QUEUE_PUSH_ONE_BY_ONE,
                             brian_internals.QUEUE_PUSH_ONE_BY_ONE.replace("int delay", "int d"))
    with pytest.warns(RuntimeWarning, match="pushing spikes by runs: off"):
        assert brian_internals.spike_queue_by_runs(changed) == changed
