"""The paper's protocol per size (parameters.SIZES), and the calibration's arithmetic."""
import numpy as np
import pytest
from brian2 import mV

from diehl_cook import calibration
from diehl_cook import parameters as p
from diehl_cook.results import PhaseResult, presentation_log
from diehl_cook.errors import SettingsError
from diehl_cook.network import TrainedNetwork
from diehl_cook.settings import RunSettings, size_protocol


def test_the_paper_training_lengths_and_the_released_values_at_400():
    assert (size_protocol(100).examples, size_protocol(100).epochs) == (40000, 1)
    assert (size_protocol(400).examples, size_protocol(400).epochs) == (60000, 3)
    assert size_protocol(1600).epochs == 7 and size_protocol(6400).epochs == 15
    assert size_protocol(400).theta_plus == float(0.05 * mV) == float(p.THETA_PLUS)
    assert size_protocol(400).w_inh_exc == 17.0 == p.W_INH_EXC


def test_a_size_not_listed_gets_the_400_values_and_one_pass():
    size = size_protocol(37)
    assert (size.theta_plus, size.w_inh_exc) == (float(p.THETA_PLUS), p.W_INH_EXC)
    assert (size.examples, size.epochs) == (60000, 1)


def test_new_networks_take_their_size_values_unless_overridden(monkeypatch):
    monkeypatch.setitem(p.SIZES, 100, dict(theta_plus=0.3 * mV, w_inh_exc=8.0,
                                            examples=40000, epochs=1))
    assert TrainedNetwork.untrained(100, 0).w_inh_exc == 8.0
    assert TrainedNetwork.untrained(100, 0).theta_plus == pytest.approx(0.3e-3)
    values = RunSettings(n_e=100, w_inh_exc=5.0).new_network_values
    assert values == dict(theta_plus=pytest.approx(0.3e-3), w_inh_exc=5.0)
    with pytest.raises(SettingsError, match="--w-inh-exc must be a number of at least 0"):
        RunSettings(w_inh_exc=-1.0)
    with pytest.raises(SettingsError, match="--theta-plus must be a number"):
        RunSettings(theta_plus=float("nan"))


def fake_training(spikes, counts):
    """A PhaseResult whose presentations had ``spikes`` (accepted: >= 5)."""
    accepted = np.flatnonzero(np.asarray(spikes) >= p.MIN_SPIKES)
    image = np.searchsorted(accepted, np.arange(len(spikes)))
    log = presentation_log(image, np.full(len(spikes), 2), spikes)
    return PhaseResult(np.asarray(counts), np.bincount(image), log)


def test_the_response_counts_every_presentation_and_every_neuron():
    # three images; the second needed a retry (3 spikes, then 6)
    result = fake_training([10, 3, 6, 8], [[10, 0, 0], [0, 6, 0], [4, 4, 0]])
    measured = calibration.response(result)
    assert measured["spikes_per_presentation"] == pytest.approx(27 / 4)
    assert measured["presentations_per_image"] == pytest.approx(4 / 3)
    assert measured["fraction_fired"] == pytest.approx(2 / 3)
    assert measured["active_neurons_per_image"] == pytest.approx(4 / 3)


def test_the_closest_response_is_chosen():
    target = dict(spikes_per_presentation=10.0, presentations_per_image=1.1)
    near = dict(spikes_per_presentation=11.0, presentations_per_image=1.1)
    far = dict(spikes_per_presentation=10.0, presentations_per_image=1.65)
    assert calibration.mismatch(near, target) == pytest.approx(0.1)
    assert calibration.mismatch(far, target) == pytest.approx(0.5)
    assert calibration.mismatch(target, target) == 0


def test_a_network_too_big_for_memory_is_refused_before_any_work():
    RunSettings(n_e=6400).check_memory(total=24 * 2 ** 30)
    with pytest.raises(SettingsError, match=r"N_e=20000 needs about \d+\.\d GiB"):
        RunSettings(n_e=20000).check_memory(total=24 * 2 ** 30)
    with pytest.raises(SettingsError, match="--n-e must be small enough to fit in memory"):
        RunSettings(n_e=10 ** 7).check_memory()
    # what Python keeps for a phase scales with the images shown (evaluate --repeats)
    flags = "--examples x --repeats"
    RunSettings(n_e=400).check_memory(total=24 * 2 ** 30, images=10 ** 5, flags=flags)
    with pytest.raises(SettingsError, match=r"--examples x --repeats must be .* N_e=400 on "
                                            r"10000000000 images needs about"):
        RunSettings(n_e=400).check_memory(total=24 * 2 ** 30, images=10 ** 10, flags=flags)


def test_every_training_seed_leaves_room_for_its_labelling_and_test_seeds():
    from diehl_cook.settings import TEST_SEED_OFFSET
    top = 2 ** 32 - 1 - TEST_SEED_OFFSET
    RunSettings(phase="training", seed=top).replace(phase="testing", seed=top + TEST_SEED_OFFSET)
    with pytest.raises(SettingsError, match=f"--seed must be an integer from 0 to {top}"):
        RunSettings(phase="training", seed=2 ** 32 - 1)
