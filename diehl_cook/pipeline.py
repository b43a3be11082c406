"""The three phases over network folders: train, label (assign classes), test.

The command line (``diehl_cook.cli``) and the experiments are thin layers over
these functions. Each takes a ``RunSettings`` for how to run, a network folder and
the images.
"""
import os
import sys
import time

import numpy as np

from . import __version__
from . import labels as lab
from . import ownership
from . import parameters as p
from . import report
from . import storage
from .errors import DivergedError, StorageError
from .network import TrainedNetwork
from .settings import LABELLING_SEED_OFFSET, TEST_SEED_OFFSET
from .simulation import kept_images, progress_bar, run_phase



def train(settings, folder, images, labels, resume=False, command=None):
    """Train a network on ``images`` for ``settings.epochs`` passes (in the released
    code's order) and save it in ``folder``.

    A checkpoint is written after every chunk; with ``resume=True`` training
    continues from it and gives the same result as an uninterrupted run; with
    ``settings.change_values`` as well, it goes on with the theta_plus and w_inh_exc
    of ``settings`` where they differ from the checkpoint's, and records the change
    (metadata ``value_changes``: [image, name, old, new]). Returns the network (every
    response to a training image is in the training log of ``folder``)."""
    ownership.check_new_network_folder(folder, resume)
    if resume and not os.path.isdir(folder):
        raise StorageError(f"nothing to resume: {folder} does not exist (start without "
                           f"--resume)")
    if resume and not ownership.is_network_folder(folder):
        raise StorageError(f"nothing to resume in {folder}: it carries no mark of a training "
                           f"of this project ({ownership.NETWORK_MARKER}), and nothing in it "
                           f"was touched (a training of an older version is marked with: "
                           f"touch {folder}/{ownership.NETWORK_MARKER})")
    if not resume:
        kept = storage.set_aside(folder)
        if kept:
            report.say(f"{folder} held an earlier training: kept as {kept} (to continue an "
                       f"interrupted training instead, move it back and use --resume)")
    ownership.mark(folder, ownership.NETWORK_MARKER)
    with ownership.Claim(folder, "a training"):
        return _train(settings, folder, images, labels, resume, command)


def _train(settings, folder, images, labels, resume, command):
    n_images, total = len(images), len(images) * settings.epochs
    data = storage.digest(images, labels)
    network, state = _start(settings, folder, n_images, resume, data)
    order = np.concatenate([np.arange(n_images)] * settings.epochs)
    record = _TrainingRecord(settings, folder, labels[order], state, data)
    done = record.done
    with progress_bar(settings, total, done, f"training N_e={settings.n_e}") as bar:
        record.write = bar.write
        while done < total:
            # One epoch at a time, so that chunks never straddle an epoch boundary
            # and a resumed run repeats exactly the chunks of an uninterrupted one.
            epoch_end = (done // n_images + 1) * n_images
            result = run_phase(settings, network, images[order[done:epoch_end]], done,
                               record.chunk_done, bar)
            network, done = result.network, epoch_end
    network.metadata = dict(
        examples_per_epoch=n_images, epochs=settings.epochs, images_seen=total,
        wall_time_s=round(time.time() - record.started, 1), chunk_size=settings.chunk_size,
        running_accuracy=record.history, command=command or " ".join(sys.argv),
        training_data_sha256=data, engine_modes=record.engine_modes,
        **record.value_change_record(), **record.response_rates())
    storage.save_network(folder, network)
    return network


def running_accuracy(folder, network, labels):
    """The running accuracy of the training of the network in ``folder``: from its
    checkpoint and training log when the folder holds a checkpoint further on than the
    saved network (a training still under way), else as its metadata records it.
    ``labels``: the MNIST training labels. Returns (history, examples per pass)."""
    history = network.metadata.get("running_accuracy") or []
    per_pass = network.metadata.get("examples_per_epoch", len(labels))
    checkpoint = storage.load_checkpoint(folder)
    if checkpoint is None or checkpoint[1]["done"] <= network.metadata.get("images_seen", 0):
        return history, per_pass
    state = checkpoint[1]
    per_pass, done = state["examples"], state["done"]
    order = np.arange(done) % per_pass
    logged = _logged_running_accuracy(folder, done, network.n_e, labels[order])[0]
    return _merged_history(state.get("running_accuracy", []), logged), per_pass


# The constants of parameters.py that only a training reads: a frozen network does
# not depend on them (its weights, theta, theta_plus and inhibition weight are its own).
LEARNING_ONLY = frozenset({
    "LEARNING_RULE", "LEARNING_RULES", "ETA_PRE", "ETA_POST", "ETA_POWER_LAW",
    "ETA_PRE_POST", "MU", "X_TAR", "X_TAR_EXPONENTIAL", "BETA", "W_MAX", "PRE_TRACE",
    "TAU_PRE", "TAU_POST1", "TAU_POST2", "TAU_THETA", "THETA_INIT", "THETA_PLUS",
    "W_INH_EXC", "W_INIT_SCALE", "W_INIT_OFFSET", "WEIGHT_SUM", "SIZES", "UPDATE_INTERVAL",
    "N_E_DEFAULT"})


def changed_parameters(recorded, frozen=False):
    """"NAME old -> new" for each constant of parameters.py whose value differs from
    ``recorded`` (a checkpoint's or a network's record; older ones have none); with
    ``frozen``, only those that a frozen network's labelling or test reads."""
    now = storage.model_parameters()
    return [f"{name} {recorded[name]} -> {now[name]}" for name in sorted(now)
            if name in recorded and recorded[name] != now[name]
            and not (frozen and name in LEARNING_ONLY)]


def note_changed_parameters(network, phase):
    """Say so when parameters.py has changed, since ``network`` was trained, in a
    constant that its ``phase`` ("labelling" or "test") reads."""
    changed = changed_parameters(network.metadata.get("parameters") or {}, frozen=True)
    if changed:
        report.note(f"note: parameters.py has changed since this network was trained "
                    f"({'; '.join(changed)}); the {phase} runs with the values of now")


def _start(settings, folder, n_images, resume, data):
    """The network to start from: the checkpoint's when resuming (with the values of
    ``settings`` if ``settings.change_values``: see ``train``), else a new one.
    Returns (network, the checkpoint's progress record or {})."""
    if not resume:
        return TrainedNetwork.untrained(settings.n_e, settings.seed, settings.rule,
                                        **settings.new_network_values), {}
    checkpoint = storage.load_checkpoint(folder)
    if checkpoint is None:
        raise StorageError(f"nothing to resume: {folder} has no checkpoint.npz (start "
                           f"without --resume)")
    network, state = checkpoint
    expected = dict(n_e=settings.n_e, seed=settings.seed, examples=n_images,
                    chunk_size=settings.chunk_size, rule=settings.rule,
                    **settings.new_network_values)
    found = dict(state, rule=network.rule, theta_plus=network.theta_plus,
                 w_inh_exc=network.w_inh_exc)
    differ = {k: found[k] for k in expected if found[k] != expected[k]}
    if settings.change_values:
        changes = [[state["done"], name, found[name], expected.pop(name)]
                   for name in ("theta_plus", "w_inh_exc") if differ.pop(name, None) is not None]
        for _, name, old, new in changes:
            setattr(network, name, new)
            report.say(f"{name} changes from {old:g} to {new:g} from image {state['done']} on")
        state = dict(state, value_changes=state.get("value_changes", []) + changes)
    if differ:
        raise StorageError(
            f"the checkpoint in {folder} is for {_describe(found)}; not the settings "
            f"given now ({_describe(expected)}). Use the same settings, or start without "
            f"--resume.")
    total = n_images * settings.epochs
    if state["done"] > total:
        raise StorageError(
            f"the training in {folder} has already seen {state['done']} images, more than the "
            f"{total} of --epochs {settings.epochs}: resume with --epochs "
            f"{-(-state['done'] // n_images)} or more (or start without --resume)")
    if state.get("data_sha256", data) != data:
        raise StorageError(
            f"the MNIST training images or labels are not those the training in {folder} "
            f"started with (their SHA-256 differs): resume with the same files (--mnist-dir, "
            f"$MNIST_DIR), or start without --resume")
    report.say(f"resuming {folder} after {state['done']} of {total} images")
    changed = changed_parameters(state.get("parameters", {}))
    if changed:
        report.note(f"note: parameters.py has changed since the last checkpoint "
                    f"({'; '.join(changed)}); the training goes on with the values of now, "
                    f"which its metadata will record")
    return network, state


def _describe(state):
    return (f"N_e={state['n_e']}, seed={state['seed']}, {state['examples']} examples, "
            f"chunks of {state['chunk_size']}, rule {state['rule']}, theta_plus "
            f"{1000 * state['theta_plus']:g} mV, inh -> exc weight {state['w_inh_exc']:g}")


class _TrainingRecord:
    """After each training chunk: its responses, a checkpoint, and every
    UPDATE_INTERVAL images the released code's running accuracy."""

    def __init__(self, settings, folder, labels, state, data):
        """``labels`` in training order; ``state``: the checkpoint's progress or {};
        ``data``: the SHA-256 of the training images and labels (kept in checkpoints)."""
        self.settings, self.folder, self.labels, self.data = settings, folder, labels, data
        self.done = self.filled = done = state.get("done", 0)
        self.started = time.time() - state.get("wall_time_s", 0.0)
        # Only the responses the next running accuracies need are kept: those since the
        # start of the last whole block but one (the rest are in the training log on
        # disk; at 6,400 neurons all 900,000 responses would be 11.5 GB).
        logged, self.uncovered = _logged_running_accuracy(folder, done, settings.n_e, labels)
        # The checkpoint keeps the running accuracies too, so that they outlive a
        # training log that was lost (or not copied with the checkpoint).
        self.history = _merged_history(state.get("running_accuracy", []), logged)
        if self.uncovered:
            report.note(f"the training log of {folder} lacks the responses to images "
                        f"{_stretches(self.uncovered)}: the checkpoint goes on; what is drawn "
                        f"from the log skips them (the running accuracy too, where the "
                        f"checkpoint does not keep it)")
        self.first = _window_start(done)
        self.counts, self.covered = storage.load_training_counts(folder, done, settings.n_e,
                                                                 first=self.first)
        self.write = print
        # Totals over every presentation (retries included), for the response rates.
        self.totals = state.get("totals") if done else dict(presentations=0, spikes=0)
        # [first image, engine mode, package version] of each stretch of the training
        # (fast mode changed in version 0.7.0; entries of earlier versions have no
        # version; checkpoints from before fast mode existed were all made in exact mode).
        self.engine_modes = state.get("engine_modes", [[0, "exact"]] if done else [])
        # [image, name, old, new] of each change of theta_plus or w_inh_exc on resuming
        self.value_changes = state.get("value_changes", [])

    def value_change_record(self):
        """The metadata's ``value_changes``, for a training whose values changed."""
        return dict(value_changes=self.value_changes) if self.value_changes else {}

    def response_rates(self):
        """Spikes per presentation and presentations per image while training (None
        when a resumed checkpoint did not record them)."""
        lost = dict(training_log_lost=self.uncovered) if self.uncovered else {}
        if self.totals is None:
            return dict(training_spikes_per_presentation=None,
                        training_presentations_per_image=None, **lost)
        presentations = max(self.totals["presentations"], 1)
        return dict(training_spikes_per_presentation=self.totals["spikes"] / presentations,
                    training_presentations_per_image=presentations / max(self.filled, 1),
                    **lost)

    def _running_accuracy(self, first):
        """The running accuracy of the blocks that end after image ``first``."""
        history = lab.running_accuracy(self.counts, self.labels[self.first:self.filled],
                                       p.UPDATE_INTERVAL, self.covered)
        return [(self.first + seen, accuracy) for seen, accuracy in history
                if self.first + seen > first]

    def chunk_done(self, end, result):
        s = self.settings
        for name in ("weights", "theta"):
            problem = storage.invalid_values(name, getattr(result.network, name))
            if problem:
                raise DivergedError(f"training diverged before image {end}: {name} {problem}. "
                                    f"The checkpoint of the last good chunk is kept in "
                                    f"{self.folder}.")
        start = end - len(result.counts)
        if not self.engine_modes or self.engine_modes[-1][1:] != [s.engine, __version__]:
            self.engine_modes = self.engine_modes + [[start, s.engine, __version__]]
        storage.save_training_counts(self.folder, start, result.counts)
        self.counts = np.concatenate([self.counts, result.counts.astype(np.uint16)])
        self.covered = np.concatenate([self.covered, np.ones(len(result.counts), bool)])
        previous, self.filled = self.filled, end
        if self.totals is not None:
            self.totals = dict(presentations=self.totals["presentations"] + len(result.log),
                               spikes=self.totals["spikes"] + int(result.log["spikes"].sum()))
        ended = self._running_accuracy(first=previous)      # blocks just ended
        self.history = _merged_history(self.history, ended)
        storage.save_checkpoint(self.folder, result.network, dict(
            n_e=s.n_e, seed=s.seed, examples=len(self.labels) // s.epochs,
            chunk_size=s.chunk_size, rule=s.rule, done=end, data_sha256=self.data,
            wall_time_s=time.time() - self.started, totals=self.totals,
            engine_modes=self.engine_modes, running_accuracy=self.history,
            **self.value_change_record()))
        for seen, accuracy in ended:
            self.write(f"running accuracy after {seen} images: {100 * accuracy:.2f}% "
                       f"(assignments from the previous {p.UPDATE_INTERVAL})")
        dropped, self.first = _window_start(end) - self.first, _window_start(end)
        self.counts, self.covered = self.counts[dropped:], self.covered[dropped:]


def _merged_history(history, newer):
    """The running accuracies of ``history`` and ``newer`` (lists of (images seen,
    accuracy)), one per block, in order; ``newer`` wins where both have a block."""
    merged = {int(seen): float(accuracy) for seen, accuracy in history}
    merged.update((int(seen), float(accuracy)) for seen, accuracy in newer)
    return sorted(merged.items())


def _window_start(done):
    """The first image whose responses a training keeps after ``done`` images: the
    start of the block before the one under way (its responses give the assignments
    for the running accuracy of the block under way)."""
    return max(done // p.UPDATE_INTERVAL * p.UPDATE_INTERVAL - p.UPDATE_INTERVAL, 0)


def _logged_running_accuracy(folder, done, n_e, labels):
    """The running accuracy of the first ``done`` images of a training (``labels`` in
    training order) from its training log, read one block at a time, and the
    stretches of images the log lacks."""
    block, history, previous = p.UPDATE_INTERVAL, [], None
    covered = np.zeros(done, bool)
    for start in range(0, done, block):
        end = min(start + block, done)
        counts, covered[start:end] = storage.load_training_counts(folder, end, n_e, first=start)
        if previous is not None and end - start == block:
            history += [(start - block + seen, accuracy) for seen, accuracy in
                        lab.running_accuracy(np.concatenate([previous, counts]),
                                             labels[start - block:end], block,
                                             covered[start - block:end])]
        previous = counts
    return history, storage.uncovered_stretches(covered)


def _stretches(stretches):
    return ", ".join(f"{start:,} to {end - 1:,}" for start, end in stretches)


def respond(settings, network, images, folder):
    """Responses of the frozen ``network`` to ``images`` (a ``PhaseResult``);
    ``settings.phase`` must be a frozen phase, whose seed is used. The finished
    chunks are kept in the network's ``folder`` until the phase completes, so that
    an interrupted run continues where it stopped (not if the folder is read-only)."""
    settings = settings.replace(n_e=network.n_e)
    keep = storage.partial_folder(folder, settings, network, images)
    try:
        storage.check_writable(keep, folder=True)
        settings = settings.replace(keep=keep)
    except StorageError:
        report.say(f"{folder} is read-only: an interrupted {settings.phase} will start again")
    kept = kept_images(settings, len(images))
    if kept:
        report.say(f"continuing the interrupted {settings.phase} of {folder}: {kept} of "
                   f"{len(images)} images were done")
    result = run_phase(settings, network, images)
    if settings.keep:
        storage.remove_partial(settings.keep)
    return result


def label(settings, folder, images, labels):
    """Assign a class to each neuron from the frozen network's responses to
    ``images`` (the training set); store and return the network and the responses."""
    storage.load_network(folder)    # a folder that is no network is refused untouched
    with ownership.Claim(folder, "a labelling"):
        network = storage.load_network(folder)
        note_changed_parameters(network, "labelling")
        settings = settings.replace(phase="labelling", seed=network.seed + LABELLING_SEED_OFFSET)
        result = respond(settings, network, images, folder)
        network.assignments = lab.assign_labels(result.counts, labels)
        network.metadata.update(labelled_on=f"first {len(images)} training images",
                                labelling_images=len(images))
        storage.save_network(folder, network)
    return network, result


def test(settings, folder, images, labels, repeats=1):
    """Classify ``images`` with the frozen network and its stored assignments,
    ``repeats`` times (the paper: 10). Repeat r shows the images again as positions
    r * len(images) onward of one phase, so each repeat has Poisson draws of its
    own (the chunk seeds depend on the position) and repeat 0 is the single
    evaluation. Returns the scores of each repeat (``labels.evaluate``, plus
    ``presentations_per_image``) and the responses of all repeats."""
    network = storage.load_network(folder, need_assignments=True)
    note_changed_parameters(network, "test")
    settings = settings.replace(phase="testing", seed=network.seed + TEST_SEED_OFFSET)
    settings.replace(n_e=network.n_e).check_memory(
        images=len(images) * repeats, flags="--examples x --repeats (images shown)")
    # Claimed (when it can be written) for its kept chunks: a second test of the same
    # network is refused rather than sharing them.
    with ownership.claim_if_writable(folder, "a second test"):
        result = respond(settings, network, np.concatenate([images] * repeats), folder)
    scores = []
    for repeat in range(repeats):
        shown = slice(repeat * len(images), (repeat + 1) * len(images))
        score = lab.evaluate(result.counts[shown], labels, network.assignments)
        score["presentations_per_image"] = float(result.presentations[shown].mean())
        scores.append(score)
    return scores, result
