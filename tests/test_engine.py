"""The compiled engine against the plain Python loop, retries, the retry bound,
resuming, and parallel frozen runs. These tests compile a few small programs."""
import numpy as np
import pytest

from diehl_cook import parameters as p
from diehl_cook import pipeline
from diehl_cook.network import normalize_weights
from diehl_cook.protocol import SilentNetworkError, next_cycle
from diehl_cook.simulation import Engine, present_frozen, run_reference

from conftest import CHUNK, N_E, SEED

IMAGES = 6


@pytest.fixture(scope="module")
def engine(small_network, build_dir):
    return Engine(N_E, True, small_network[1], chunk_size=CHUNK, build_dir=build_dir)


@pytest.fixture(scope="module")
def reference(train_set, small_network):
    weights, delays, theta = small_network
    return run_reference(N_E, True, train_set[0][:IMAGES], weights, delays, theta, seed=7)


def faint(image):
    """An image too faint to evoke 5 spikes at the start intensity."""
    return (image // 8).astype(np.uint8)


def test_next_cycle_rules():
    assert next_cycle(p.MIN_SPIKES, 5, 3) == (True, p.INTENSITY_START, 1)
    assert next_cycle(p.MIN_SPIKES - 1, 2, 1) == (False, 2 + p.INTENSITY_STEP, 2)


def test_normalization_makes_every_column_sum_to_78():
    weights = np.random.default_rng(0).random((784, 5))
    assert np.allclose(normalize_weights(weights).sum(axis=0), 78.0, rtol=1e-12)


def test_engine_matches_the_reference_loop_spike_for_spike(engine, reference, train_set,
                                                           small_network):
    weights, _, theta = small_network
    result = engine.run(train_set[0][:IMAGES], weights, theta, seed=7)
    assert result.counts.sum() > 0
    assert np.array_equal(result.counts, reference.counts)
    assert np.array_equal(result.presentations, reference.presentations)
    assert np.array_equal(result.log, reference.log)     # same retries, same reasons
    # The engine stops one step into the next cycle, after normalizing for it and
    # letting theta decay for 0.5 ms: otherwise the learned state is the same.
    assert np.allclose(result.weights, normalize_weights(reference.weights), rtol=0, atol=1e-12)
    assert np.allclose(result.weights.sum(axis=0), p.WEIGHT_SUM)
    assert np.allclose(result.theta, reference.theta, rtol=1e-6)
    fired = result.counts.sum(axis=0) > 0
    assert np.all(result.theta[fired] > theta[fired]) and np.all(result.theta[~fired] < theta[~fired])


def test_both_stdp_formulations_give_the_same_spikes(reference, train_set, small_network):
    weights, delays, theta = small_network
    straightforward = run_reference(N_E, True, train_set[0][:IMAGES], weights, delays, theta,
                                    seed=7, stdp="synaptic_traces")
    assert np.array_equal(straightforward.counts, reference.counts)
    assert np.array_equal(straightforward.log, reference.log)
    assert np.allclose(straightforward.weights, reference.weights, rtol=0, atol=1e-12)
    assert not np.allclose(straightforward.weights, normalize_weights(weights), atol=1e-6)


def test_faint_image_is_shown_again_with_higher_intensity(engine, train_set, small_network):
    weights, _, theta = small_network
    images = np.stack([faint(train_set[0][0]), train_set[0][1]])
    result = engine.run(images, weights, theta, seed=3)
    first = result.log[result.log[:, 0] == 0]
    assert len(first) > 1 and result.presentations[0] == len(first)
    assert first[:, 1].tolist() == list(range(2, 2 + len(first)))    # intensity 2, 3, ...
    assert np.all(first[:-1, 2] < p.MIN_SPIKES) and first[-1, 2] >= p.MIN_SPIKES
    assert result.log[result.log[:, 0] == 1][0, 1] == p.INTENSITY_START   # reset to 2


def test_silent_network_stops_with_a_clear_error(engine, small_network):
    weights, delays, theta = small_network
    blank = np.zeros((2, 28, 28), np.uint8)
    with pytest.raises(SilentNetworkError, match=r"image 4 evoked fewer than 5.*64 presentations"):
        engine.run(blank, weights, theta, seed=1, first_image=4)
    with pytest.raises(SilentNetworkError, match="image 0"):
        run_reference(N_E, True, blank, weights, delays, theta, seed=1)


def test_resumed_training_equals_uninterrupted(train_set, tmp_path, build_dir, monkeypatch):
    images, labels = train_set[0][:2 * CHUNK], train_set[1][:2 * CHUNK]
    whole, _ = pipeline.train(tmp_path / "whole", images, labels, N_E, seed=SEED,
                              chunk_size=CHUNK, build_dir=build_dir, progress=False)

    saved = pipeline.save_checkpoint

    def save_then_stop(*args, **kwargs):
        saved(*args, **kwargs)
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline, "save_checkpoint", save_then_stop)
    with pytest.raises(KeyboardInterrupt):
        pipeline.train(tmp_path / "halves", images, labels, N_E, seed=SEED, chunk_size=CHUNK,
                       build_dir=build_dir, progress=False)
    monkeypatch.setattr(pipeline, "save_checkpoint", saved)
    resumed, counts = pipeline.train(tmp_path / "halves", images, labels, N_E, seed=SEED,
                                     resume=True, chunk_size=CHUNK, build_dir=build_dir,
                                     progress=False)
    assert len(counts) == 2 * CHUNK
    assert np.array_equal(resumed.weights, whole.weights)
    assert np.array_equal(resumed.theta, whole.theta)


def test_resume_with_other_settings_is_refused(train_set, tmp_path, build_dir):
    images, labels = train_set[0][:CHUNK], train_set[1][:CHUNK]
    pipeline.train(tmp_path, images, labels, N_E, seed=SEED, chunk_size=CHUNK,
                   build_dir=build_dir, progress=False)
    with pytest.raises(pipeline.StorageError, match="not the settings"):
        pipeline.train(tmp_path, images, labels, N_E, seed=SEED + 1, resume=True,
                       chunk_size=CHUNK, build_dir=build_dir, progress=False)


def test_parallel_frozen_run_equals_one_job(train_set, small_network, build_dir):
    weights, delays, theta = small_network
    images = train_set[0][:2 * CHUNK]
    one = present_frozen(N_E, images, weights, delays, theta, seed=11, jobs=1,
                         chunk_size=CHUNK, build_dir=build_dir, progress=False)
    two = present_frozen(N_E, images, weights, delays, theta, seed=11, jobs=2,
                         chunk_size=CHUNK, build_dir=build_dir, progress=False)
    assert one.counts.sum() > 0
    assert np.array_equal(one.counts, two.counts)
    assert np.array_equal(one.log, two.log)


def test_engine_in_runtime_mode_matches_the_reference_loop(reference, train_set, small_network):
    """The same in-model protocol without compilation (for debugging)."""
    weights, delays, theta = small_network
    runtime = Engine(N_E, True, delays, chunk_size=CHUNK, standalone=False)
    result = runtime.run(train_set[0][:IMAGES], weights, theta, seed=7)
    assert np.array_equal(result.counts, reference.counts)
    assert np.array_equal(result.log, reference.log)
