"""Running the protocol: the fast engine and the reference loop.

The engine puts the whole protocol inside the Brian 2 model: a one-neuron
``protocol`` group advances or retries at the start of every 500 ms cycle
(``diehl_cook.protocol.PROTOCOL_CODE``), the input group reads its rates from a
table of images indexed by the protocol's example number, the weights are
normalized by ``run_regularly`` operations once per cycle, spike counts are
recorded once per cycle, and a C++ function stops the run after the last image.
With ``cpp_standalone`` the program is compiled once per phase and network and then
run for successive chunks of images (``device.run(run_args=...)``); Python never
steps through the examples.

``run_reference`` is the plain Python loop (``run(350 ms)``, ``run(150 ms)`` per
presentation, in Brian's runtime mode) that most ports use: slow, kept for
debugging and for the equivalence tests.
"""
import hashlib
import multiprocessing
import os
from dataclasses import dataclass

import numpy as np
from brian2 import (Function, Network, NeuronGroup, StateMonitor, Synapses, TimedArray,
                    defaultclock, device, get_device, linked_var, second, set_device, volt,
                    Hz, start_scope)
from brian2 import seed as brian_seed
from tqdm.auto import tqdm

from . import parameters as p
from .network import FULL_MODEL, build_network, normalize_weights
from .protocol import (CYCLE_STEPS, CYCLE_TIME, DONE, PRESENTATION_STEPS, PROTOCOL_CODE,
                       PROTOCOL_EQUATIONS, SILENT, input_rates, next_cycle,
                       protocol_namespace, silent_error)

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

DEFAULT_CHUNK = 1000


def use_runtime():
    """Switch Brian to runtime mode (after a standalone engine) with a fresh scope."""
    set_device("runtime")
    start_scope()
    defaultclock.dt = p.DT


def default_build_dir():
    """Where compiled programs are kept: $DIEHL_COOK_BUILD_DIR or ~/.cache/diehl_cook."""
    return os.environ.get("DIEHL_COOK_BUILD_DIR",
                          os.path.join(os.path.expanduser("~"), ".cache", "diehl_cook"))


def chunk_seed(seed, first_image):
    """The random seed of the chunk that starts at ``first_image``: chunks are
    independent of how a phase is split into runs, jobs or resumed sessions."""
    return int(np.random.SeedSequence([seed, first_image]).generate_state(1)[0] >> 1)  # fits int32


@dataclass
class PhaseResult:
    """What a run over some images produced."""
    counts: np.ndarray          # (n_images, n_e) spikes of each neuron in the accepted presentation
    presentations: np.ndarray   # (n_images,) presentations needed (1 = no retry)
    log: np.ndarray             # (n_presentations, 3): image, intensity, spikes of every presentation
    weights: np.ndarray = None  # (784, n_e) after the run (learning only)
    theta: np.ndarray = None    # (n_e,) in volts, after the run (learning only)

    @staticmethod
    def concatenate(parts, offsets):
        """Join consecutive results; ``offsets`` are their first image indices."""
        logs = [r.log + [offset, 0, 0] for r, offset in zip(parts, offsets)]
        return PhaseResult(np.concatenate([r.counts for r in parts]),
                           np.concatenate([r.presentations for r in parts]),
                           np.concatenate(logs), parts[-1].weights, parts[-1].theta)


def _stop_function():
    """``stop_if_not_running(status)``: stops the simulation (all devices) when the
    protocol's status is no longer RUNNING, and returns the status."""
    def stop_if_not_running(status):
        if np.any(status != 0):
            Network._globally_stopped = True
        return status

    function = Function(stop_if_not_running, arg_units=[1], return_unit=1,
                        arg_types=["integer"], return_type="integer")
    function.implementations.add_implementation(
        "cpp",
        """
        int stop_if_not_running(int status)
        {
            if (status != 0)
                Network::_globally_stopped = true;
            return status;
        }
        """,
        compiler_kwds={"headers": ['"network.h"']})
    function.implementations.add_implementation(
        "cython",
        """
        from brian2 import Network as _Network
        cdef int stop_if_not_running(int status):
            if status != 0:
                _Network._globally_stopped = True
            return status
        """)
    return function


class Engine:
    """The protocol of one phase (learning or frozen) for one network.

    The input delays (784, n_e; seconds) are fixed for the life of a network and
    are compiled into the program; weights, theta, images and the seed are given
    to each run. In ``cpp_standalone`` mode (the default) the program is generated
    and compiled once, in ``build_dir``, and every ``run`` call executes it on up
    to ``chunk_size`` images. Compiled programs are kept and reused by later
    processes. Only one standalone engine can be active in a process.
    ``standalone=False`` runs the same model in Brian's runtime mode (no compilation,
    slower), rebuilding it for every call. ``mechanisms`` switches parts of the
    model off (``network.Mechanisms``; the tutorial's ablations).
    """

    def __init__(self, n_e, learning, delays, chunk_size=DEFAULT_CHUNK, standalone=True,
                 build_dir=None, stdp="neuron_traces", job=0, mechanisms=FULL_MODEL):
        self.n_e, self.learning, self.chunk_size = n_e, learning, chunk_size
        self.delays = np.asarray(delays, dtype=float)
        self.standalone, self.stdp, self.mechanisms = standalone, stdp, mechanisms
        if standalone:
            phase = "learning" if learning else "frozen"
            tag = hashlib.sha1(self.delays.tobytes()).hexdigest()[:10]
            model = "" if mechanisms == FULL_MODEL else f"-{mechanisms.name}"
            self.directory = os.path.join(
                build_dir or default_build_dir(),
                f"{phase}-n{n_e}-chunk{chunk_size}-{stdp}{model}-{tag}-job{job}")
            self._build_standalone()

    # -- building ------------------------------------------------------------
    def _build(self, image_rates, weights, theta):
        """Create the network with its protocol; returns the objects by name."""
        start_scope()
        defaultclock.dt = p.DT
        model = build_network(self.n_e, self.learning, ENGINE_INPUT_EQUATIONS, self.stdp,
                              weights=weights, delays=self.delays, theta=theta,
                              mechanisms=self.mechanisms)
        model.input.namespace.update(image_rates=image_rates, cycle_steps=CYCLE_STEPS,
                                     presentation_steps=PRESENTATION_STEPS)
        protocol = NeuronGroup(1, PROTOCOL_EQUATIONS, name="protocol",
                               namespace=dict(protocol_namespace(),
                                              stop_if_not_running=_stop_function()))
        protocol.intensity = p.INTENSITY_START
        protocol.run_regularly(PROTOCOL_CODE, dt=CYCLE_TIME, when="start", order=1,
                               name="protocol_step")
        model.input.example = linked_var(protocol, "example", index=np.zeros(p.N_INPUT, int))
        model.input.intensity = linked_var(protocol, "intensity", index=np.zeros(p.N_INPUT, int))
        model.input.run_regularly(SET_IMAGE_RATE, dt=CYCLE_TIME, when="start", order=6,
                                  name="set_image_rate")
        # Every excitatory spike is also counted by the protocol (for the retry rule).
        spike_counter = Synapses(model.exc, protocol, on_pre="spikes_post += 1",
                                 name="spike_counter")
        spike_counter.connect()
        model.exc.run_regularly("count = 0", dt=CYCLE_TIME, when="start", order=2,
                                name="count_reset")
        extra = [protocol, spike_counter]
        if self.learning and self.mechanisms.normalization:
            # Before every presentation: scale each neuron's input weights to sum to
            # WEIGHT_SUM. The column sums are computed here, once per cycle, rather
            # than by a summed variable, which Brian would update at every time step.
            model.exc.run_regularly("incoming = 0", dt=CYCLE_TIME, when="start", order=3,
                                    name="incoming_reset")
            model.input_exc.run_regularly("incoming_post += w", dt=CYCLE_TIME, when="start",
                                          order=4, name="incoming_sum")
            model.input_exc.run_regularly("w = w * weight_sum / incoming_post", dt=CYCLE_TIME,
                                          when="start", order=5, name="normalize")
        # One record per cycle, taken before the protocol acts on it.
        counts = StateMonitor(model.exc, "count", record=True, dt=CYCLE_TIME, when="start",
                              order=0, name="count_monitor")
        cycles = StateMonitor(protocol, ["example", "intensity", "spikes"], record=0, dt=CYCLE_TIME,
                              when="start", order=0, name="cycle_monitor")
        network = Network(model.objects + extra + [counts, cycles])
        return dict(model=model, protocol=protocol, counts=counts, cycles=cycles,
                    network=network, image_rates=image_rates)

    def _max_duration(self, n_images):
        return (n_images * p.MAX_PRESENTATIONS + 1) * CYCLE_TIME

    def _build_standalone(self):
        set_device("cpp_standalone", build_on_run=False, directory=self.directory)
        device.reinit()     # forget any program built before in this process
        device.activate(build_on_run=False, directory=self.directory)
        get_device().diehl_cook_engine = self
        table = TimedArray(np.zeros((self.chunk_size + 1, p.N_INPUT)), dt=1 * second,
                           name="image_rates")
        # Weights and theta are placeholders here: every run sets them.
        self.objects = self._build(table, np.zeros((p.N_INPUT, self.n_e)), np.zeros(self.n_e))
        device.apply_run_args()
        # Seed the generator from the protocol's rng_seed, which each run sets.
        seed_array = device.get_array_name(self.objects["protocol"].variables["rng_seed"])
        device.insert_code("main", f"brian::_random_generators[0].seed((unsigned long) brian::{seed_array}[0]);")
        self.objects["network"].run(self._max_duration(self.chunk_size), namespace={})
        device.build(directory=self.directory, compile=True, run=False, clean=False,
                     with_output=False)
        self._device = get_device()

    # -- running -------------------------------------------------------------
    def run(self, images, weights, theta, seed, first_image=0):
        """Present ``images`` (array (n, 28, 28) or (n, 784), n <= chunk_size).

        ``weights`` is (784, n_e), ``theta`` (n_e,) in volts. ``first_image`` only
        labels errors. Returns a ``PhaseResult``."""
        n = len(images)
        if not 0 < n <= self.chunk_size:
            raise ValueError(f"a run takes 1 to {self.chunk_size} images, got {n}")
        # One extra silent row: the step in which the run stops reads row n.
        rates = np.zeros((self.chunk_size + 1, p.N_INPUT))
        rates[:n] = input_rates(images)
        if self.standalone:
            objects = self._run_standalone(rates, n, weights, theta, seed)
        else:
            objects = self._run_runtime(rates, n, weights, theta, seed)
        protocol = objects["protocol"]
        status, example = int(protocol.status[0]), int(protocol.example[0])
        if status == SILENT:
            raise silent_error(first_image + example, objects["model"].exc.theta[:] / volt)
        if status != DONE:      # Ctrl+C: Brian stops the program gracefully
            raise KeyboardInterrupt(f"run stopped at image {first_image + example}")
        assert example == n, (example, n)
        result = self._responses(objects, n)
        if self.learning:
            result.weights = np.asarray(objects["model"].input_exc.w[:]).reshape(p.N_INPUT, self.n_e)
            result.theta = np.asarray(objects["model"].exc.theta[:] / volt)
        return result

    def _run_standalone(self, rates, n, weights, theta, seed):
        if getattr(self._device, "diehl_cook_engine", None) is not self:
            raise RuntimeError("another standalone engine was built in this process since "
                               "this one; build this one again")
        if get_device() is not self._device:    # e.g. after a runtime-mode run
            set_device(self._device, build_on_run=False)
        o = self.objects
        model = o["model"]
        run_args = {o["image_rates"]: rates,
                    o["protocol"].n_examples: n,
                    o["protocol"].rng_seed: seed,
                    model.input_exc.w: np.asarray(weights, dtype=float).ravel(),
                    model.exc.theta: np.asarray(theta, dtype=float) * volt}
        device.run(directory=self.directory, with_output=False, run_args=run_args)
        # The run's inputs were written to files named by their content; delete them,
        # or a 60,000-image epoch leaves half a gigabyte behind.
        for name in device.run_args_arrays:
            for suffix in ("", ".lock"):
                path = os.path.join(self.directory, "static_arrays", name + suffix)
                if os.path.exists(path):
                    os.remove(path)
        # Brian remembers the shape of a monitor's 2-D record from the previous run;
        # let it take the new one from the file.
        for monitor in (o["counts"], o["cycles"]):
            for variable in monitor.variables.values():
                if isinstance(getattr(variable, "size", None), tuple):
                    variable.size = (0, variable.size[1])
        return o

    def _run_runtime(self, rates, n, weights, theta, seed):
        use_runtime()
        objects = self._build(TimedArray(rates, dt=1 * second, name="image_rates"),
                              weights, theta)
        objects["protocol"].n_examples = n
        brian_seed(seed)
        objects["network"].run(self._max_duration(n), namespace={})
        return objects

    def _responses(self, objects, n):
        """Per-image responses from the per-cycle records (the first, at t = 0, is empty)."""
        shown = np.asarray(objects["cycles"].example[0][1:], dtype=int)
        intensity = np.asarray(objects["cycles"].intensity[0][1:], dtype=int)
        spikes = np.asarray(objects["cycles"].spikes[0][1:], dtype=int)
        counts = np.asarray(objects["counts"].count[:, 1:], dtype=int).T
        accepted = spikes >= p.MIN_SPIKES
        assert np.array_equal(counts.sum(axis=1), spikes)
        assert np.array_equal(shown[accepted], np.arange(n))
        return PhaseResult(counts[accepted], np.bincount(shown, minlength=n),
                           np.column_stack([shown, intensity, spikes]))


def run_phase(engine, images, weights, theta, seed, first_image=0,
              on_chunk=None, progress=None):
    """Run ``images`` through ``engine`` in chunks, carrying weights and theta.

    ``on_chunk(end, result)`` is called after each chunk with the index after its
    last image and that chunk's result (e.g. to save a checkpoint).
    ``progress`` is a tqdm bar (updated per image) or None. Returns a ``PhaseResult``."""
    parts, starts = [], list(range(0, len(images), engine.chunk_size))
    for start in starts:
        stop = min(start + engine.chunk_size, len(images))
        result = engine.run(images[start:stop], weights, theta,
                            chunk_seed(seed, first_image + start), first_image + start)
        if engine.learning:
            weights, theta = result.weights, result.theta
        parts.append(result)
        if on_chunk is not None:
            on_chunk(first_image + stop, result)
        if progress is not None:
            progress.update(stop - start)
            progress.set_postfix(presentations_per_image=f"{result.presentations.mean():.2f}")
    return PhaseResult.concatenate(parts, starts)


def _frozen_worker(args):
    """One job of ``present_frozen``: its own process, engine and build directory."""
    (n_e, chunk_size, build_dir, job, images, first_image, weights, delays, theta, seed,
     mechanisms, queue) = args
    engine = Engine(n_e, False, delays, chunk_size=chunk_size, build_dir=build_dir, job=job,
                    mechanisms=mechanisms)
    parts, starts = [], list(range(0, len(images), chunk_size))
    for start in starts:
        part = images[start:start + chunk_size]
        parts.append(engine.run(part, weights, theta,
                                chunk_seed(seed, first_image + start), first_image + start))
        queue.put(len(part))
    return PhaseResult.concatenate(parts, [first_image + s for s in starts])


def present_frozen(n_e, images, weights, delays, theta, seed, jobs=None,
                   chunk_size=DEFAULT_CHUNK, build_dir=None, progress=True, desc="images",
                   mechanisms=FULL_MODEL):
    """Show ``images`` to the frozen network and return the responses.

    Without plasticity the images are independent, so whole chunks are spread over
    ``jobs`` processes (default: number of cores). The result does not depend on
    ``jobs``: each chunk has its own seed and starts from the same state."""
    jobs = max(1, min(jobs or os.cpu_count() or 1, -(-len(images) // chunk_size)))
    bar = tqdm(total=len(images), desc=desc, unit="img", disable=not progress,
               dynamic_ncols=True)
    with bar:
        if jobs == 1:
            engine = Engine(n_e, False, delays, chunk_size=chunk_size, build_dir=build_dir,
                            mechanisms=mechanisms)
            return run_phase(engine, images, weights, theta, seed, progress=bar)
        n_chunks = -(-len(images) // chunk_size)
        bounds = [(k * n_chunks // jobs) * chunk_size for k in range(jobs + 1)]
        context = multiprocessing.get_context("spawn")
        with context.Manager() as manager, context.Pool(jobs) as pool:
            queue = manager.Queue()
            tasks = [(n_e, chunk_size, build_dir, job, images[a:b], a, weights, delays,
                      theta, seed, mechanisms, queue) for job, (a, b) in enumerate(zip(bounds, bounds[1:]))]
            pending = pool.map_async(_frozen_worker, tasks)
            done = 0
            while done < len(images):
                if pending.ready() and queue.empty():
                    break
                try:
                    step = queue.get(timeout=0.5)
                except Exception:
                    continue
                done += step
                bar.update(step)
            return PhaseResult.concatenate(pending.get(), [0] * jobs)


def run_reference(n_e, learning, images, weights, delays, theta, seed, stdp="neuron_traces"):
    """The plain Python loop in Brian's runtime mode: two ``run()`` calls per
    presentation. Same rules (``protocol.next_cycle``), same random stream as the
    engine for the same seed; slow. Returns a ``PhaseResult``."""
    use_runtime()
    model = build_network(n_e, learning, "rate : Hz", stdp, weights=weights, delays=delays,
                          theta=theta)
    network = Network(model.objects)
    brian_seed(seed)
    rates = input_rates(images)
    counts, presentations, log = [], [], []
    for index, image_rates in enumerate(rates):
        intensity, shown = p.INTENSITY_START, 1
        while True:
            if learning:
                w = np.asarray(model.input_exc.w[:]).reshape(p.N_INPUT, n_e)
                model.input_exc.w = normalize_weights(w).ravel()
            model.input.rate = image_rates * intensity * Hz
            network.run(p.PRESENTATION_TIME, namespace={})
            model.input.rate = 0 * Hz
            network.run(p.REST_TIME, namespace={})
            response = np.asarray(model.exc.count[:], dtype=int)
            model.exc.count = 0
            log.append((index, intensity, response.sum()))
            accepted, intensity, next_shown = next_cycle(response.sum(), intensity, shown)
            if accepted:
                break
            if next_shown > p.MAX_PRESENTATIONS:
                raise silent_error(index, model.exc.theta[:] / volt)
            shown = next_shown
        counts.append(response)
        presentations.append(shown)
    result = PhaseResult(np.array(counts), np.array(presentations), np.array(log))
    if learning:
        result.weights = np.asarray(model.input_exc.w[:]).reshape(p.N_INPUT, n_e)
        result.theta = np.asarray(model.exc.theta[:] / volt)
    return result
