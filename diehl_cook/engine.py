"""The fast engine: the whole protocol of a phase inside one compiled Brian 2 program.

A one-neuron ``protocol`` group advances or retries at the start of every 500 ms
cycle (``protocol.PROTOCOL_CODE``), the input group reads its rates from a table
of images indexed by the protocol's example number, the weights are normalized
by ``run_regularly`` operations once per cycle, spike counts are recorded once
per cycle, and a C++ function stops the run after the last image. With
``cpp_standalone`` the program is compiled once per phase and network and then
run for successive chunks of images (``device.run(run_args=...)``); Python never
steps through the examples. In its hottest loops the program runs the project's own
Brian templates (``diehl_cook/templates``; docs/engine.md): the same results as
Brian's own code, and in fast mode (``settings.engine``) a vectorized integration.
"""
import hashlib
import os
import sys
from contextlib import contextmanager

import numpy as np
from brian2 import (Network, NeuronGroup, StateMonitor, Synapses, TimedArray, defaultclock,
                    linked_var, second, set_device, start_scope, volt)
from brian2 import prefs
from brian2 import seed as brian_seed
from brian2.devices import reset_device

from . import brian_internals
from . import parameters as p
from .errors import ProgramDiedError
from .network import TrainedNetwork, build_network, inhibition_weight
from .programs import (announced_compilation, check_compiler, claim_build_dir,
                       compilation_failed, compiler_output_kept, default_build_dir,
                       release_build_dir)
from .results import PhaseResult, presentation_log
from .protocol import (CYCLE_STEPS, CYCLE_TIME, DONE, PRESENTATION_STEPS, PROTOCOL_CODE,
                       PROTOCOL_EQUATIONS, SILENT, input_rates, protocol_namespace,
                       silent_error)

# The input rates of the engine: the image table is a TimedArray whose "time" is
# the example number (one row per second), read with the protocol's example index.
ENGINE_INPUT_EQUATIONS = """
rate = image_rate * presenting : Hz
presenting = int(timestep(t, dt) % cycle_steps < presentation_steps) : 1 (shared)
image_rate : Hz         # set at the start of each cycle
example : integer (linked)
intensity : 1 (linked)
"""
# Run at the start of each cycle, after the protocol step has chosen the image.
SET_IMAGE_RATE = "image_rate = image_rates(example * second, i) * intensity * Hz"

# The compiled program takes subnormal numbers (below 2.2e-308 in magnitude) as
# zero: the flush-to-zero and denormals-are-zero bits of the x86 SSE control
# register. Why: the traces of a neuron that has not fired for some 14 s of
# simulated time decay into subnormals, and on some x86 processors every
# operation on one costs a hundred cycles; measured on our machine, training ran
# 2.2 times slower at 400 neurons without this (docs/engine.md, "Where the time goes").
# The weights, theta and spikes are those of the plain Python loop (which keeps
# subnormals) to 1e-12 (tests/test_engine.py); a subnormal trace adds nothing to a
# weight of 1e-3 or more. Other processors (ARM) keep their default.
FLUSH_SUBNORMALS = """
#if defined(__x86_64__) || defined(__SSE__)
__builtin_ia32_ldmxcsr(__builtin_ia32_stmxcsr() | 0x8040);  // FTZ (bit 15), DAZ (bit 6)
#endif
"""

# The compiled program dies with the process that started it (Linux): without this a
# Python process killed with kill -9 (or a worker stopped by its parent) left its
# program running to the end of its chunk, minutes at 6,400 neurons. Its parent is
# the Python process itself (Brian starts it with subprocess.call, no shell).
DIE_WITH_PARENT = "prctl(PR_SET_PDEATHSIG, SIGKILL);"
DIE_WITH_PARENT_HEADERS = ["<sys/prctl.h>", "<csignal>"]

# Ctrl+C must stop us at once, not "finish the time step" of Brian's default handler:
# during a compiled run that handler swallows the signal in Python (the run goes on
# to its end when only Python receives it). Without it, Python raises
# KeyboardInterrupt (subprocess.call then kills the program), and the compiled
# program dies on SIGINT; the command line reports both alike (exit 130).
prefs.core.stop_on_keyboard_interrupt = False


def use_runtime():
    """Brian's runtime mode with a fresh scope (for the Python loops)."""
    reset_device("runtime")
    start_scope()
    defaultclock.dt = p.DT


@contextmanager
def standalone_device(directory):
    """A new ``cpp_standalone`` device, active inside the ``with`` block only:
    the previous device (runtime mode) is restored whatever happens. Each engine
    owns its device, so several compiled programs can live in one process."""
    device = brian_internals.StandaloneDevice()
    # The new program's main() starts by setting the default clock's dt to its
    # current value: the model's dt, so every build writes the same main.cpp.
    defaultclock.dt = p.DT
    set_device(device, build_on_run=False, directory=directory)
    try:
        yield device
    finally:
        reset_device()


@contextmanager
def brian_preference(name, value):
    """Brian's preference ``name`` set to ``value`` inside the ``with`` block only."""
    previous = prefs[name]
    prefs[name] = value
    try:
        yield
    finally:
        prefs[name] = previous


class Engine:
    """The protocol of one phase (``settings.phase``) for one network.

    The input delays (784, n_e; seconds) are fixed for the life of a network and
    are compiled into the program; weights, theta, images and the seed are given
    to each run. In ``cpp_standalone`` mode (the default) the program is generated
    and compiled once, in a folder of ``settings.build_dir``, and every ``run``
    executes it on up to ``settings.chunk_size`` images; compiled programs are
    kept and reused by later processes; the engine holds its folder until
    ``close()`` (or the end of a ``with`` block). ``settings.threads`` > 1 compiles
    the program with Brian's OpenMP support; ``profile=True`` compiles a profiled
    copy (``profiling_info``). ``settings.engine`` "fast" compiles the vectorized
    integration (``_own_code``). ``standalone=False`` runs the same model in Brian's
    runtime mode (no compilation, slower, Brian's own code only), rebuilt for every
    call.
    """

    def __init__(self, settings, delays, job=0, standalone=True, profile=False):
        self.settings, self.delays = settings, np.asarray(delays, dtype=float)
        self.standalone, self.profile = standalone, profile
        self.directory = None
        if standalone:
            self.directory = claim_build_dir(os.path.join(
                settings.build_dir or default_build_dir(), self._program_name(job)))
            try:
                with standalone_device(self.directory) as device, \
                        brian_internals.names_as_if_alone(), \
                        brian_preference("codegen.cpp.include_dirs",
                                         brian_internals.user_include_dirs()):
                    self._device = device
                    self.objects = self._build_program()
            except BaseException:
                self.close()
                raise

    def close(self):
        """Free the build folder for other processes (the engine can't run after)."""
        if self.directory is not None:
            release_build_dir(self.directory)
            self.directory = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __del__(self):
        if getattr(self, "directory", None) is not None and release_build_dir is not None:
            self.close()

    @property
    def learning(self):
        return self.settings.learning

    def _program_name(self, job):
        s = self.settings
        kind = f"learning-n{s.n_e}-chunk{s.chunk_size}-{s.rule}" if s.learning else \
            f"frozen-n{s.n_e}-chunk{s.chunk_size}"
        model = "" if s.mechanisms.name == "full" else f"-{s.mechanisms.name}"
        threads = "" if s.threads == 1 else f"-threads{s.threads}"
        mode = "" if s.engine == "exact" else f"-{s.engine}"
        profile = "-profile" if self.profile else ""
        tag = hashlib.sha1(self.delays.tobytes()).hexdigest()[:10]
        return f"{kind}{model}{threads}{mode}{profile}-{tag}-job{job}"

    # -- building ------------------------------------------------------------
    def _build(self, image_rates, network):
        """Create the network with its protocol; returns the objects by name."""
        start_scope()
        defaultclock.dt = p.DT
        model = build_network(self.settings, network, self.delays,
                              input_equations=ENGINE_INPUT_EQUATIONS)
        if self.standalone:
            self._own_code(model)
        protocol = _protocol_group(model, image_rates)
        extra = [protocol, _spike_counter(model, protocol)]
        if self.learning and self.settings.mechanisms.normalization:
            _normalize_every_cycle(model, *(self._normalization_code(model) if self.standalone
                                            else (None, None)))
        # One record per cycle, taken before the protocol acts on it.
        counts = StateMonitor(model.exc, "count", record=True, dt=CYCLE_TIME, when="start",
                              order=0, name="count_monitor")
        cycles = StateMonitor(protocol, ["example", "intensity", "spikes"], record=0,
                              dt=CYCLE_TIME, when="start", order=0, name="cycle_monitor")
        network = Network(model.objects + extra + [counts, cycles])
        return dict(model=model, protocol=protocol, counts=counts, cycles=cycles,
                    network=network, image_rates=image_rates)

    def _own_code(self, model):
        """The project's code in place of Brian's where it is faster: the delay ring for
        the input spikes, vectorized threshold tests and the input's threshold test in
        two loops (the same results), and in fast mode the vectorized integration of
        the neurons. Each falls back to Brian's
        code, with a warning, on a Brian version whose templates it does not know."""
        # The arrival times are derived at postsynaptic spikes where the rule reads them
        # only there (parameters.PRE_TRACE "set": the arrival sets x_pre to 1).
        derived = (self.learning and p.PRE_TRACE == "set"
                   and "t_arrival" in model.input_exc.variables)
        # Fast mode normalizes only the columns that the ring marks as changed.
        self.mark_columns = (self.learning and self.settings.engine == "fast"
                             and self.settings.mechanisms.normalization)
        self.delay_ring = brian_internals.use_delay_ring(
            model.input_exc.pre,
            model.input_exc.post if derived or self.mark_columns else None,
            derive_arrivals=derived, mark_columns=self.mark_columns,
            weight_bytes=p.N_INPUT * self.settings.n_e * 8)
        vector_loops = brian_internals.use_vector_loops(model.exc, model.inh)
        brian_internals.use_threshold_with_draws(model.input)
        self.simd = self.settings.engine == "fast" and vector_loops

    def _normalization_code(self, model):
        """The code object classes of the weight normalization's column sums and
        scaling: in fast mode with the delay ring, the project's loops over the columns
        whose weights changed (see ``templates/columns``); else the project's block
        loops (the same results as Brian's, vectorized); else with OpenMP threads
        Brian's loop kept on one thread (the column sums must be added up by one
        thread); else Brian's."""
        columns = (brian_internals.column_code_object_classes(model.input_exc.pre)
                   if self.delay_ring and self.mark_columns else None)
        if columns is not None:
            return columns
        blocks = brian_internals.block_code_object_class()
        if blocks is None and self.settings.threads > 1:
            blocks = brian_internals.serial_code_object_class()
        return blocks, blocks

    def _compile_args(self):
        """Brian's compiler flags, and in fast mode those that vectorize exp()."""
        args = list(prefs["codegen.cpp.extra_compile_args_gcc"])
        return args + brian_internals.SIMD_COMPILE_ARGS if self.simd else args

    def _max_duration(self, n_images):
        return (n_images * p.MAX_PRESENTATIONS + 1) * CYCLE_TIME

    def _build_program(self):
        table = TimedArray(np.zeros((self.settings.chunk_size + 1, p.N_INPUT)), dt=1 * second,
                           name="image_rates")
        # The network is a placeholder here: every run sets its weights, theta,
        # theta_plus and inhibition.
        n_e = self.settings.n_e
        objects = self._build(table, TrainedNetwork(np.zeros((p.N_INPUT, n_e)), np.zeros(n_e),
                                                    theta_plus=0.0, w_inh_exc=0.0))
        self._device.apply_run_args()
        self._device.insert_code("before_start", FLUSH_SUBNORMALS)
        if sys.platform.startswith("linux"):
            self._device.headers.extend(DIE_WITH_PARENT_HEADERS)
            self._device.insert_code("before_start", DIE_WITH_PARENT)
        brian_internals.seed_from_variable(self._device, objects["protocol"].variables["rng_seed"],
                                           self.settings.threads)
        # 0 = no OpenMP: one thread compiles to exactly the code it always did.
        threads = 0 if self.settings.threads == 1 else self.settings.threads
        # make -j with as many jobs as cores (Brian's default "-j" has no limit: dozens
        # of compilers at once when several programs are built together).
        with brian_preference("devices.cpp_standalone.openmp_threads", threads), \
                brian_preference("devices.cpp_standalone.extra_make_args_unix",
                                 [f"-j{os.cpu_count() or 1}"]), \
                brian_preference("codegen.cpp.extra_compile_args_gcc", self._compile_args()):
            objects["network"].run(self._max_duration(self.settings.chunk_size), namespace={},
                                   profile=self.profile)
            brian_internals.sort_clock_starts(self._device)
            check_compiler()
            try:
                with announced_compilation(self.directory), \
                        brian_preference("logging.std_redirection", False), \
                        compiler_output_kept(self.directory):
                    self._device.build(directory=self.directory, compile=True, run=False,
                                       clean=False, with_output=False)
            except RuntimeError as error:
                if brian_internals.compilation_interrupted(error):
                    raise KeyboardInterrupt("compilation interrupted") from None
                if "compilation failed" in str(error):
                    raise compilation_failed(self.directory) from None
                raise
        return objects

    # -- running -------------------------------------------------------------
    def run(self, images, network, seed, first_image=0):
        """Present ``images`` (array (n, 28, 28) or (n, 784), n <= chunk_size) to
        ``network`` (its weights and theta are used). ``first_image`` only labels
        errors. Returns a ``PhaseResult``."""
        n = len(images)
        if not 0 < n <= self.settings.chunk_size:
            raise ValueError(f"a run takes 1 to {self.settings.chunk_size} images, got {n}")
        # One extra silent row: the step in which the run stops reads row n.
        rates = np.zeros((self.settings.chunk_size + 1, p.N_INPUT))
        rates[:n] = input_rates(images)
        run = self._run_standalone if self.standalone else self._run_runtime
        objects = run(rates, n, network, seed)
        protocol = objects["protocol"]
        status, example = int(protocol.status[0]), int(protocol.example[0])
        if status == SILENT:
            raise silent_error(first_image + example, objects["model"].exc.theta[:] / volt)
        if status != DONE:      # stopped early by Brian's stop flag
            raise KeyboardInterrupt(f"run stopped at image {first_image + example}")
        assert example == n, (example, n)
        result = _responses(objects, n)
        if self.learning:
            model = objects["model"]
            result.network = network.learned(model.input_weights(),
                                             np.asarray(model.exc.theta[:] / volt))
        return result

    def _run_standalone(self, rates, n, network, seed):
        if self.directory is None:
            raise RuntimeError("this engine is closed: make a new one")
        o = self.objects
        model = o["model"]
        run_args = {o["image_rates"]: rates,
                    o["protocol"].n_examples: n,
                    o["protocol"].rng_seed: seed,
                    model.input_exc.w: model.synapse_weights(network.weights),
                    model.exc.theta: np.asarray(network.theta, dtype=float) * volt,
                    model.inh_exc.w_inh_exc: inhibition_weight(self.settings, network)}
        if "theta_plus" in model.exc.variables:
            run_args[model.exc.theta_plus] = network.theta_plus * volt
        try:
            self._device.run(directory=self.directory, with_output=False, run_args=run_args)
        except RuntimeError as error:
            if not str(error).startswith("Project run failed"):
                raise
            raise ProgramDiedError(
                f"the simulation program ({self.directory}/main) ended before finishing its "
                f"run: killed from outside (the out-of-memory killer?) or crashed. The "
                f"finished chunks are kept: run the same command again (a training with "
                f"--resume)") from None
        brian_internals.delete_run_inputs(self._device, self.directory)
        brian_internals.forget_record_shapes([o["counts"], o["cycles"]])
        return o

    def loop_seconds(self):
        """The duration of the last run's simulation loop, as the program measured it
        (``brian_internals.last_run_seconds``); None in runtime mode."""
        return brian_internals.last_run_seconds(self._device) if self.directory else None

    def profiling_info(self):
        """Seconds spent in each code object during the last run (``profile=True``
        only): a list of (name, seconds), largest first. Names say the object and
        the step: ``input_exc_pre_codeobject`` (input spikes arriving),
        ``input_exc_pre_push_spikes`` (queuing them with their delays),
        ``exc_stateupdater_codeobject`` (integrating the neurons)..."""
        path = os.path.join(self.directory, "results", "profiling_info.txt")
        with open(path) as lines:
            info = [(name, float(seconds)) for name, seconds in map(str.split, lines)]
        return sorted(info, key=lambda item: item[1], reverse=True)

    def _run_runtime(self, rates, n, network, seed):
        use_runtime()
        objects = self._build(TimedArray(rates, dt=1 * second, name="image_rates"), network)
        objects["protocol"].n_examples = n
        brian_seed(seed)
        objects["network"].run(self._max_duration(n), namespace={})
        return objects


def _protocol_group(model, image_rates):
    """The one-neuron group that runs the protocol, and the input's link to it."""
    protocol = NeuronGroup(1, PROTOCOL_EQUATIONS, name="protocol",
                           namespace=dict(protocol_namespace(),
                                          stop_if_not_running=brian_internals.stop_function()))
    protocol.intensity = p.INTENSITY_START
    protocol.run_regularly(PROTOCOL_CODE, dt=CYCLE_TIME, when="start", order=1,
                           name="protocol_step")
    model.input.namespace.update(image_rates=image_rates, cycle_steps=CYCLE_STEPS,
                                 presentation_steps=PRESENTATION_STEPS)
    model.input.example = linked_var(protocol, "example", index=np.zeros(p.N_INPUT, int))
    model.input.intensity = linked_var(protocol, "intensity", index=np.zeros(p.N_INPUT, int))
    model.input.run_regularly(SET_IMAGE_RATE, dt=CYCLE_TIME, when="start", order=6,
                              name="set_image_rate")
    return protocol


def _spike_counter(model, protocol):
    """Every excitatory spike is counted per neuron (for the responses) and by the
    protocol (for the retry rule); both counts restart with each cycle."""
    counter = Synapses(model.exc, protocol, on_pre="spikes_post += 1", name="spike_counter")
    counter.connect()
    model.exc.run_regularly("count = 0", dt=CYCLE_TIME, when="start", order=2,
                            name="count_reset")
    return counter


def _normalize_every_cycle(model, sum_class=None, scale_class=None):
    """Before every presentation: scale each neuron's input weights to sum to
    WEIGHT_SUM. The column sums are computed here, once per cycle, rather than by a
    summed variable, which Brian would update at every time step. ``sum_class``,
    ``scale_class``: the code object classes of the sums and the scaling
    (``Engine._normalization_code``)."""
    model.exc.run_regularly("incoming = 0", dt=CYCLE_TIME, when="start", order=3,
                            name="incoming_reset")
    model.input_exc.run_regularly("incoming_post += w", dt=CYCLE_TIME, when="start",
                                  order=4, name="incoming_sum", codeobj_class=sum_class)
    model.input_exc.run_regularly("w = w * weight_sum / incoming_post", dt=CYCLE_TIME,
                                  when="start", order=5, name="normalize",
                                  codeobj_class=scale_class)


def _responses(objects, n):
    """Per-image responses from the per-cycle records (the first, at t = 0, is empty)."""
    cycles = objects["cycles"]
    log = presentation_log(*(np.asarray(getattr(cycles, name)[0][1:], dtype=int)
                             for name in ("example", "intensity", "spikes")))
    counts = np.asarray(objects["counts"].count[:, 1:], dtype=int).T
    accepted = log["spikes"] >= p.MIN_SPIKES
    assert np.array_equal(counts.sum(axis=1), log["spikes"])
    assert np.array_equal(log["image"][accepted], np.arange(n))
    return PhaseResult(counts[accepted], np.bincount(log["image"], minlength=n), log)
