"""The compiled engine against the plain Python loop, retries, the retry bound,
resuming, and parallel frozen runs. These tests compile a few small programs
(C++ for the engine, Cython for the runtime loop)."""
import os
import shutil

import numpy as np
import pytest
from brian2 import Network, NeuronGroup, ms, prefs

from diehl_cook import __version__
from diehl_cook import parameters as p
from diehl_cook import network as network_module
from diehl_cook import brian_internals, ownership, pipeline, storage
from diehl_cook.brian_internals import QUEUE_PUSH_BY_RUNS, cython_include_dirs
from diehl_cook.engine import FLUSH_SUBNORMALS, Engine, standalone_device
from diehl_cook.errors import SilentNetworkError, StorageError
from diehl_cook.network import TrainedNetwork, normalize_weights
from diehl_cook.reference import run_reference
from diehl_cook.simulation import run_phase

from conftest import CHUNK, N_E, SEED

IMAGES = 6
pytestmark = pytest.mark.compile


@pytest.fixture(scope="module")
def engine(settings, small_network):
    with Engine(settings, small_network.delays) as engine:
        yield engine


@pytest.fixture(scope="module")
def reference(settings, train_set, small_network):
    return run_reference(settings, small_network, train_set[0][:IMAGES], seed=7)


def faint(image):
    """An image too faint to evoke 5 spikes at the start intensity."""
    return (image // 8).astype(np.uint8)


def assert_same_run(engine_result, reference_result, start_network):
    assert engine_result.counts.sum() > 0
    assert np.array_equal(engine_result.counts, reference_result.counts)
    assert np.array_equal(engine_result.presentations, reference_result.presentations)
    assert np.array_equal(engine_result.log, reference_result.log)   # same retries, same reasons
    # The engine stops one step into the next cycle, after normalizing for it and
    # letting theta decay for 0.5 ms: otherwise the learned state is the same.
    learned, expected = engine_result.network, reference_result.network
    assert np.allclose(learned.weights, normalize_weights(expected.weights), rtol=0, atol=1e-12)
    assert np.allclose(learned.weights.sum(axis=0), p.WEIGHT_SUM)
    assert np.allclose(learned.theta, expected.theta, rtol=1e-6)
    fired = engine_result.counts.sum(axis=0) > 0
    theta = start_network.theta
    assert np.all(learned.theta[fired] > theta[fired])
    assert np.all(learned.theta[~fired] < theta[~fired])


def test_engine_matches_the_reference_loop_spike_for_spike(engine, reference, train_set,
                                                           small_network):
    result = engine.run(train_set[0][:IMAGES], small_network, seed=7)
    assert_same_run(result, reference, small_network)


@pytest.mark.parametrize("rule", ["power-law", "exponential", "pre-post"])
def test_engine_matches_the_reference_loop_for_every_rule(rule, settings, train_set):
    rule_settings = settings.replace(rule=rule)
    network = TrainedNetwork.untrained(N_E, SEED, rule)
    images = train_set[0][:IMAGES]
    expected = run_reference(rule_settings, network, images, seed=7)
    result = Engine(rule_settings, network.delays).run(images, network, seed=7)
    assert_same_run(result, expected, network)
    assert not np.allclose(result.network.weights, normalize_weights(network.weights), atol=1e-6)


def test_grouping_the_input_synapses_by_delay_changes_no_result(settings, reference, train_set,
                                                               small_network, monkeypatch):
    """network.delay_order is a memory layout only: with the synapses in the weight
    matrix's order the loop gives the same spikes, weights and theta, bit for bit."""
    monkeypatch.setattr(network_module, "delay_order", lambda delays: np.arange(np.size(delays)))
    matrix_order = run_reference(settings, small_network, train_set[0][:IMAGES], seed=7)
    assert np.array_equal(matrix_order.log, reference.log)
    assert np.array_equal(matrix_order.counts, reference.counts)
    assert np.array_equal(matrix_order.network.weights, reference.network.weights)
    assert np.array_equal(matrix_order.network.theta, reference.network.theta)


def test_the_program_pushes_spikes_by_runs_of_equal_delay(engine):
    with open(os.path.join(engine.directory, "brianlib", "spikequeue.h")) as queue:
        assert QUEUE_PUSH_BY_RUNS in queue.read()


def assert_identical(result, other):
    assert result.counts.sum() > 0
    assert np.array_equal(result.counts, other.counts)
    assert np.array_equal(result.log, other.log)
    assert np.array_equal(result.network.weights, other.network.weights)
    assert np.array_equal(result.network.theta, other.network.theta)


def test_the_projects_templates_give_what_brians_own_code_gives(engine, settings, train_set,
                                                                small_network, tmp_path,
                                                                monkeypatch):
    """The engine's own code (the delay ring, the two-loop threshold tests, the input's
    threshold test with its draws) against Brian's own (spike queue and delivery,
    threshold loops), which the engine falls back to when a Brian release changes the
    templates it extends (simulated here): the same spikes, weights and theta, bit for
    bit."""
    brians = brian_internals.brian_template_source
    monkeypatch.setattr(brian_internals, "brian_template_source", lambda name: (
        brians(name).replace("{% block maincode %}", "{% block main %}")
        if name == "common_group.cpp" else brians(name)))
    with pytest.warns(RuntimeWarning, match=": off") as warned:
        fallback = Engine(settings.replace(build_dir=str(tmp_path)), small_network.delays)
    assert {str(w.message).split(": off")[0] for w in warned
            if str(w.message).startswith("diehl_cook")} == {
        "diehl_cook: the delay ring", "diehl_cook: the vectorized neuron loops",
        "diehl_cook: the input's threshold test in two loops",
        "diehl_cook: the vectorized weight normalization"}
    images = train_set[0][:CHUNK]
    with fallback:
        assert not fallback.delay_ring
        brians_result = fallback.run(images, small_network, seed=5)
    assert engine.delay_ring
    assert_identical(engine.run(images, small_network, seed=5), brians_result)


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_writing_back_only_the_changed_weights_gives_the_same_results(
        engine, settings, train_set, small_network, tmp_path, monkeypatch, mode):
    """The delay ring writes every delivered weight back while the weights are small
    (the test network's are), only the changed ones beyond
    ``WRITE_ALL_WEIGHTS_UP_TO`` (set to 0 here): the same results as the exact
    engine's (bit for bit; in fast mode, as ``test_fast_mode_gives_the_spikes_of_exact_mode``)."""
    monkeypatch.setattr(brian_internals, "WRITE_ALL_WEIGHTS_UP_TO", 0)
    images = train_set[0][:CHUNK]

    def delivery_code(directory):
        with open(os.path.join(directory, "code_objects", "input_exc_pre_codeobject.cpp")) as code:
            return code.read()
    with Engine(settings.replace(build_dir=str(tmp_path), engine=mode),
                small_network.delays) as changed_only:
        assert "!= w) {" in delivery_code(changed_only.directory)
        result = changed_only.run(images, small_network, seed=5)
    assert "!= w) {" not in delivery_code(engine.directory)
    exact = engine.run(images, small_network, seed=5)
    if mode == "exact":
        assert_identical(result, exact)
    else:
        assert np.array_equal(result.counts, exact.counts)
        assert np.array_equal(result.network.theta, exact.network.theta)
        assert np.allclose(result.network.weights, exact.network.weights, rtol=1e-12, atol=0)


def test_fast_mode_gives_the_spikes_of_exact_mode(engine, settings, train_set, small_network):
    """Fast mode vectorizes the neurons' integration, whose exp() may differ from the
    scalar one in the last bits of v, and normalizes only the columns whose weights
    changed, so a weight may differ in its last bits. Neither changed a single spike
    here (nor on the first 1,000 training images at 100 and 400 neurons: docs, "The
    engine"); theta depends on v only through the spikes. A column left out of the
    normalization after a change (a missed mark) would be off by far more than
    rounding."""
    images = train_set[0][:CHUNK]
    with Engine(settings.replace(engine="fast"), small_network.delays) as fast:
        assert fast.simd and "-fast-" in os.path.basename(fast.directory)
        result = fast.run(images, small_network, seed=5)
    assert not engine.simd
    exact = engine.run(images, small_network, seed=5)
    assert result.counts.sum() > 0
    assert np.array_equal(result.counts, exact.counts)
    assert np.array_equal(result.log, exact.log)
    assert np.array_equal(result.network.theta, exact.network.theta)
    weights, exact_weights = result.network.weights, exact.network.weights
    assert not np.array_equal(weights, small_network.weights)       # it learned
    assert np.allclose(weights, exact_weights, rtol=1e-12, atol=0)


def test_textbook_triplet_gives_the_same_spikes_and_weights(settings, reference, train_set,
                                                           small_network):
    textbook = run_reference(settings, small_network, train_set[0][:IMAGES], seed=7,
                             textbook=True)
    assert np.array_equal(textbook.counts, reference.counts)
    assert np.array_equal(textbook.log, reference.log)
    assert np.allclose(textbook.network.weights, reference.network.weights, rtol=0, atol=1e-12)
    assert not np.allclose(textbook.network.weights, normalize_weights(small_network.weights),
                           atol=1e-6)


def test_an_unchanged_program_is_not_compiled_again(engine, settings, small_network):
    """The same program built again, here while another engine of it is still open
    and after Brian's Cython compiler added its folders to the include preference
    (as it does whenever runtime mode compiles a module), leaves the compiled
    program untouched (same source files, same makefile, nothing for make)."""
    program = os.path.join(engine.directory, "main")
    compiled = os.stat(program).st_mtime_ns
    include_dirs = prefs["codegen.cpp.include_dirs"]
    prefs["codegen.cpp.include_dirs"] = include_dirs + cython_include_dirs()
    try:
        with Engine(settings, small_network.delays) as again:
            assert again.directory == engine.directory
    finally:
        prefs["codegen.cpp.include_dirs"] = include_dirs
    assert os.stat(program).st_mtime_ns == compiled


def test_faint_image_is_shown_again_with_higher_intensity(engine, train_set, small_network):
    images = np.stack([faint(train_set[0][0]), train_set[0][1]])
    result = engine.run(images, small_network, seed=3)
    first = result.log[result.log["image"] == 0]
    assert len(first) > 1 and result.presentations[0] == len(first)
    assert first["intensity"].tolist() == list(range(2, 2 + len(first)))    # intensity 2, 3, ...
    assert np.all(first["spikes"][:-1] < p.MIN_SPIKES) and first["spikes"][-1] >= p.MIN_SPIKES
    assert result.log[result.log["image"] == 1]["intensity"][0] == p.INTENSITY_START   # reset to 2


def test_silent_network_stops_with_a_clear_error(engine, settings, small_network):
    blank = np.zeros((2, 28, 28), np.uint8)
    with pytest.raises(SilentNetworkError, match=r"image 4 evoked fewer than 5.*64 presentations"):
        engine.run(blank, small_network, seed=1, first_image=4)
    with pytest.raises(SilentNetworkError, match="image 0"):
        run_reference(settings, small_network, blank, seed=1)


def test_per_size_values_reach_the_compiled_program(engine, settings, train_set, small_network):
    """theta_plus and the inh -> exc weight are inputs of the compiled program:
    other values give the reference loop's run with those values, and not the
    default run."""
    images = train_set[0][:IMAGES]
    other = TrainedNetwork(small_network.weights, small_network.theta, SEED, "triplet",
                           theta_plus=4 * small_network.theta_plus, w_inh_exc=2.0)
    result = engine.run(images, other, seed=7)
    assert_same_run(result, run_reference(settings, other, images, seed=7), other)
    default = engine.run(images, small_network, seed=7)
    assert not np.array_equal(result.counts, default.counts)
    assert result.network.theta_plus == other.theta_plus
    assert result.network.w_inh_exc == 2.0
    frozen = settings.replace(phase="testing")
    frozen_result = Engine(frozen, other.delays).run(images, other, seed=3)
    assert np.array_equal(frozen_result.counts, run_reference(frozen, other, images, 3).counts)
    assert not np.array_equal(frozen_result.counts,
                              Engine(frozen, other.delays).run(images, small_network, 3).counts)


def test_test_repeats_draw_anew_and_the_first_is_the_single_evaluation(settings, train_set,
                                                                     tmp_path):
    images, labels = train_set[0][:CHUNK], train_set[1][:CHUNK]
    pipeline.train(settings, tmp_path, images, labels)
    pipeline.label(settings, tmp_path, images, labels)
    (single,), once = pipeline.test(settings, tmp_path, images[:CHUNK // 2], labels[:CHUNK // 2])
    scores, thrice = pipeline.test(settings, tmp_path, images[:CHUNK // 2], labels[:CHUNK // 2],
                                   repeats=3)
    assert len(scores) == 3 and len(thrice.counts) == 3 * (CHUNK // 2)
    assert scores[0]["accuracy"] == single["accuracy"]
    assert np.array_equal(thrice.counts[:CHUNK // 2], once.counts)
    repeats = thrice.counts.reshape(3, CHUNK // 2, N_E)
    assert not np.array_equal(repeats[0], repeats[1]) and not np.array_equal(repeats[1], repeats[2])


def test_resumed_training_equals_uninterrupted(settings, train_set, tmp_path, monkeypatch):
    images, labels = train_set[0][:2 * CHUNK], train_set[1][:2 * CHUNK]
    whole = pipeline.train(settings, tmp_path / "whole", images, labels)

    saved = storage.save_checkpoint

    def save_then_stop(*args, **kwargs):
        saved(*args, **kwargs)
        raise KeyboardInterrupt
    monkeypatch.setattr(storage, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        pipeline.train(settings, tmp_path / "halves", images, labels)
    monkeypatch.setattr(storage, "save_checkpoint", saved)
    # Resume from what a commit keeps of the folder (docs/guarantees.md, "Long runs"): the
    # checkpoint, the training log and the project's marker, copied to a new place.
    committed = tmp_path / "clone"

    def keep(folder, log=True):
        if log:
            shutil.copytree(tmp_path / "halves" / "training_log", folder / "training_log")
        os.makedirs(folder, exist_ok=True)
        for name in ("checkpoint.npz", ownership.NETWORK_MARKER):
            shutil.copy(tmp_path / "halves" / name, folder)
    keep(committed)
    resumed = pipeline.train(settings, committed, images, labels, resume=True)
    assert storage.load_training_counts(committed, 2 * CHUNK, N_E)[1].all()
    assert np.array_equal(resumed.weights, whole.weights)
    assert np.array_equal(resumed.theta, whole.theta)
    assert resumed.metadata["training_presentations_per_image"] == \
        whole.metadata["training_presentations_per_image"]
    assert "training_log_lost" not in resumed.metadata
    assert whole.metadata["engine_modes"] == resumed.metadata["engine_modes"] == \
        [[0, "exact", __version__]]

    # Resumed in the other engine mode: the metadata says from which image and with
    # which version (here the two modes give the same spikes, so the same weights to
    # rounding: test_fast_mode_gives_the_spikes_of_exact_mode).
    fast = tmp_path / "fast"
    keep(fast)
    resumed = pipeline.train(settings.replace(engine="fast"), fast, images, labels,
                             resume=True)
    assert resumed.metadata["engine_modes"] == [[0, "exact", __version__],
                                                [CHUNK, "fast", __version__]]
    assert np.allclose(resumed.weights, whole.weights, rtol=1e-12, atol=0)
    assert np.array_equal(resumed.theta, whole.theta)

    # The checkpoint alone (its log lost) still continues the same training; only
    # the records drawn from the log lack the first chunk.
    alone = tmp_path / "checkpoint alone"
    keep(alone, log=False)
    resumed = pipeline.train(settings, alone, images, labels, resume=True)
    assert np.array_equal(resumed.weights, whole.weights)
    assert np.array_equal(resumed.theta, whole.theta)
    assert resumed.metadata["training_log_lost"] == [(0, CHUNK)]
    counts, covered = storage.load_training_counts(alone, 2 * CHUNK, N_E)
    assert not covered[:CHUNK].any() and covered[CHUNK:].all() and counts[CHUNK:].any()


def test_resume_with_other_settings_is_refused(settings, train_set, tmp_path):
    images, labels = train_set[0][:CHUNK], train_set[1][:CHUNK]
    pipeline.train(settings, tmp_path, images, labels)
    with pytest.raises(StorageError, match="not the settings"):
        pipeline.train(settings.replace(seed=SEED + 1), tmp_path, images, labels, resume=True)
    with pytest.raises(StorageError, match="rule power-law"):
        pipeline.train(settings.replace(rule="power-law"), tmp_path, images, labels, resume=True)
    with pytest.raises(StorageError, match="inh -> exc weight 9"):
        pipeline.train(settings.replace(w_inh_exc=9.0), tmp_path, images, labels, resume=True)


def test_a_resume_with_changed_values_goes_on_with_them_and_records_where(settings, train_set,
                                                                          tmp_path):
    """--change-values: the checkpoint's network goes on with the new inh -> exc weight
    (the next chunk differs from the unchanged training's), and the checkpoint and
    metadata say from which image; a later resume needs the new value."""
    images, labels = train_set[0][:2 * CHUNK], train_set[1][:2 * CHUNK]
    first = settings.replace(epochs=1)
    pipeline.train(first, tmp_path / "a", images[:CHUNK], labels[:CHUNK])
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    old = storage.load_network(tmp_path / "a").w_inh_exc
    same = pipeline.train(first.replace(epochs=2), tmp_path / "a", images[:CHUNK],
                          labels[:CHUNK], resume=True)
    changed = pipeline.train(first.replace(epochs=2, w_inh_exc=old + 20, change_values=True),
                             tmp_path / "b", images[:CHUNK], labels[:CHUNK], resume=True)
    assert changed.w_inh_exc == old + 20 and "value_changes" not in same.metadata
    assert changed.metadata["value_changes"] == [[CHUNK, "w_inh_exc", old, old + 20]]
    assert storage.load_checkpoint(tmp_path / "b")[1]["value_changes"] == \
        changed.metadata["value_changes"]
    assert not np.array_equal(changed.weights, same.weights)
    with pytest.raises(StorageError, match=f"inh -> exc weight {old + 20:g}"):
        pipeline.train(first.replace(epochs=3), tmp_path / "b", images[:CHUNK], labels[:CHUNK],
                       resume=True)


def test_resume_refuses_a_plan_shorter_than_done_and_other_mnist_files(settings, train_set,
                                                                       tmp_path):
    images, labels = train_set[0][:CHUNK], train_set[1][:CHUNK]
    pipeline.train(settings.replace(epochs=2), tmp_path, images, labels)
    with pytest.raises(StorageError, match="already seen 40 images.*--epochs 2 or more"):
        pipeline.train(settings, tmp_path, images, labels, resume=True)
    changed = images.copy()
    changed[0, 14, 14] ^= 1                               # one pixel of one image
    with pytest.raises(StorageError, match="not those the training .* started with"):
        pipeline.train(settings.replace(epochs=3), tmp_path, changed, labels, resume=True)
    with pytest.raises(StorageError, match="not those the training .* started with"):
        pipeline.train(settings.replace(epochs=3), tmp_path, images, labels[::-1], resume=True)
    network = pipeline.train(settings.replace(epochs=3), tmp_path, images, labels, resume=True)
    assert network.metadata["images_seen"] == 3 * CHUNK


def test_parallel_frozen_run_equals_one_job(settings, train_set, small_network):
    images = train_set[0][:2 * CHUNK]
    frozen = settings.replace(phase="testing", seed=11)
    one = run_phase(frozen.replace(jobs=1), small_network, images)
    two = run_phase(frozen.replace(jobs=2), small_network, images)
    assert one.counts.sum() > 0
    assert np.array_equal(one.counts, two.counts)
    assert np.array_equal(one.log, two.log)


def test_an_error_in_a_parallel_job_reaches_the_caller(settings, train_set, small_network):
    """A blank image in the second job's chunk: the phase stops with that job's
    error (its image's position in the whole phase), not a wait for its progress."""
    images = train_set[0][:2 * CHUNK].copy()
    images[CHUNK + 3] = 0
    frozen = settings.replace(phase="testing", seed=11, jobs=2)
    with pytest.raises(SilentNetworkError, match=f"image {CHUNK + 3} evoked"):
        run_phase(frozen, small_network, images)


def test_engine_in_runtime_mode_matches_the_reference_loop(settings, reference, train_set,
                                                           small_network):
    """The same in-model protocol without compilation (for debugging)."""
    runtime = Engine(settings, small_network.delays, standalone=False)
    result = runtime.run(train_set[0][:IMAGES], small_network, seed=7)
    assert np.array_equal(result.counts, reference.counts)
    assert np.array_equal(result.log, reference.log)


def test_the_engine_takes_subnormal_numbers_as_zero(engine, tmp_path):
    """The engine's program flushes subnormals: 1e-300 * 1e-10 (a subnormal, 1e-310,
    in IEEE arithmetic) becomes 0 in a program with the same start code."""
    with open(os.path.join(engine.directory, "main.cpp")) as main:
        assert FLUSH_SUBNORMALS.strip().splitlines()[1].strip() in main.read()
    with standalone_device(str(tmp_path)) as device:
        device.insert_code("before_start", FLUSH_SUBNORMALS)
        group = NeuronGroup(1, "x : 1", dt=1 * ms, name="decaying")
        group.x = 1e-300
        group.run_regularly("x = x * 1e-10")
        Network(group).run(1 * ms)
        device.build(directory=str(tmp_path), compile=True, run=True, with_output=False)
        assert group.x[0] == 0.0
    assert 1e-300 * 1e-10 != 0.0          # Python (and numpy) keep the subnormal


def test_openmp_threads_give_the_one_thread_run_bit_for_bit(engine, settings, train_set,
                                                             small_network):
    """With 2 OpenMP threads the run is the one-thread run, bit for bit, every time:
    the loops that Brian parallelizes (state updates, normalization) work element by
    element, and the Poisson input is drawn by Brian's serial threshold loop. (The
    normalization's column sums are kept serial: added from two threads at once, they
    made the weights differ in their last bits from run to run.)"""
    images = train_set[0][:CHUNK]
    two = settings.replace(threads=2)
    with Engine(two, small_network.delays) as threaded:
        assert threaded.directory.split("/")[-1].startswith("learning-n12-chunk20-triplet-threads2-")
        first, second = (threaded.run(images, small_network, seed=5) for _ in range(2))
    single = engine.run(images, small_network, seed=5)      # the one-thread program
    assert first.counts.sum() > 0
    for other in (second, single):
        assert np.array_equal(first.counts, other.counts)
        assert np.array_equal(first.log, other.log)
        assert np.array_equal(first.network.weights, other.network.weights)
        assert np.array_equal(first.network.theta, other.network.theta)


def test_an_interrupted_labelling_continues_from_its_finished_chunks(settings, train_set,
                                                                     tmp_path, monkeypatch):
    images, labels = train_set[0][:3 * CHUNK], train_set[1][:3 * CHUNK]
    pipeline.train(settings, tmp_path, images[:CHUNK], labels[:CHUNK])
    labelled, whole = pipeline.label(settings, tmp_path, images, labels)
    assert not (tmp_path / "partial").exists()           # removed once complete

    saved = storage.save_chunk

    def save_then_stop(directory, start, result):
        saved(directory, start, result)
        if start == CHUNK:                                # after the second chunk
            raise KeyboardInterrupt
    monkeypatch.setattr(storage, "save_chunk", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        pipeline.label(settings, tmp_path, images, labels)
    monkeypatch.setattr(storage, "save_chunk", saved)
    kept, = (tmp_path / "partial").iterdir()
    assert kept.name.startswith("labelling-")
    assert storage.finished_chunks(kept) == [0, CHUNK]

    ran, run = [], Engine.run
    monkeypatch.setattr(Engine, "run", lambda engine, chunk, *args:
                        ran.append(len(chunk)) or run(engine, chunk, *args))
    pipeline.label(settings, tmp_path, images[::-1], labels[::-1])   # other images:
    assert ran == [CHUNK] * 3 and kept.exists()                      # not taken
    ran.clear()
    again, resumed = pipeline.label(settings, tmp_path, images, labels)
    assert ran == [CHUNK]                                 # only the third chunk ran
    assert np.array_equal(resumed.counts, whole.counts)
    assert np.array_equal(resumed.log, whole.log)
    assert np.array_equal(again.assignments, labelled.assignments)
    assert not (tmp_path / "partial").exists()

    def read_only(path, folder=False):
        raise StorageError(f"cannot write {path}")
    monkeypatch.setattr(storage, "check_writable", read_only)
    ran.clear()
    (single,), _ = pipeline.test(settings, tmp_path, images, labels)   # runs, keeps nothing
    assert ran == [CHUNK] * 3 and not (tmp_path / "partial").exists()


def test_parallel_jobs_take_the_kept_chunks(settings, train_set, small_network, tmp_path):
    images = train_set[0][:4 * CHUNK]
    frozen = settings.replace(phase="testing", seed=11, keep=str(tmp_path))
    whole = run_phase(frozen.replace(jobs=1), small_network, images)
    assert storage.finished_chunks(tmp_path) == [0, CHUNK, 2 * CHUNK, 3 * CHUNK]
    for start in (CHUNK, 3 * CHUNK):
        os.remove(tmp_path / f"chunk_{start:08d}.npz")
    marked = storage.load_chunk(tmp_path, 0)              # a kept chunk is taken as it is
    marked["counts"] = marked["counts"] + 1
    storage.save_chunk(tmp_path, 0, type("Chunk", (), marked))
    resumed = run_phase(frozen.replace(jobs=2), small_network, images)
    assert np.array_equal(resumed.counts[:CHUNK], whole.counts[:CHUNK] + 1)
    assert np.array_equal(resumed.counts[CHUNK:], whole.counts[CHUNK:])
    assert np.array_equal(resumed.log, whole.log)
    assert storage.finished_chunks(tmp_path) == [0, CHUNK, 2 * CHUNK, 3 * CHUNK]
