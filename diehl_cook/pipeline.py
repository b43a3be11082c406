"""The three phases: train, label (assign classes) and test, over network folders.

The scripts in ``scripts/`` are thin command-line wrappers around these functions.
"""
import glob
import os
import sys
import time

import numpy as np
from tqdm.auto import tqdm

from . import labels as lab
from . import parameters as p
from .network import initial_state
from .simulation import DEFAULT_CHUNK, Engine, present_frozen, run_phase
from .storage import (StorageError, TrainedNetwork, load_checkpoint, load_network,
                      save_array, save_checkpoint, save_network)

LABELLING_SEED_OFFSET, TEST_SEED_OFFSET = 1, 2   # frozen phases get seeds of their own


def network_delays(n_e, seed):
    """The input delays of the network trained with ``seed`` (never stored: redrawn)."""
    return initial_state(n_e, np.random.default_rng(seed))[1]


def _log_path(folder, position):
    return os.path.join(folder, "training_log", f"counts_{position:08d}.npy")


def _load_log(folder, done):
    """Responses of the first ``done`` training presentations, from the chunk files."""
    files = sorted(glob.glob(os.path.join(folder, "training_log", "counts_*.npy")))
    parts = [np.load(f) for f in files if int(os.path.basename(f)[7:15]) < done]
    counts = np.concatenate(parts) if parts else np.zeros((0, 0), np.uint16)
    if len(counts) != done:
        raise StorageError(f"{folder}/training_log holds {len(counts)} responses; the "
                           f"checkpoint says {done}. Start again without --resume.")
    return counts


def train(folder, images, labels, n_e=p.N_E_DEFAULT, epochs=1, seed=0, resume=False,
          chunk_size=DEFAULT_CHUNK, build_dir=None, progress=True, command=None, log=print):
    """Train a network on ``images`` for ``epochs`` passes and save it in ``folder``.

    A checkpoint is written after every chunk; with ``resume=True`` training
    continues from it and gives the same result as an uninterrupted run."""
    n_images = len(images)
    total = n_images * epochs
    checkpoint = load_checkpoint(folder) if resume else None
    if checkpoint is not None:
        weights, theta, state = checkpoint
        if (state["n_e"], state["seed"], state["examples"], state["chunk_size"]) != \
                (n_e, seed, n_images, chunk_size):
            raise StorageError(
                f"the checkpoint in {folder} is for N_e={state['n_e']}, seed={state['seed']}, "
                f"{state['examples']} examples, chunks of {state['chunk_size']}; not the "
                f"settings given now. Use the same settings, or start without --resume.")
        done, wall = state["done"], state["wall_time_s"]
        log(f"resuming {folder} after {done} of {total} presentations")
    else:
        for stale in glob.glob(os.path.join(folder, "training_log", "counts_*.npy")):
            os.remove(stale)   # responses of an earlier training in this folder
        weights, _ = initial_state(n_e, np.random.default_rng(seed))
        theta = np.full(n_e, float(p.THETA_INIT))
        done, wall = 0, 0.0
    counts = _load_log(folder, done) if done else np.zeros((0, n_e), np.uint16)
    order = np.concatenate([np.arange(n_images)] * epochs)   # the released code's order
    history = lab.running_accuracy(counts, labels[order[:len(counts)]], p.UPDATE_INTERVAL)

    engine = Engine(n_e, True, network_delays(n_e, seed), chunk_size=chunk_size,
                    build_dir=build_dir)
    started = time.time() - wall
    bar = tqdm(total=total, initial=done, desc=f"training N_e={n_e}", unit="img",
               disable=not progress, dynamic_ncols=True)

    def save_chunk(end, result):
        nonlocal counts, history
        start = end - len(result.counts)
        save_array(_log_path(folder, start), result.counts.astype(np.uint16))
        counts = np.concatenate([counts, result.counts.astype(np.uint16)])
        save_checkpoint(folder, result.weights, result.theta, dict(
            n_e=n_e, seed=seed, examples=n_images, chunk_size=chunk_size, done=end,
            wall_time_s=time.time() - started))
        if end % p.UPDATE_INTERVAL == 0 and end >= 2 * p.UPDATE_INTERVAL:
            history = lab.running_accuracy(counts, labels[order[:end]], p.UPDATE_INTERVAL)
            bar.write(f"running accuracy after {end} images: {100 * history[-1][1]:.2f}% "
                      f"(assignments from the previous {p.UPDATE_INTERVAL})")

    with bar:
        while done < total:
            # One epoch at a time, so that chunks never straddle an epoch boundary
            # and a resumed run repeats exactly the chunks of an uninterrupted one.
            epoch_end = (done // n_images + 1) * n_images
            result = run_phase(engine, images[order[done:epoch_end]], weights, theta, seed,
                               first_image=done, on_chunk=save_chunk, progress=bar)
            weights, theta, done = result.weights, result.theta, epoch_end
    wall = time.time() - started
    metadata = dict(n_e=n_e, seed=seed, examples_per_epoch=n_images, epochs=epochs,
                    images_seen=total, wall_time_s=round(wall, 1), chunk_size=chunk_size,
                    stdp=engine.stdp, running_accuracy=history,
                    command=command or " ".join(sys.argv))
    save_network(folder, TrainedNetwork(weights, theta, metadata))
    return TrainedNetwork(weights, theta, metadata), counts


def respond(network, images, seed, jobs=None, chunk_size=DEFAULT_CHUNK, build_dir=None,
            progress=True, desc="images"):
    """Responses (n_images, n_e) of the frozen ``network`` to ``images``."""
    delays = network_delays(network.n_e, network.metadata.get("seed", 0))
    return present_frozen(network.n_e, images, network.weights, delays, network.theta,
                          seed, jobs=jobs, chunk_size=chunk_size, build_dir=build_dir,
                          progress=progress, desc=desc)


def label(folder, images, labels, jobs=None, chunk_size=DEFAULT_CHUNK, build_dir=None,
          progress=True):
    """Assign a class to each neuron from the frozen network's responses to
    ``images`` (the training set); store and return the assignments."""
    network = load_network(folder)
    seed = network.metadata.get("seed", 0) + LABELLING_SEED_OFFSET
    result = respond(network, images, seed, jobs, chunk_size, build_dir, progress, "labelling")
    assignments = lab.assign_labels(result.counts, labels)
    network.assignments = assignments
    network.metadata.update(labelled_on=f"first {len(images)} training images",
                            labelling_images=len(images))
    save_network(folder, network)
    return assignments, result


def test(folder, images, labels, jobs=None, chunk_size=DEFAULT_CHUNK, build_dir=None,
         progress=True):
    """Classify ``images`` with the frozen network and its stored assignments."""
    network = load_network(folder, need_assignments=True)
    seed = network.metadata.get("seed", 0) + TEST_SEED_OFFSET
    result = respond(network, images, seed, jobs, chunk_size, build_dir, progress, "testing")
    scores = lab.evaluate(result.counts, labels, network.assignments)
    scores["presentations_per_image"] = float(result.presentations.mean())
    return scores, result
