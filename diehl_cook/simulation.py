"""Running a phase over many images: chunks, their seeds, parallel jobs.

Every phase (training, labelling, testing) runs through one chunk loop
(``run_chunks``): the images are cut into chunks of ``settings.chunk_size``, each
run by one execution of the engine's compiled program with a seed of its own
derived from the run's seed and the chunk's first image. While training, the
weights and theta of one chunk are the start of the next. The frozen phases have
no state to carry, so ``run_phase`` spreads their chunks over ``settings.jobs``
processes, each running the same loop, and can keep each finished chunk on disk
(``settings.keep``) so that an interrupted labelling or test continues where it stopped.
The result does not depend on the number of jobs, nor on how a run is interrupted
and resumed.
"""
import ctypes
import dataclasses
import multiprocessing
import os
import queue as queues
import signal
import sys
import threading

import numpy as np
from tqdm.auto import tqdm

from . import brian_internals, storage
from .engine import Engine
from .results import PhaseResult
from .errors import WorkerDiedError

# Set in the environment of the worker processes (``worker_context``). A worker
# removes Brian's files from the temporary folder as soon as it has imported Brian
# (this module is the package's first that it imports, to find its target): a worker
# whose parent is killed while it is still starting fails with an exception while
# reading its arguments, after which Brian would keep them.
WORKER_ENVIRONMENT = "DIEHL_COOK_WORKER"
if os.environ.get(WORKER_ENVIRONMENT):
    brian_internals.keep_no_files()


def worker_context():
    """multiprocessing's "spawn" context, whose processes know that they are the
    project's workers (``WORKER_ENVIRONMENT``)."""
    os.environ[WORKER_ENVIRONMENT] = "1"
    return multiprocessing.get_context("spawn")


def chunk_seed(seed, first_image):
    """The random seed of the chunk that starts at ``first_image``: chunks are
    independent of how a phase is split into runs, jobs or resumed sessions."""
    return int(np.random.SeedSequence([seed, first_image]).generate_state(1)[0] >> 1)  # fits int32


def run_chunks(engine, network, images, first_image=0, on_chunk=None):
    """Run ``images`` through ``engine`` chunk by chunk, starting from ``network``.

    ``first_image`` is the position of ``images[0]`` in the whole phase (it fixes
    the chunks' seeds). ``on_chunk(end, result)`` is called after each chunk run
    with the position after its last image and that chunk's result. A frozen phase
    with ``settings.keep`` (a folder) saves each chunk's result there, and takes
    the chunks found there instead of running them again. Returns a
    ``PhaseResult`` (image indices relative to ``images``)."""
    size = engine.settings.chunk_size
    keep = None if engine.learning else engine.settings.keep
    parts, starts = [], list(range(0, len(images), size))
    for start in starts:
        stop = min(start + size, len(images))
        kept = keep and storage.load_chunk(keep, first_image + start)
        if kept:
            parts.append(PhaseResult(**kept))
            continue
        result = engine.run(images[start:stop], network,
                            chunk_seed(engine.settings.seed, first_image + start),
                            first_image + start)
        if engine.learning:
            network = result.network
            if parts:       # only the last chunk's network is returned (40 MB at 6,400)
                parts[-1] = dataclasses.replace(parts[-1], network=None)
            # spike counts fit 16 bits: a pass at 6,400 neurons holds 0.8 GB, not 3
            result = dataclasses.replace(result, counts=result.counts.astype(np.uint16))
        if keep:
            storage.save_chunk(keep, first_image + start, result)
        parts.append(result)
        if on_chunk is not None:
            on_chunk(first_image + stop, result)
    return PhaseResult.concatenate(parts, starts)


def kept_images(settings, n_images, first_image=0):
    """How many of the ``n_images`` from ``first_image`` are in the chunks kept in
    ``settings.keep``."""
    size, kept = settings.chunk_size, 0
    for position in storage.finished_chunks(settings.keep) if settings.keep else []:
        start = position - first_image
        if 0 <= start < n_images and start % size == 0:
            kept += min(size, n_images - start)
    return kept


def progress_bar(settings, total, initial=0, desc=None):
    """A tqdm bar over images (hidden unless ``settings.progress``)."""
    return tqdm(total=total, initial=initial, desc=desc or settings.phase, unit="img",
                disable=not settings.progress, dynamic_ncols=True)


def job_count(settings, n_images):
    """Processes for a phase: one while learning, else ``settings.jobs`` (default:
    the number of cores divided by ``settings.threads``), at most one per chunk."""
    if settings.learning:
        return 1
    chunks = -(-n_images // settings.chunk_size)
    cores = max(1, (os.cpu_count() or 1) // settings.threads)
    return max(1, min(settings.jobs or cores, chunks))


def run_phase(settings, network, images, first_image=0, on_chunk=None, bar=None):
    """Show ``images`` to ``network`` in the phase ``settings.phase``.

    Training runs in this process and returns the learned network in
    ``result.network``; ``on_chunk`` as in ``run_chunks`` (e.g. checkpoints). The
    frozen phases spread their chunks over ``job_count`` processes, and take the
    chunks already kept in ``settings.keep`` (see ``run_chunks``) instead of running
    them. ``bar``: a progress bar to update (default: a new one)."""
    own_bar = bar is None
    bar = progress_bar(settings, len(images)) if own_bar else bar
    bar.update(kept_images(settings, len(images), first_image))
    try:
        jobs = job_count(settings, len(images))
        if jobs == 1:
            def advance(end, result):
                bar.update(len(result.counts))
                bar.set_postfix(presentations_per_image=f"{result.presentations.mean():.2f}")
                if on_chunk is not None:
                    on_chunk(end, result)
            with Engine(settings, network.delays) as engine:
                return run_chunks(engine, network, images, first_image, advance)
        return _run_parallel(settings, network, images, first_image, jobs, bar)
    finally:
        if own_bar:
            bar.close()


def _run_parallel(settings, network, images, first_image, jobs, bar):
    """Whole chunks of a frozen phase spread over ``jobs`` processes. Each reports on
    one queue the chunks it finishes (for the progress bar), then its result or its
    error. A worker that dies without either (killed, out of memory) fails the run
    with a message instead of leaving it waiting; the others are stopped."""
    size = settings.chunk_size
    n_chunks = -(-len(images) // size)
    bounds = [(k * n_chunks // jobs) * size for k in range(jobs + 1)]
    context = worker_context()
    # A plain queue (a pipe): no server process that could outlive this one.
    messages = context.Queue()
    workers = [context.Process(target=_job, daemon=True, args=(
                   settings, network, images[a:b], first_image + a, job, messages))
               for job, (a, b) in enumerate(zip(bounds, bounds[1:]))]
    # The workers start with SIGINT blocked (a blocked signal stays blocked across
    # exec) and unblock it once their handler is set: a Ctrl-C while a worker is
    # still importing is then taken by that handler, not printed as a traceback.
    # SIGTERM stays deliverable: its default action ends a worker quietly, and the
    # ``terminate`` below must end one that is still starting. This process holds a
    # Ctrl-C back (``HeldSigint``) until every worker has started (it says so once
    # its handler is set) or ended: stopped earlier, it removed the queue while a
    # worker was still reading its arguments, which name the queue (a FileNotFoundError
    # traceback from that worker, found when the first chunk came quickly).
    results, started = {}, set()
    with HeldSigint() as held:
        try:
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            try:
                for worker in workers:
                    worker.start()
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            while len(results) < jobs:
                if all(job in started or not worker.is_alive()
                       for job, worker in enumerate(workers)):
                    held.release()          # a Ctrl-C held back is raised here
                _receive(workers, messages, (results, started), bar, settings, held.held)
            held.release()
        finally:
            for worker in workers:
                if worker.pid is None:      # not started (a signal came while starting)
                    continue
                if worker.is_alive():
                    worker.terminate()
                worker.join()
    return PhaseResult.concatenate([results[job] for job in range(jobs)], bounds[:-1])


class HeldSigint:
    """Inside the block, a Ctrl-C (SIGINT) is held back until ``release()``, which
    raises it then (``KeyboardInterrupt``); at the end of the block the handler is
    restored. A Python handler runs in the main thread whichever thread the signal
    reaches, which a blocked signal mask does not ensure. Elsewhere than in the main
    thread nothing is held."""

    def __enter__(self):
        self.caught, self.held = False, threading.current_thread() is threading.main_thread()
        if self.held:
            self.previous = signal.signal(signal.SIGINT, self._catch)
        return self

    def _catch(self, signum, frame):
        self.caught = True

    def release(self):
        if self.held:
            self.held = False
            signal.signal(signal.SIGINT, self.previous)
            if self.caught:
                raise KeyboardInterrupt

    def __exit__(self, *exc_info):
        if self.held:
            self.held = False
            signal.signal(signal.SIGINT, self.previous)


def _receive(workers, messages, received, bar, settings, starting):
    """The next message of a worker, if one comes within half a second, into
    ``received`` (the results by job, the set of jobs that have started); else, once
    every worker has started (not ``starting``), fail if one has ended without its
    result."""
    results, started = received
    try:
        kind, job, value = messages.get(timeout=0.5)
    except queues.Empty:
        if not starting:
            _check_workers(workers, results, messages, bar, settings)
        return
    if kind == "started":
        started.add(job)
    _take(kind, job, value, results, bar)


def _take(kind, job, value, results, bar):
    """One message of a worker: it has started, a finished chunk, its result, or its
    error."""
    if kind == "chunk":
        bar.update(value)
    elif kind == "started":
        pass
    elif kind == "result":
        results[job] = value
    else:
        raise value


def _check_workers(workers, results, messages, bar, settings):
    """Fail if a worker has ended without sending its result (after reading what
    it sent before it ended)."""
    dead = [job for job, worker in enumerate(workers)
            if job not in results and not worker.is_alive()]
    if not dead:
        return
    while True:
        try:
            _take(*messages.get(timeout=0.1), results, bar)
        except queues.Empty:
            break
    lost = [job for job in dead if job not in results]
    if lost:
        codes = ", ".join(str(workers[job].exitcode) for job in lost)
        kept = (f"; the finished chunks are kept in {settings.keep}, and the same command "
                f"continues from them" if settings.keep else "")
        raise WorkerDiedError(f"a worker process of the {settings.phase} ended without its "
                              f"result (exit code {codes}: killed, or out of memory?){kept}")


def _die_with_parent():
    """End this worker when the process that started it ends, even by ``kill -9``
    (Linux: the kernel sends SIGKILL; the compiled program it runs dies with it in
    turn). A parent that ended while this worker was still starting is seen at once."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)


PR_SET_PDEATHSIG = 1      # <sys/prctl.h>


def _job(settings, network, images, first_image, job, messages):
    """One process of ``_run_parallel``: its own engine and build directory."""
    # Ctrl-C reaches the whole process group: the parent reports the interruption
    # and stops the workers, so a worker leaves quietly instead of printing a
    # KeyboardInterrupt traceback (a Python handler, unlike SIG_IGN, is not
    # inherited by the compiled program, which still stops at once).
    signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(130))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _die_with_parent()
    messages.put(("started", job, None))
    try:
        with Engine(settings, network.delays, job=job) as engine:
            result = run_chunks(engine, network, images, first_image,
                                lambda end, result: messages.put(("chunk", job, len(result.counts))))
        messages.put(("result", job, result))
    except KeyboardInterrupt:       # Ctrl-C (the parent reports it), even mid-compilation
        sys.exit(130)
    except Exception as error:      # sent to the parent, which raises it
        messages.put(("error", job, error))
