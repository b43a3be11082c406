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
import multiprocessing
import os
import queue as queues
import signal
import sys

import numpy as np
from tqdm.auto import tqdm

from . import storage
from .engine import Engine, PhaseResult


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
    """Whole chunks of a frozen phase spread over ``jobs`` processes; each reports
    the chunks it runs on a queue for the progress bar."""
    size = settings.chunk_size
    n_chunks = -(-len(images) // size)
    bounds = [(k * n_chunks // jobs) * size for k in range(jobs + 1)]
    context = multiprocessing.get_context("spawn")
    # A plain queue (a pipe), given to the workers as they start: no server process
    # that could outlive this one if it is killed.
    done = context.Queue()
    with context.Pool(jobs, initializer=_start_worker, initargs=(done,)) as pool:
        tasks = [(settings, network, images[a:b], first_image + a, job)
                 for job, (a, b) in enumerate(zip(bounds, bounds[1:]))]
        pending = pool.starmap_async(_job, tasks)
        shown = kept_images(settings, len(images), first_image)
        while shown < len(images):
            if pending.ready() and not pending.successful():
                pending.get()                       # raises the job's error
            try:
                count = done.get(timeout=0.5)
            except queues.Empty:
                continue
            shown += count
            bar.update(count)
        return PhaseResult.concatenate(pending.get(), bounds[:-1])


_chunks_done = None     # in a worker of _run_parallel: its queue


def _start_worker(queue):
    """Initializer of each pool worker: it reports its finished chunks to `queue`."""
    global _chunks_done
    _chunks_done = queue
    # Ctrl-C reaches the whole process group: the parent reports the interruption
    # and stops the pool, so a worker leaves quietly instead of printing a
    # KeyboardInterrupt traceback (a Python handler, unlike SIG_IGN, is not
    # inherited by the compiled program, which still stops at once).
    signal.signal(signal.SIGINT, lambda signum, frame: sys.exit(130))


def _job(settings, network, images, first_image, job):
    """One process of ``_run_parallel``: its own engine and build directory."""
    with Engine(settings, network.delays, job=job) as engine:
        return run_chunks(engine, network, images, first_image,
                          lambda end, result: _chunks_done.put(len(result.counts)))
