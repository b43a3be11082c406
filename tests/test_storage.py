"""Network folders: round trip, and clear errors for what can go wrong."""
import json
import logging
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from diehl_cook import parameters as p
from diehl_cook import pipeline, storage
from diehl_cook.errors import StorageError
from diehl_cook.network import TrainedNetwork
from diehl_cook.storage import (load_checkpoint, load_network, save_checkpoint, save_network,
                                 set_aside)


def make(n_e=5):
    rng = np.random.default_rng(0)
    return TrainedNetwork(rng.random((784, n_e)), rng.random(n_e) * 0.03, seed=3, rule="pre-post")


def test_round_trip(tmp_path):
    net = make()
    net.assignments = np.array([0, 1, -1, 3, 9])
    save_network(tmp_path, net)
    back = load_network(tmp_path, need_assignments=True)
    assert np.array_equal(back.weights, net.weights) and np.array_equal(back.theta, net.theta)
    assert back.assignments.tolist() == [0, 1, -1, 3, 9]
    assert back.seed == 3 and back.rule == "pre-post"
    assert back.metadata["seed"] == 3 and back.metadata["n_e"] == 5
    assert "brian2" in back.metadata["versions"] and "WEIGHT_SUM" in back.metadata["parameters"]
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]


def test_missing_folder_and_missing_metadata(tmp_path):
    with pytest.raises(StorageError, match="no network folder"):
        load_network(tmp_path / "nope")
    with pytest.raises(StorageError, match="metadata.json is missing"):
        load_network(tmp_path)


def test_shape_mismatch_is_reported(tmp_path):
    save_network(tmp_path, make(5))
    np.save(tmp_path / "theta.npy", np.zeros(7))
    with pytest.raises(StorageError, match=r"shape \(7,\).*needs \(5,\)"):
        load_network(tmp_path)


def test_corrupt_array_is_reported(tmp_path):
    save_network(tmp_path, make())
    (tmp_path / "weights.npy").write_bytes(b"garbage")
    with pytest.raises(StorageError, match="corrupt"):
        load_network(tmp_path)


def test_modified_array_fails_the_checksum(tmp_path):
    net = make()
    save_network(tmp_path, net)
    np.save(tmp_path / "weights.npy", net.weights + 1e-9)
    with pytest.raises(StorageError, match="checksum"):
        load_network(tmp_path)


def test_corrupt_metadata_is_reported(tmp_path):
    save_network(tmp_path, make())
    (tmp_path / "metadata.json").write_text("{not json")
    with pytest.raises(StorageError, match="metadata.json is corrupt"):
        load_network(tmp_path)


def test_missing_assignments_says_what_to_run(tmp_path):
    save_network(tmp_path, make())
    with pytest.raises(StorageError, match="assign_labels.py|diehl-cook label"):
        load_network(tmp_path, need_assignments=True)


def test_checkpoint_round_trip_and_corruption(tmp_path):
    assert load_checkpoint(tmp_path) is None
    net = make()
    save_checkpoint(tmp_path, net, dict(done=40, seed=3, rule="pre-post"))
    back, progress = load_checkpoint(tmp_path)
    assert np.array_equal(back.weights, net.weights) and np.array_equal(back.theta, net.theta)
    assert progress["done"] == 40 and (back.seed, back.rule) == (3, "pre-post")
    whole = (tmp_path / "checkpoint.npz").read_bytes()
    for broken in (b"PK broken", whole[:len(whole) // 2]):        # garbage, truncated
        (tmp_path / "checkpoint.npz").write_bytes(broken)
        with pytest.raises(StorageError, match="corrupt"):
            load_checkpoint(tmp_path)
    for progress in (dict(done=40), dict(done=40, seed="x"), dict(done=40, seed=3, n_e=7)):
        save_checkpoint(tmp_path, net, progress)      # no seed, a seed not a number, a size
        with pytest.raises(StorageError, match="corrupt"):  # that is not the arrays'
            load_checkpoint(tmp_path)


def test_interrupted_write_keeps_the_old_file(tmp_path, monkeypatch):
    net = make()
    save_network(tmp_path, net)
    before = (tmp_path / "weights.npy").read_bytes()

    def explode(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(np, "save", explode)
    with pytest.raises(KeyboardInterrupt):
        save_network(tmp_path, make())
    assert (tmp_path / "weights.npy").read_bytes() == before
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp")]
    assert json.loads((tmp_path / "metadata.json").read_text())["n_e"] == 5


def test_a_folder_without_a_rule_was_trained_with_the_triplet_rule(tmp_path):
    """Folders written before the learning rules existed (the shipped one-pass
    networks) record no rule: they load as triplet."""
    save_network(tmp_path, make())
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    del metadata["rule"]
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    assert load_network(tmp_path).rule == "triplet"


def test_labelling_keeps_the_parameters_the_network_was_trained_with(tmp_path):
    net = make()
    net.metadata = dict(parameters=dict(BETA="3.0"))
    save_network(tmp_path, net)
    back = load_network(tmp_path)
    back.assignments = np.zeros(5, dtype=int)
    save_network(tmp_path, back)
    assert load_network(tmp_path).metadata["parameters"] == dict(BETA="3.0")


def test_per_size_values_are_stored_and_old_folders_have_the_released_ones(tmp_path):
    net = TrainedNetwork(np.ones((784, 5)), np.zeros(5), theta_plus=0.2e-3, w_inh_exc=9.5)
    save_network(tmp_path / "new", net)
    back = load_network(tmp_path / "new")
    assert (back.theta_plus, back.w_inh_exc) == (0.2e-3, 9.5)
    save_checkpoint(tmp_path / "new", net, dict(done=1, seed=0))
    resumed, _ = load_checkpoint(tmp_path / "new")
    assert (resumed.theta_plus, resumed.w_inh_exc) == (0.2e-3, 9.5)
    # A folder of version 0.2 or older records neither: the released code's values.
    save_network(tmp_path / "old", net)
    metadata = json.loads((tmp_path / "old" / "metadata.json").read_text())
    del metadata["theta_plus"], metadata["w_inh_exc"]
    (tmp_path / "old" / "metadata.json").write_text(json.dumps(metadata))
    old = load_network(tmp_path / "old")
    assert (old.theta_plus, old.w_inh_exc) == (0.05e-3, 17.0)


@pytest.mark.parametrize("name, bad, message", [
    ("weights", lambda a: np.where(np.arange(a.size).reshape(a.shape) == 7, np.nan, a), "NaN"),
    ("weights", lambda a: np.where(np.arange(a.size).reshape(a.shape) == 7, np.inf, a), "NaN or infinite"),
    ("weights", lambda a: a - 1, "negative"),
    ("theta", lambda a: np.full_like(a, np.nan), "NaN"),
    ("assignments", lambda a: np.array([0, 1, 2, 3, 10]), "outside -1..9"),
    ("assignments", lambda a: a.astype(float), "integers"),
])
def test_invalid_values_are_refused_even_with_matching_checksums(tmp_path, name, bad, message):
    """As a diverged training would write them: the checksums match, the values don't."""
    net = make()
    net.assignments = np.array([0, 1, -1, 3, 9])
    setattr(net, name, bad(getattr(net, name)))
    save_network(tmp_path, net)
    with pytest.raises(StorageError, match=message):
        load_network(tmp_path, need_assignments=True)


def test_an_array_the_metadata_does_not_list_is_refused(tmp_path):
    """assignments.npy left from another training (not in metadata.json) is not used."""
    save_network(tmp_path, make())
    np.save(tmp_path / "assignments.npy", np.zeros(5, dtype=int))
    with pytest.raises(StorageError, match="label its neurons first"):
        load_network(tmp_path, need_assignments=True)
    metadata = json.loads((tmp_path / "metadata.json").read_text())
    del metadata["sha256"]["theta"]
    (tmp_path / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(StorageError, match="not listed"):
        load_network(tmp_path)


def test_a_new_training_keeps_an_earlier_one_aside(tmp_path):
    folder = tmp_path / "n5"
    save_network(folder, make())
    (folder / "evaluation.json").write_text("{}")
    assert set_aside(folder) == f"{folder}.previous-1"
    assert not folder.exists()
    save_network(folder, make())
    assert set_aside(folder) == f"{folder}.previous-2"
    kept = [name for name in os.listdir(f"{folder}.previous-1") if not name.startswith(".")]
    assert sorted(kept) == ["evaluation.json", "metadata.json", "theta.npy", "weights.npy"]
    assert set_aside(tmp_path / "none") is None


def test_training_log_is_compressed_and_old_logs_still_read(tmp_path):
    from diehl_cook.storage import load_training_counts, save_training_counts
    rng = np.random.default_rng(1)
    sparse = (rng.random((1000, 400)) < 0.01) * rng.integers(1, 20, (1000, 400))
    save_training_counts(tmp_path, 1000, sparse)
    (tmp_path / "training_log").mkdir(exist_ok=True)
    np.save(tmp_path / "training_log" / "counts_00000000.npy", sparse[::-1].astype(np.uint16))
    counts, covered = load_training_counts(tmp_path, 2000, 400)
    assert np.array_equal(counts, np.concatenate([sparse[::-1], sparse]))
    assert covered.all()
    assert os.path.getsize(tmp_path / "training_log" / "counts_00001000.npz") < sparse.size * 2 / 10


def test_a_lost_chunk_of_the_training_log_is_uncovered_and_another_size_refused(tmp_path):
    from diehl_cook.storage import (load_training_counts, save_training_counts,
                                    uncovered_stretches)
    for start in (0, 3, 9):
        save_training_counts(tmp_path, start, np.full((3, 4), start + 1))
    counts, covered = load_training_counts(tmp_path, 10, 4)
    assert counts[:, 0].tolist() == [1, 1, 1, 4, 4, 4, 0, 0, 0, 10]
    assert covered.tolist() == [True] * 6 + [False] * 3 + [True]
    assert uncovered_stretches(covered) == [(6, 9)]
    assert uncovered_stretches(np.array([False, True, False])) == [(0, 1), (2, 3)]
    assert uncovered_stretches(np.ones(3, bool)) == []
    with pytest.raises(StorageError, match="not of 5 neurons"):
        load_training_counts(tmp_path, 10, 5)


def test_the_temporary_file_of_a_killed_write_is_removed_by_the_next_write(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    orphan = tmp_path / f".diehl_cook-tmp-{dead}-abc12_yz"
    orphan.write_bytes(b"half a file")
    mine = tmp_path / f".diehl_cook-tmp-{os.getpid()}-busy0000"       # a live writer's: kept
    mine.write_bytes(b"")
    # Files of the user's that only look like temporary files: never touched.
    users = [tmp_path / ".tmp-2024-notes.txt", tmp_path / f".tmp-{dead}-abc123",
             tmp_path / f".diehl_cook-tmp-{dead}-abc12_yz.txt", tmp_path / "tmp-1-x"]
    for path in users:
        path.write_text("mine")
    save_network(tmp_path, make())
    assert not orphan.exists() and mine.exists()
    assert all(path.read_text() == "mine" for path in users)


def test_training_stops_when_weights_or_theta_diverge(tmp_path):
    from diehl_cook.results import PhaseResult, presentation_log
    from diehl_cook.errors import DivergedError
    from diehl_cook.pipeline import _TrainingRecord
    from diehl_cook.settings import RunSettings
    record = _TrainingRecord(RunSettings(n_e=5, chunk_size=2), tmp_path, np.zeros(2, int), {},
                             data="sha")
    network = make()
    network.theta[2] = np.nan
    result = PhaseResult(np.ones((2, 5), int), np.ones(2, int),
                         presentation_log([0, 1], [2, 2], [5, 5]), network)
    with pytest.raises(DivergedError, match="theta holds NaN"):
        record.chunk_done(2, result)
    assert not (tmp_path / "checkpoint.npz").exists()    # the bad state is not saved


@pytest.mark.parametrize("chunk", [7, 10, 30])
def test_the_running_accuracy_is_computed_block_by_block_as_a_whole(tmp_path, monkeypatch, chunk):
    """Each block's accuracy is computed once, when the block ends; the history is
    the one computed from all responses at once, whatever the chunk size, and a
    resumed record computes the same from the training log. The record keeps only
    the responses since the start of the block before the one under way (at 6,400
    neurons all of a training's would be 11.5 GB)."""
    from diehl_cook import labels as lab
    from diehl_cook.pipeline import _TrainingRecord
    from diehl_cook.results import PhaseResult, presentation_log
    from diehl_cook.settings import RunSettings
    monkeypatch.setattr(p, "UPDATE_INTERVAL", 10)
    rng = np.random.default_rng(1)
    total, n_e = 90, 6
    labels = rng.integers(0, 10, total)
    counts = rng.integers(0, 4, (total, n_e))
    counts[np.arange(total), labels % n_e] += 5      # neurons that prefer some classes
    settings = RunSettings(n_e=n_e, chunk_size=chunk)
    record = _TrainingRecord(settings, tmp_path, labels, {}, data="sha")
    printed = []
    record.write = printed.append
    for end in range(chunk, total + chunk, chunk):
        end = min(end, total)
        part = counts[end - len(counts[record.filled:end]):end]
        record.chunk_done(end, PhaseResult(part, np.ones(len(part), int),
                                           presentation_log(np.arange(len(part)), [2] * len(part),
                                                            part.sum(axis=1)), make(n_e)))
        assert record.first == max(end // 10 * 10 - 10, 0)
        assert np.array_equal(record.counts, counts[record.first:end])
    whole = lab.running_accuracy(counts, labels, 10)
    assert record.history == whole and len(whole) == 8 and len(printed) == 8
    state = dict(done=total, wall_time_s=1.0, totals=None)
    resumed = _TrainingRecord(settings, tmp_path, labels, state, data="sha")
    assert resumed.history == whole and np.array_equal(resumed.counts, counts[80:])
    # A lost chunk of the log: the blocks that need it are skipped, the others kept.
    os.remove(tmp_path / "training_log" / f"counts_{chunk * (35 // chunk):08d}.npz")
    resumed = _TrainingRecord(settings, tmp_path, labels, state, data="sha")
    lost = resumed.uncovered
    assert len(lost) == 1 and lost[0][0] <= 35 < lost[0][1]
    assert resumed.history == lab.running_accuracy(
        counts, labels, 10, covered=~((np.arange(total) >= lost[0][0]) &
                                      (np.arange(total) < lost[0][1])))
    # The checkpoint keeps every block's accuracy: with it, none is lost with the log.
    kept = storage.load_checkpoint(tmp_path)[1]["running_accuracy"]
    assert [tuple(point) for point in kept] == whole
    resumed = _TrainingRecord(settings, tmp_path, labels, dict(state, running_accuracy=kept),
                              data="sha")
    assert resumed.history == whole


def test_kept_chunks_belong_to_one_network_images_and_seed(tmp_path):
    from diehl_cook.settings import RunSettings
    from diehl_cook.storage import finished_chunks, load_chunk, partial_folder, save_chunk
    net, images = make(), np.zeros((4, 784), np.uint8)
    run = RunSettings(phase="testing", n_e=5, seed=2)
    where = partial_folder(tmp_path, run, net, images)
    assert where.startswith(os.path.join(str(tmp_path), "partial", "testing-"))
    assert partial_folder(tmp_path, run.replace(jobs=2, threads=2, progress=False), net,
                          images) == where            # results do not depend on these
    other_net = make()
    other_net.theta[0] += 1e-9
    others = [partial_folder(tmp_path, run.replace(seed=3), net, images),
              partial_folder(tmp_path, run.replace(chunk_size=2), net, images),
              partial_folder(tmp_path, run.replace(phase="labelling"), net, images),
              partial_folder(tmp_path, run, net, images[:3]),
              partial_folder(tmp_path, run, other_net, images)]
    assert where not in others and len(set(others)) == len(others)

    log = np.zeros(2, [("image", "i4"), ("intensity", "f8"), ("spikes", "i4")])
    chunk = type("Chunk", (), dict(counts=np.ones((2, 5), np.int32),
                                   presentations=np.ones(2, np.int32), log=log))
    save_chunk(where, 6, chunk)
    assert finished_chunks(where) == [6]
    assert np.array_equal(load_chunk(where, 6)["log"], log)
    assert load_chunk(where, 8) is None
    with open(os.path.join(where, "chunk_00000006.npz"), "wb") as f:
        f.write(b"broken")                            # a corrupt chunk is run again
    assert load_chunk(where, 6) is None


def test_a_signal_inside_a_write_stops_the_command_after_the_write(tmp_path):
    """The signal arrives while the file is being written: the write completes, then
    the command stops as on any other signal (no other exception, no temporary file)."""
    import signal as signals
    from diehl_cook.cli import Terminated, signals_stop_the_run

    def write_and_get_killed(file):
        os.kill(os.getpid(), signals.SIGTERM)
        file.write(b"whole")

    with signals_stop_the_run():
        with pytest.raises(Terminated):
            storage._atomic_write(str(tmp_path / "file"), write_and_get_killed)
    assert (tmp_path / "file").read_bytes() == b"whole"
    assert os.listdir(tmp_path) == ["file"]


def test_files_follow_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        save_network(tmp_path / "net", make())
    finally:
        os.umask(previous)
    assert (os.stat(tmp_path / "net" / "weights.npy").st_mode & 0o777) == 0o640
    assert (os.stat(tmp_path / "net" / "metadata.json").st_mode & 0o777) == 0o640


def test_metadata_with_values_of_the_wrong_kind_is_reported_corrupt(tmp_path):
    for change in (dict(seed="zero"), dict(theta_plus="x"), dict(sha256=None), dict(n_e=None)):
        folder = tmp_path / str(len(os.listdir(tmp_path)))
        save_network(folder, make())
        metadata = json.loads((folder / "metadata.json").read_text())
        metadata.update(change)
        (folder / "metadata.json").write_text(json.dumps(metadata))
        with pytest.raises(StorageError, match="corrupt|not listed"):
            load_network(folder)


def test_a_truncated_training_log_chunk_is_an_error_that_names_it(tmp_path):
    from diehl_cook.storage import load_training_counts, save_training_counts
    save_training_counts(tmp_path, 0, np.ones((10, 5), int))
    path = tmp_path / "training_log" / "counts_00000000.npz"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(StorageError, match="counts_00000000.npz is corrupt"):
        load_training_counts(tmp_path, 10, 5)


def test_a_checkpoint_records_the_parameters_and_a_resume_names_the_changed_ones(
        tmp_path, monkeypatch):
    save_checkpoint(tmp_path, make(), dict(done=40, seed=3, rule="pre-post"))
    _, progress = load_checkpoint(tmp_path)
    p_x_tar = p.X_TAR
    assert progress["parameters"] == storage.model_parameters()
    assert pipeline.changed_parameters(progress["parameters"]) == []
    monkeypatch.setattr(p, "X_TAR", 0.25)
    assert pipeline.changed_parameters(progress["parameters"]) == [f"X_TAR {p_x_tar} -> 0.25"]
    assert pipeline.changed_parameters({}) == []          # a checkpoint of version 0.2


def test_labelling_and_test_name_the_changed_constants_that_they_read(monkeypatch, caplog):
    """A frozen phase notes a changed constant that it reads (the step, a time
    constant), not one that only a training reads (a learning rate)."""
    network = make()
    network.metadata["parameters"] = storage.model_parameters()
    caplog.set_level(logging.INFO, logger="diehl_cook")
    pipeline.note_changed_parameters(network, "test")
    assert caplog.text == ""
    monkeypatch.setattr(p, "ETA_PRE", 0.5)
    pipeline.note_changed_parameters(network, "test")
    assert caplog.text == ""
    monkeypatch.setattr(p, "TAU_E", 2 * p.TAU_E)
    pipeline.note_changed_parameters(network, "labelling")
    note = caplog.text
    assert "TAU_E 100. ms -> 200. ms" in note and "ETA_PRE" not in note and "labelling" in note
    assert [record.levelname for record in caplog.records] == ["WARNING"]
    # every learning-only name is a constant of parameters.py (no typo hides a change)
    assert pipeline.LEARNING_ONLY <= set(storage.model_parameters())


def test_running_accuracy_of_a_training_under_way_comes_from_its_log(tmp_path, monkeypatch):
    """A saved network records its running accuracy; a folder whose checkpoint is further
    on (a training still under way) has it recomputed from the training log, over the
    passes so far (image k of a pass is training image k % examples), and taken from the
    checkpoint's record where the log is lost."""
    from diehl_cook.storage import save_training_counts
    monkeypatch.setattr(p, "UPDATE_INTERVAL", 4)
    n_e, examples = 3, 8
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    responses = np.eye(n_e, dtype=int)[labels]      # neuron k answers digit k only
    net = TrainedNetwork(np.full((p.N_INPUT, n_e), 0.1), np.zeros(n_e))
    net.metadata = dict(images_seen=examples, examples_per_epoch=examples,
                        running_accuracy=[[8, 1.0]])
    save_network(tmp_path, net)
    assert pipeline.running_accuracy(tmp_path, load_network(tmp_path), labels) == ([[8, 1.0]], 8)
    for start in (0, 8):                             # two passes
        save_training_counts(tmp_path, start, responses)
    save_checkpoint(tmp_path, net, dict(done=16, seed=0, examples=examples))
    history, per_pass = pipeline.running_accuracy(tmp_path, load_network(tmp_path), labels)
    assert per_pass == examples
    assert history == [(8, 1.0), (12, 1.0), (16, 1.0)]
    # Blocks whose log is lost come from the checkpoint's own record, where it has them.
    os.remove(tmp_path / "training_log" / "counts_00000000.npz")
    save_checkpoint(tmp_path, net, dict(done=16, seed=0, examples=examples,
                                        running_accuracy=[[8, 0.5], [12, 1.0]]))
    history, _ = pipeline.running_accuracy(tmp_path, load_network(tmp_path), labels)
    assert history == [(8, 0.5), (12, 1.0), (16, 1.0)]


def test_values_read_from_a_network_folder_are_checked(tmp_path):
    folder = tmp_path / "net"
    save_network(folder, make())
    path = folder / "metadata.json"
    good = json.loads(path.read_text())
    for change, message in ((dict(w_inh_exc="nan"), "w_inh_exc is 'nan'"),
                            (dict(w_inh_exc=-17), "w_inh_exc is -17"),
                            (dict(theta_plus=float("inf")), "theta_plus is inf"),
                            (dict(rule="bogus"), "rule is 'bogus'")):
        path.write_text(json.dumps(dict(good, **change)))
        with pytest.raises(StorageError, match=re.escape(message)):
            load_network(folder)


def test_a_checkpoint_with_nan_theta_is_not_resumed(tmp_path):
    network = make()
    save_checkpoint(tmp_path, network, dict(n_e=network.n_e, seed=0, done=10))
    network.theta[1] = np.nan
    save_checkpoint(tmp_path, network, dict(n_e=network.n_e, seed=0, done=20))
    with pytest.raises(StorageError, match="theta holds NaN or infinite values"):
        load_checkpoint(tmp_path)


def test_a_training_log_chunk_of_another_size_is_reported(tmp_path):
    """``compare`` reads the whole training log; a chunk of another training (another
    number of neurons) is named, not a traceback from numpy."""
    storage.save_training_counts(str(tmp_path), 0, np.ones((4, 3)))
    storage.save_training_counts(str(tmp_path), 4, np.ones((4, 3)))
    assert storage.training_log_summary(str(tmp_path))["images"] == 8
    storage.save_training_counts(str(tmp_path), 8, np.ones((4, 5)))
    with pytest.raises(StorageError, match="counts_00000008.npz holds responses of shape"):
        storage.training_log_summary(str(tmp_path))


def test_a_training_holds_one_network_and_compact_counts_while_it_runs():
    """``run_chunks`` while learning keeps only the network it goes on from (each is
    40 MB at 6,400 neurons: a pass held 2.4 GB of them until it ended) and the
    chunks' spike counts as 16-bit numbers; what it returns is unchanged."""
    import gc
    import weakref
    from types import SimpleNamespace
    from diehl_cook.results import PhaseResult, presentation_log
    from diehl_cook.simulation import run_chunks
    made, alive = [], []

    class Engine:
        learning = True
        settings = SimpleNamespace(chunk_size=2, keep=None, seed=0)

        def run(self, images, network, seed, first):
            gc.collect()
            alive.append(sum(ref() is not None for ref in made))
            trained = make(3)
            made.append(weakref.ref(trained))
            return PhaseResult(np.full((len(images), 3), 7), np.ones(len(images), int),
                               presentation_log(np.arange(len(images)), [2] * len(images),
                                                [21] * len(images)), trained)
    result = run_chunks(Engine(), make(3), np.zeros((7, 784), np.uint8))
    assert alive == [0, 1, 1, 1]        # before: 0, 1, 2, 3
    assert result.network is made[-1]()
    assert result.counts.dtype == np.uint16 and result.counts.shape == (7, 3)
    assert np.all(result.counts == 7) and len(result.log) == 7
