"""Every use of Brian 2 internals, in one place.

The engine needs a few things that Brian 2 (2.9 to 2.11) offers no public way to do. Each is
one function here, with why; ``tests/test_brian_internals.py`` fails if a new
Brian release changes what they rely on.
"""
import os
import shutil
import signal
from contextlib import contextmanager

import numpy as np
from brian2 import Function, Network, prefs
from brian2.core.names import Nameable
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice


def stop_function():
    """``stop_if_not_running(status)`` for model code: returns ``status`` and, when
    it is not 0 (RUNNING), stops the simulation as ``brian2.stop()`` does.

    Why: the engine stops after the last image of a chunk, which only the model
    knows (retries make the duration unknown in advance). ``stop()`` cannot be
    called from generated code, so this sets the flag it sets, the class
    attribute ``Network._globally_stopped`` (``Network::_globally_stopped`` in
    the C++ of standalone mode)."""
    def stop_if_not_running(status):
        if np.any(status != 0):
            Network._globally_stopped = True
        return status

    function = Function(stop_if_not_running, arg_units=[1], return_unit=1,
                        arg_types=["integer"], return_type="integer")
    function.implementations.add_implementation("cpp", """
        int stop_if_not_running(int status)
        {
            if (status != 0)
                Network::_globally_stopped = true;
            return status;
        }
        """, compiler_kwds={"headers": ['"network.h"']})
    function.implementations.add_implementation("cython", """
        from brian2 import Network as _Network
        cdef int stop_if_not_running(int status):
            if status != 0:
                _Network._globally_stopped = True
            return status
        """)
    return function


def seed_from_variable(device, variable, threads=1):
    """Make the compiled program seed its random generators (one per OpenMP
    thread), at the start of each run, from a scalar integer ``variable`` that
    every run sets (``run_args``): thread k gets seed + k, as ``seed()`` does. (The
    engine draws its random numbers in serial loops, from thread 0's generator.)

    Why: ``seed()`` in standalone mode fixes the seed at compile time; each chunk
    needs its own seed without recompiling. This names the program's generators
    (``brian::_random_generators``) and the variable's array in main()."""
    array = device.get_array_name(variable)
    device.insert_code("main", f"for (int _k = 0; _k < {threads}; _k++) "
                               f"brian::_random_generators[_k].seed("
                               f"(unsigned long) brian::{array}[0] + _k);")


def forget_record_shapes(monitors):
    """Let each monitor read the shape of its 2-D records from the next run's files.

    Why: after a run, Brian keeps the shape of a monitor's record (variable.size)
    and reads that many values from the files of the next run of the same
    program, whose number of records differs."""
    for monitor in monitors:
        for variable in monitor.variables.values():
            if isinstance(getattr(variable, "size", None), tuple):
                variable.size = (0, variable.size[1])


def delete_run_inputs(device, directory):
    """Delete the files in which ``device.run(run_args=...)`` passed its arrays.

    Why: Brian writes each array given to a run to a file named by its content
    (``device.run_args_arrays``) and never deletes them; a 60,000-image epoch
    would leave half a gigabyte behind."""
    for name in device.run_args_arrays:
        for suffix in ("", ".lock"):
            path = os.path.join(directory, "static_arrays", name + suffix)
            if os.path.exists(path):
                os.remove(path)


def compilation_interrupted(error):
    """Whether ``error``, raised by ``device.build``, means that ``make`` was stopped
    by Ctrl+C.

    Why: Brian runs ``make`` with ``os.system``, which ignores SIGINT in Python while
    it waits, and reports only "Project compilation failed (error code: X)" with X
    the raw wait status: a make killed by SIGINT gives X = 2 (the signal number),
    a make that failed gives its exit code times 256."""
    return f"(error code: {int(signal.SIGINT)})" in str(error)


def serial_code_object_class():
    """A ``cpp_standalone`` code object class whose loops never run in parallel,
    whatever ``prefs.devices.cpp_standalone.openmp_threads`` says.

    Why: with OpenMP, Brian runs a synaptic ``run_regularly`` as a parallel loop
    over synapses; the normalization's column sums (``incoming_post += w``) then
    add into the same postsynaptic neuron from several threads at once, a data
    race (sums in a varying order, and possibly lost additions). Brian offers no
    per-object switch; this class renders its templates with the "parallel-static"
    pragma (the only one these loops use) left out."""
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject, openmp_pragma

    def serial_pragma(kind):
        return "" if kind == "parallel-static" else openmp_pragma(kind)

    class SerialCodeObject(CPPStandaloneCodeObject):
        templater = CPPStandaloneCodeObject.templater.derive(
            "brian2.devices.cpp_standalone", env_globals={"openmp_pragma": serial_pragma})
    return SerialCodeObject



@contextmanager
def names_as_if_alone():
    """Brian objects created inside the block are named as if no other Brian object
    were alive: a program gets the same names, so the same source files, however
    many programs this process has built before.

    Why: Brian names objects without an explicit name (the network, clocks, code
    objects) ``network``, ``exc_stateupdater_codeobject``... plus ``_1``, ``_2``
    when an object of that name is alive anywhere in the process
    (``brian2.core.names.find_name``, which reads the set of live ``Nameable``
    objects and nothing else). A program built while another engine was open, or
    before a closed one was garbage-collected, got other file names, and ``make``
    compiled it all again (about 35 s) for an unchanged program. The other objects
    are hidden from that set inside the block only; names stay unique within the
    program, and each program has its own device."""
    tracked = Nameable.__instances__()
    hidden = set(tracked)
    tracked.difference_update(hidden)
    try:
        yield
    finally:
        set.update(tracked, {r for r in hidden if r() is not None})


def cython_include_dirs():
    """The folders Brian's Cython compiler appends to ``codegen.cpp.include_dirs``
    (``brianlib`` from Brian 2.10)."""
    import brian2.synapses
    brianlib = os.path.join(os.path.dirname(brian2.__file__), "devices", "cpp_standalone",
                            "brianlib")
    return [os.path.dirname(brian2.synapses.__file__), np.get_include(), brianlib]


def user_include_dirs():
    """``prefs.codegen.cpp.include_dirs`` without the folders Brian's Cython
    compiler added to it: the include folders a standalone build should use.

    Why: each time Brian compiles a Cython module (runtime mode, the first time in a
    cache), it appends ``brian2/synapses`` (numpy's headers; from 2.10 ``brianlib``)
    to the list object the preference holds (``extension_manager.create_extension``
    extends the list it is given, which is the preference itself). A standalone
    program built afterwards got another makefile, and ``make`` compiled it all again
    for an unchanged program. A standalone program does not need those folders: it
    has its own copy of Brian's headers."""
    added = cython_include_dirs()
    return [folder for folder in prefs["codegen.cpp.include_dirs"] if folder not in added]


def sort_clock_starts(device):
    """Write the lines that start each clock (``t = 0``, ``timestep = 0``) in the
    order of the clocks' names.

    Why: Brian queues them for ``main.cpp`` in the order of a set of clocks, which
    follows their memory addresses: every build of an unchanged network wrote
    another ``main.cpp``, and ``make`` compiled it and linked the program again
    (seconds per engine). These lines set independent values, so any order is right."""
    queue = device.main_queue

    def starts_a_clock(index):
        kind, args = queue[index]
        return kind == "set_by_single_value" and args[0].endswith(("clock_t", "clock_timestep"))
    index = 0
    while index < len(queue):
        end = index
        while end < len(queue) and starts_a_clock(end):
            end += 1
        queue[index:end] = sorted(queue[index:end], key=lambda entry: entry[1][0])
        index = end + 1


# Brian's spike queue pushes a spike's synapses one by one, each to the queue slot of
# its own delay (a division and a vector append per synapse). The replacement pushes
# each run of consecutive synapses with equal delays at once: the same synapses in
# every slot, in the same order, so the same simulation.
QUEUE_PUSH_ONE_BY_ONE = """\
                for(int idx_indices=0; idx_indices<num_indices; idx_indices++)
                {
                    const int synaptic_index = cur_indices[idx_indices];
                    int delay = rdelays[synaptic_index];
                    queue[(offset+delay)%queue.size()].push_back(synaptic_index);
                }
"""
QUEUE_PUSH_BY_RUNS = """\
                // diehl_cook: each run of synapses with equal delays is appended at once
                for(int first=0; first<num_indices; )
                {
                    const int delay = rdelays[cur_indices[first]];
                    int end = first + 1;
                    while(end<num_indices && rdelays[cur_indices[end]]==delay)
                        end++;
                    vector<int32_t> &slot = queue[(offset+delay)%queue.size()];
                    slot.insert(slot.end(), cur_indices+first, cur_indices+end);
                    first = end;
                }
"""


def spike_queue_file():
    """The file of Brian's spike queue that the standalone device copies to
    ``brianlib/spikequeue.h`` of each program: ``cspikequeue.cpp`` up to Brian 2.9,
    ``spikequeue.h`` from Brian 2.10."""
    import brian2.synapses
    folder = os.path.dirname(brian2.synapses.__file__)
    for name in ("cspikequeue.cpp", "spikequeue.h"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise RuntimeError(f"no spike queue source in {folder}: this Brian version is not "
                       f"one that diehl_cook.brian_internals knows")


def spike_queue_by_runs(source):
    """Brian's spike queue (the C++ source of ``brianlib/spikequeue.h``) with the
    heterogeneous-delay push replaced by ``QUEUE_PUSH_BY_RUNS``."""
    if source.count(QUEUE_PUSH_ONE_BY_ONE) != 1:
        raise RuntimeError("this Brian version's spike queue is not the one "
                           "diehl_cook.brian_internals.spike_queue_by_runs knows")
    return source.replace(QUEUE_PUSH_ONE_BY_ONE, QUEUE_PUSH_BY_RUNS)


class StandaloneDevice(CPPStandaloneDevice):
    """Brian's ``cpp_standalone`` device, with ``spike_queue_by_runs``.

    Why: the input synapses are sorted by delay within each pixel
    (``network.delay_order``), so one input spike's synapses come as 21 runs of
    equal delay; pushed run by run they cost a copy instead of a division and an
    append each (at 6,400 neurons, 15 million synapses per presentation). Brian
    offers no way to choose the queue; its ``copy_source_files`` copies it into the
    program folder, and this rewrites that copy. The rewritten file keeps its
    modification time from one build to the next while its text is unchanged, so
    ``make`` does not compile an unchanged program again; when it changes, the
    compiled objects are deleted (the dependencies Brian's makefile generates name
    the objects of ``code_objects/`` without their folder, so ``make`` would not
    see that they include the queue)."""

    def copy_source_files(self, writer, directory):
        super().copy_source_files(writer, directory)
        path = os.path.join(directory, "brianlib", "spikequeue.h")
        kept = path + ".by_runs"    # the rewritten queue of the previous build
        with open(path) as file:
            source = spike_queue_by_runs(file.read())
        if os.path.exists(kept):
            with open(kept) as file:
                if file.read() == source:
                    shutil.copy2(kept, path)
                    return
        with open(path, "w") as file:
            file.write(source)
        shutil.copy2(path, kept)
        for folder, _, files in os.walk(directory):
            for name in files:
                if name.endswith(".o"):
                    os.remove(os.path.join(folder, name))
