"""Every use of Brian 2 internals, in one place.

The engine needs a few things that Brian 2 (2.9 to 2.11) offers no public way to do. Each is
one function here, with why; ``tests/test_brian_internals.py`` fails if a new
Brian release changes what they rely on.
"""
import contextlib
import functools
import logging
import os
import re
import shutil
import signal
import types
import warnings
from contextlib import contextmanager

import numpy as np
from brian2 import Function, Network, prefs
from brian2.core.names import Nameable
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice


def keep_no_files():
    """No files of Brian's in the system's temporary folder: the debug log and the copy
    of the main script that Brian writes there when it is imported (removed again at a
    normal exit, but kept after an uncaught exception and left behind by ``kill -9``).
    The commands report their errors in one line themselves (``cli.main``); called by
    them and by their worker processes, not on import, so that a user's own script
    keeps Brian's logging. (The compiler's output goes into the program's folder:
    ``programs.compiler_output_kept``.)"""
    from brian2.utils.logger import BrianLogger
    prefs["logging.file_log"] = False
    prefs["logging.save_script"] = False
    if BrianLogger.file_handler is not None:
        BrianLogger.file_handler.close()
        logging.getLogger("brian2").removeHandler(BrianLogger.file_handler)
        BrianLogger.file_handler = None
    for name in ("tmp_log", "tmp_script"):
        path = getattr(BrianLogger, name)
        setattr(BrianLogger, name, None)
        for stale in (path, f"{path}.1") if path else ():
            with contextlib.suppress(OSError):
                os.remove(stale)


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


def last_run_seconds(device):
    """The duration of the last run's simulation loop as the program measured it
    (without reading its inputs or writing its results): CPU time with Brian 2.9
    (``std::clock``), wall time from Brian 2.10 on."""
    return float(device._last_run_time)


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
    heterogeneous-delay push replaced by ``QUEUE_PUSH_BY_RUNS``; unchanged, with a
    warning, if this Brian version's queue has no such loop (the same results,
    slower, and only where the delay ring is off: see ``use_delay_ring``)."""
    if source.count(QUEUE_PUSH_ONE_BY_ONE) != 1:
        _fall_back("pushing spikes by runs", ["its spike queue has no push loop that "
                                              "diehl_cook.brian_internals knows"])
        return source
    return source.replace(QUEUE_PUSH_ONE_BY_ONE, QUEUE_PUSH_BY_RUNS)


# Brian up to 2.9 reads the process's CPU clock after every time step of a run
# (a system call: about 0.3 ms of the 5 ms a 400-neuron presentation takes), to
# report the run's duration at its end. The rewrite reads it once, after the last
# step: the same duration, and the same simulation. Brian 2.11 reads the clock in
# the loop only for a report or a time limit, as the rewrite does; there is nothing
# to rewrite there.
CLOCK_READ_EACH_STEP = """\
        clock = next_clocks();

        current = std::clock();
        elapsed_realtime = (double)(current - start)/(1 * CLOCKS_PER_SEC);


    }
"""
CLOCK_READ_AT_THE_END = """\
        clock = next_clocks();
    }
    // diehl_cook: the run's duration, read once after the last step
    current = std::clock();
    elapsed_realtime = (double)(current - start)/(1 * CLOCKS_PER_SEC);
"""


def network_loop_without_clock(source):
    """Brian's ``network.cpp`` (the C++ source) with ``CLOCK_READ_EACH_STEP`` replaced
    by ``CLOCK_READ_AT_THE_END``; unchanged if its loop reads the clock otherwise
    (with a warning if it still does so at every step)."""
    if source.count(CLOCK_READ_EACH_STEP) == 1:
        return source.replace(CLOCK_READ_EACH_STEP, CLOCK_READ_AT_THE_END)
    if "std::clock();\n        elapsed_realtime" in source:
        _fall_back("reading the clock once per run", ["its network loop reads the clock "
                                                      "at every step in a way that "
                                                      "diehl_cook.brian_internals does "
                                                      "not know"])
    return source


class _NetworkRewritingWriter:
    """A stand-in for the device's file writer that hands ``network.cpp`` on with
    ``network_loop_without_clock`` applied, and every other file as it is."""

    def __init__(self, writer):
        self.writer = writer

    def write(self, filename, contents):
        if filename == "network.*":
            contents = types.SimpleNamespace(
                cpp_file=network_loop_without_clock(contents.cpp_file),
                h_file=contents.h_file)
        self.writer.write(filename, contents)


class StandaloneDevice(CPPStandaloneDevice):
    """Brian's ``cpp_standalone`` device, with ``spike_queue_by_runs`` and
    ``network_loop_without_clock``.

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

    def generate_network_source(self, writer, compiler):
        super().generate_network_source(_NetworkRewritingWriter(writer), compiler)

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


# -- The project's own templates (diehl_cook/templates) ----------------------------
# Each extends Brian's template of the same name (loaded as "brian/<name>") and
# replaces one block. ``BRIAN_TEMPLATE_TEXT`` lists, per template, the text of
# Brian's that ours relies on: a Brian release without it makes the engine fall back
# to Brian's own code, with a warning, instead of failing to build.
BRIAN_TEMPLATE_TEXT = {
    "synapses.cpp": ["{% extends 'common_synapses.cpp' %}", "{% block maincode %}",
                     "{{vector_code|autoindent}}", ".peek()"],
    "synapses_push_spikes.cpp": ["{% extends 'common_group.cpp' %}", "{% block before_code %}",
                                 ".sources",
                                 "{% block maincode %}", "eventspace_variable", ".push("],
    "stateupdate.cpp": ["{% extends 'common_group.cpp' %}", "{% block maincode %}",
                        "{{vector_code|autoindent}}", "for(int _idx=0; _idx<_N; _idx++)"],
    "threshold.cpp": ["{% extends 'common_group.cpp' %}", "{% block maincode %}",
                      "{{vector_code|autoindent}}", "if(_cond)", "_uses_refractory",
                      "{{not_refractory}}[_idx] = false;", "{{lastspike}}[_idx] = {{t}};",
                      "{{_eventspace}}[N] = _count;"],
    "common_group.cpp": ["{% block extra_headers %}", "{% block before_code %}",
                         "{% block maincode %}"],
    "common_synapses.cpp": ["{% block extra_headers %}"],
}
# Brian's variables of each template (its USES_VARIABLES) that ours declare too.
BRIAN_TEMPLATE_VARIABLES = {
    "synapses.cpp": {"_synaptic_pre"},
    "synapses_push_spikes.cpp": {"_n_sources", "_n_targets", "delay", "_source_dt"},
    "stateupdate.cpp": {"N"},
    "threshold.cpp": {"N"},
}


def brian_template_source(name):
    """The text of Brian's ``cpp_standalone`` template ``name`` (e.g. "synapses.cpp")."""
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject
    loader = CPPStandaloneCodeObject.templater.env.loader
    return loader.get_source(CPPStandaloneCodeObject.templater.env, name)[0]


def templates_differ(names):
    """The reasons why the project's templates ``names`` can't extend this Brian
    version's (an empty list: they can)."""
    reasons = []
    for name in sorted(set(names) | {"common_group.cpp", "common_synapses.cpp"}):
        try:
            source = brian_template_source(name)
        except Exception as error:      # a template this Brian version does not have
            reasons.append(f"{name}: {error}")
            continue
        missing = [text for text in BRIAN_TEMPLATE_TEXT.get(name, []) if text not in source]
        if missing:
            reasons.append(f"{name} has no {', '.join(map(repr, missing))}")
        declared = set()
        for block in re.findall(r"USES_VARIABLES\s*\{(.*?)\}", source, re.S):
            declared |= {word.strip() for word in block.split(",") if word.strip()}
        extra = declared - BRIAN_TEMPLATE_VARIABLES.get(name, declared)
        if extra:
            reasons.append(f"{name} uses variables {sorted(extra)} that ours do not declare")
    return reasons


@functools.lru_cache(maxsize=None)
def engine_code_object_class(templates="templates", **env_globals):
    """A ``cpp_standalone`` code object class whose templates are the project's (in
    the folder ``templates`` of the package) where it has one, else Brian's;
    ``env_globals``: names the templates read. One class (and one loaded set of
    templates) per argument set, however many engines use it."""
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject
    from jinja2 import ChoiceLoader, PackageLoader, PrefixLoader
    brians = CPPStandaloneCodeObject.templater
    templater = brians.derive("diehl_cook", templates_dir=templates, env_globals=env_globals)
    # A subfolder's templates may import the main folder's (the delay ring's macros).
    templater.env.loader = ChoiceLoader([templater.env.loader,
                                         PackageLoader("diehl_cook", "templates"),
                                         PrefixLoader({"brian": brians.env.loader})])

    class EngineCodeObject(CPPStandaloneCodeObject):
        pass
    EngineCodeObject.templater = templater
    return EngineCodeObject


def _fall_back(what, reasons):
    """Warn that ``what`` is off on this Brian version, and why; returns False."""
    warnings.warn(f"diehl_cook: {what}: off, since this Brian version's code is not the "
                  f"code it extends ({'; '.join(reasons)}). The engine runs Brian's own code "
                  f"instead: the same results, slower.", RuntimeWarning, stacklevel=3)
    return False


# Input weights up to which the delay ring writes every delivered weight back (no
# branch) rather than the changed ones only (no write of an unchanged one): measured
# side by side in fast mode, 400 neurons (2.5 MB of weights) 7% faster, 1,600 (10 MB)
# 5% slower, 6,400 (40 MB) 10% slower (docs/engine.md).
WRITE_ALL_WEIGHTS_UP_TO = 4 * 2**20     # bytes


def use_delay_ring(pathway, other_pathway=None, derive_arrivals=False, mark_columns=False,
                   weight_bytes=None):
    """Deliver ``pathway``'s spikes with the delay ring (``templates/synapses.cpp`` and
    ``templates/synapses_push_spikes.cpp``) instead of Brian's spike queue. Returns
    whether it does (False, with a warning, when Brian's templates are not the ones
    the ring's extend).

    Why: at 6,400 neurons an input spike reaches 6,400 synapses; Brian's queue writes
    each synapse's index into the slot of its delay and reads it back when it is
    delivered (8 bytes per synaptic event, 15 million events per presentation). The
    ring keeps only the spiking inputs of the last max_delay + 1 steps and, since
    each input's synapses are sorted by delay (``network.delay_order``), delivers
    each (input, delay) group as one range of synapse indices, running Brian's
    generated code for each. The order is Brian's queue's: the spikes of the earliest
    step first, then by input, each group in index order (so every conductance sums
    the same weights in the same order; ``tests/test_engine.py`` checks the results
    bit for bit).

    ``other_pathway``: the other pathway of the same synapses (the postsynaptic
    spikes), which then runs Brian's loop in the ring's template. ``mark_columns``:
    both pathways mark the targets whose weights they change, for
    ``column_code_object_classes`` (fast mode). ``derive_arrivals``: the
    other pathway is the only code that reads the synapses' arrival time
    ``t_arrival`` and ``pathway`` only sets it (``t_arrival = t``): then ``pathway``
    does not store it (8 bytes written per synaptic event) and the other pathway
    derives it for the synapses it runs, from the source's recent spike steps and the
    synapse's delay (the same step, so the same time: ``timestep * dt`` as Brian's
    clock computes it). ``weight_bytes``: the size of the pathway's weights, which
    decides whether every delivered weight is written back (``WRITE_ALL_WEIGHTS_UP_TO``)."""
    reasons = templates_differ(["synapses.cpp", "synapses_push_spikes.cpp"])
    if reasons:
        return _fall_back("the delay ring", reasons)
    write_all = weight_bytes is not None and weight_bytes <= WRITE_ALL_WEIGHTS_UP_TO
    code_class = engine_code_object_class(delay_ring_pathway=pathway.name,
                                          lazy_arrival=derive_arrivals,
                                          mark_columns=mark_columns,
                                          write_all_weights=write_all)
    pathway.codeobj_class = code_class
    if other_pathway is not None:
        other_pathway.codeobj_class = code_class
    return True


def use_vector_loops(*groups):
    """Run ``groups``' threshold tests (``templates/threshold.cpp``) and state updates
    (``templates/stateupdate.cpp``) in loops the compiler vectorizes. Returns whether
    they do (False, with a warning, when Brian's templates are not the ones ours
    extend).

    Why: Brian's threshold loop tests and collects the spiking neurons in one loop
    with a branch, which is not vectorized (at 6,400 neurons, 6.4 million tests per
    presentation in each layer); tested first and collected after, the spikes are the
    same. The state update's loop is marked "omp simd", which takes effect only with
    ``SIMD_COMPILE_ARGS`` (fast mode): then exp() is vectorized too, and glibc's vector
    exp() is not bit for bit the scalar one. Without them the loop is Brian's."""
    reasons = templates_differ(["stateupdate.cpp", "threshold.cpp"])
    if reasons:
        return _fall_back("the vectorized neuron loops", reasons)
    for group in groups:
        group.codeobj_class = engine_code_object_class()
    return True


def use_threshold_with_draws(group):
    """Run the threshold test of ``group``, whose condition draws random numbers with
    rand(), in two loops (``templates/draws/threshold.cpp``): the first, vectorized,
    marks the neurons whose test draws a number (or is true without one), the second
    runs Brian's code for those only, in index order. Returns whether it does (False,
    with a warning, when Brian's template is not the one it extends).

    Why: the Poisson input tests 784 neurons at every step in a loop with a branch
    that follows the image's strokes; about 150 inputs are lit during a presentation
    and none during the rest. The same numbers are drawn in the same order, so the
    spikes are the same."""
    reasons = templates_differ(["threshold.cpp"])
    if reasons:
        return _fall_back("the input's threshold test in two loops", reasons)
    group.thresholder["spike"].codeobj_class = engine_code_object_class("templates/draws")
    return True


def block_code_object_class():
    """A code object class for operations on every synapse of an all-to-all pathway
    whose synapses come in blocks of N_post, one per source neuron, with N_post
    different targets each (``templates/blocks/stateupdate.cpp``), or None (with a
    warning) when Brian's template is not the one it extends.

    Why: the weight normalization adds every input weight into its neuron's column
    sum, then scales it: Brian's loop over the 5 million synapses at 6,400 neurons
    is not vectorized, since two synapses could share a target. Within a block they
    don't, so each block is a loop the compiler vectorizes; the blocks go in order,
    so every column sum adds the same weights in the same order. The loops run on
    one thread with OpenMP too (see ``serial_code_object_class``)."""
    reasons = templates_differ(["stateupdate.cpp"])
    if reasons:
        _fall_back("the vectorized weight normalization", reasons)
        return None
    return engine_code_object_class("templates/blocks")


def column_code_object_classes(pathway):
    """The code object classes of the weight normalization's column sums and scaling
    for the synapses of ``pathway``, a pathway given the delay ring together with the
    synapses' other pathway and ``mark_columns`` (``use_delay_ring``): (sum, scale),
    or None (with a warning) when Brian's template is not the one they extend.

    Why: at 6,400 neurons the normalization reads the 5 million input weights twice
    per presentation (12 ms), while a few dozen of the 6,400 columns change. The
    classes (``templates/columns/stateupdate.cpp``, fast mode) normalize the columns
    whose weights changed since their last normalization and leave out the others,
    whose sums are already 78 to rounding. Not bit for bit Brian's: Brian's loop
    scales such a column again, by a factor within a few units in the last place of 1
    (a third of the columns never settle: the factor alternates above and below 1)."""
    reasons = templates_differ(["stateupdate.cpp"])
    if reasons:
        _fall_back("the normalization of the changed columns only", reasons)
        return None
    return tuple(engine_code_object_class("templates/columns", column_role=role,
                                          delay_ring_pathway=pathway.name)
                 for role in ("sum", "scale"))


# gcc vectorizes exp() (with glibc's libmvec) only when finite math may be assumed.
SIMD_COMPILE_ARGS = ["-ffinite-math-only", "-fopenmp-simd"]
