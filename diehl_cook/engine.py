"""The fast engine: the whole protocol of a phase inside one compiled Brian 2 program.

A one-neuron ``protocol`` group advances or retries at the start of every 500 ms
cycle (``protocol.PROTOCOL_CODE``), the input group reads its rates from a table
of images indexed by the protocol's example number, the weights are normalized
by ``run_regularly`` operations once per cycle, spike counts are recorded once
per cycle, and a C++ function stops the run after the last image. With
``cpp_standalone`` the program is compiled once per phase and network and then
run for successive chunks of images (``device.run(run_args=...)``); Python never
steps through the examples.
"""
import fcntl
import hashlib
import itertools
import os
import shutil
import sys
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from brian2 import (Network, NeuronGroup, StateMonitor, Synapses, TimedArray, defaultclock,
                    linked_var, second, set_device, start_scope, volt)
from brian2 import prefs
from brian2 import seed as brian_seed
from brian2.devices import reset_device

from . import brian_internals, ownership
from . import parameters as p
from .errors import SettingsError, StorageError
from .network import TrainedNetwork, build_network, inhibition_weight
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
# 2.2 times slower at 400 neurons without this (README, "Where the time goes").
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

# One record per presentation: which image, at which intensity, how many spikes.
LOG_FIELDS = [("image", np.int64), ("intensity", np.int64), ("spikes", np.int64)]


def presentation_log(image, intensity, spikes):
    """The log of a run's presentations, a record array with fields image,
    intensity and spikes."""
    log = np.zeros(len(image), dtype=LOG_FIELDS)
    log["image"], log["intensity"], log["spikes"] = image, intensity, spikes
    return log


@dataclass
class PhaseResult:
    """What a run over some images produced."""
    counts: np.ndarray          # (n_images, n_e) spikes of each neuron in the accepted presentation
    presentations: np.ndarray   # (n_images,) presentations needed (1 = no retry)
    log: np.ndarray             # every presentation: image, intensity, spikes (presentation_log)
    network: TrainedNetwork = None  # weights and theta after the run (learning only)

    @staticmethod
    def concatenate(parts, offsets):
        """Join consecutive results; ``offsets`` are their first image indices."""
        logs = []
        for part, offset in zip(parts, offsets):
            log = part.log.copy()
            log["image"] += offset
            logs.append(log)
        return PhaseResult(np.concatenate([r.counts for r in parts]),
                           np.concatenate([r.presentations for r in parts]),
                           np.concatenate(logs), parts[-1].network)


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


def default_build_dir():
    """Where compiled programs are kept: $DIEHL_COOK_BUILD_DIR or ~/.cache/diehl_cook."""
    return os.environ.get("DIEHL_COOK_BUILD_DIR",
                          os.path.join(os.path.expanduser("~"), ".cache", "diehl_cook"))


_CLAIMED = {}   # build directories this process holds: directory -> [lock file, engines using it]


def claim_build_dir(directory):
    """``directory``, or ``directory-2``, ``-3``... : the first that no other process
    is using. Its lock (``<directory>.lock``, exclusive) is held until every engine
    of this process that claimed it is closed (``release_build_dir``), so concurrent
    runs of the same program never compile or run in one folder; the engines of one
    process share it (they run one at a time)."""
    root = os.path.dirname(os.path.abspath(directory))
    if os.path.exists(root) and not os.path.isdir(root):
        raise StorageError(f"the build folder {root} is a file, not a folder: give another "
                           f"--build-dir (or $DIEHL_COOK_BUILD_DIR)")
    os.makedirs(root, exist_ok=True)
    for k in itertools.count(1):
        candidate = directory if k == 1 else f"{directory}-{k}"
        if candidate in _CLAIMED:
            _CLAIMED[candidate][1] += 1
            return candidate
        if os.path.exists(candidate) and not ownership.is_program_folder(candidate):
            continue                # not ours (or not a folder): never written into
        lock = open(candidate + ".lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        ownership.mark(candidate, ownership.PROGRAM_MARKER)
        _CLAIMED[candidate] = [lock, 1]
        return candidate


def release_build_dir(directory):
    """Undo one ``claim_build_dir(directory)``; the last one frees the folder for
    other processes (later runs of the same program reuse it without compiling)."""
    claim = _CLAIMED.get(directory)
    if claim is None:
        return
    claim[1] -= 1
    if claim[1] == 0:
        del _CLAIMED[directory]
        claim[0].close()


def cached_programs(build_dir=None):
    """The compiled programs in the cache: a list of (folder, size in bytes). Only
    the folders this project made (``ownership.PROGRAM_MARKER``) are listed."""
    root = build_dir or default_build_dir()
    if not os.path.isdir(root):
        return []
    found = []
    for name in sorted(os.listdir(root)):
        folder = os.path.join(root, name)
        if os.path.isdir(folder) and ownership.is_program_folder(folder):
            size = sum(os.path.getsize(os.path.join(where, f))
                       for where, _, files in os.walk(folder) for f in files)
            found.append((folder, size))
    return found


def remove_program(folder):
    """Delete one cached program unless a running process holds its lock (or it is
    not a program folder). Returns whether it was deleted."""
    if not ownership.is_program_folder(folder):
        return False
    with open(folder + ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        shutil.rmtree(folder)
        os.unlink(folder + ".lock")
    return True


def check_compiler():
    """Raise an error a user can act on if there is no C++ compiler for ``make``."""
    compiler = os.environ.get("CXX", "g++").split()[0]
    if shutil.which(compiler) is None or shutil.which("make") is None:
        missing = "make" if shutil.which(compiler) else f"the C++ compiler {compiler}"
        raise SettingsError(f"{missing} was not found on PATH: the engine compiles the network "
                            f"into a C++ program. Install a compiler and make (Debian/Ubuntu: "
                            f"sudo apt install g++ make; macOS: xcode-select --install), or "
                            f"set $CXX to yours")


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
    copy (``profiling_info``). ``standalone=False`` runs the same model in Brian's
    runtime mode (no compilation, slower), rebuilt for every call.
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
        if getattr(self, "directory", None) is not None and _CLAIMED is not None:
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
        profile = "-profile" if self.profile else ""
        tag = hashlib.sha1(self.delays.tobytes()).hexdigest()[:10]
        return f"{kind}{model}{threads}{profile}-{tag}-job{job}"

    # -- building ------------------------------------------------------------
    def _build(self, image_rates, network):
        """Create the network with its protocol; returns the objects by name."""
        start_scope()
        defaultclock.dt = p.DT
        model = build_network(self.settings, network, self.delays,
                              input_equations=ENGINE_INPUT_EQUATIONS)
        protocol = _protocol_group(model, image_rates)
        extra = [protocol, _spike_counter(model, protocol)]
        if self.learning and self.settings.mechanisms.normalization:
            # With OpenMP threads, the column sums must still be added up by one thread.
            parallel = self.standalone and self.settings.threads > 1
            _normalize_every_cycle(model, brian_internals.serial_code_object_class()
                                   if parallel else None)
        # One record per cycle, taken before the protocol acts on it.
        counts = StateMonitor(model.exc, "count", record=True, dt=CYCLE_TIME, when="start",
                              order=0, name="count_monitor")
        cycles = StateMonitor(protocol, ["example", "intensity", "spikes"], record=0,
                              dt=CYCLE_TIME, when="start", order=0, name="cycle_monitor")
        network = Network(model.objects + extra + [counts, cycles])
        return dict(model=model, protocol=protocol, counts=counts, cycles=cycles,
                    network=network, image_rates=image_rates)

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
                                 [f"-j{os.cpu_count() or 1}"]):
            objects["network"].run(self._max_duration(self.settings.chunk_size), namespace={},
                                   profile=self.profile)
            brian_internals.sort_clock_starts(self._device)
            check_compiler()
            try:
                self._device.build(directory=self.directory, compile=True, run=False,
                                   clean=False, with_output=False)
            except RuntimeError as error:
                if brian_internals.compilation_interrupted(error):
                    raise KeyboardInterrupt("compilation interrupted") from None
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
        self._device.run(directory=self.directory, with_output=False, run_args=run_args)
        brian_internals.delete_run_inputs(self._device, self.directory)
        brian_internals.forget_record_shapes([o["counts"], o["cycles"]])
        return o

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


def _normalize_every_cycle(model, sums_class=None):
    """Before every presentation: scale each neuron's input weights to sum to
    WEIGHT_SUM. The column sums are computed here, once per cycle, rather than by a
    summed variable, which Brian would update at every time step. ``sums_class``:
    the code object class of the sums (a serial one when the program uses OpenMP)."""
    model.exc.run_regularly("incoming = 0", dt=CYCLE_TIME, when="start", order=3,
                            name="incoming_reset")
    model.input_exc.run_regularly("incoming_post += w", dt=CYCLE_TIME, when="start",
                                  order=4, name="incoming_sum", codeobj_class=sums_class)
    model.input_exc.run_regularly("w = w * weight_sum / incoming_post", dt=CYCLE_TIME,
                                  when="start", order=5, name="normalize")


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
