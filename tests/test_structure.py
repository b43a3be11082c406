"""Connectivity of the network: what the paper specifies, synapse by synapse."""
import numpy as np
import pytest
from brian2 import ms, second

from diehl_cook import parameters as p
from diehl_cook.engine import use_runtime
from diehl_cook.errors import SettingsError
from diehl_cook.network import TrainedNetwork, build_network, delay_order, initial_state
from diehl_cook.settings import RunSettings

N_E = 7
pytestmark = pytest.mark.usefixtures("numpy_target")   # builds only: no compiling


@pytest.fixture
def model():
    use_runtime()
    weights, delays = initial_state(N_E, 3)
    network = TrainedNetwork(weights, np.zeros(N_E))
    return build_network(RunSettings(n_e=N_E), network, delays), weights, delays


def test_exc_to_inh_is_one_to_one(model):
    m = model[0]
    assert len(m.exc_inh) == N_E
    assert np.array_equal(m.exc_inh.i[:], m.exc_inh.j[:])
    assert sorted(m.exc_inh.i[:]) == list(range(N_E))
    assert np.all(m.exc_inh.delay[:] == 0 * ms)


def test_inh_to_exc_is_all_but_self(model):
    m = model[0]
    pairs = set(zip(m.inh_exc.i[:], m.inh_exc.j[:]))
    assert len(m.inh_exc) == N_E * (N_E - 1) == len(pairs)
    assert pairs == {(i, j) for i in range(N_E) for j in range(N_E) if i != j}


def test_input_to_exc_is_all_to_all_with_given_weights_and_delays(model):
    m, weights, delays = model
    assert len(m.input_exc) == p.N_INPUT * N_E
    i, j = m.input_exc.i[:], m.input_exc.j[:]
    assert len(set(zip(i, j))) == p.N_INPUT * N_E
    assert np.array_equal(m.input_exc.w[:], weights[i, j])
    d = m.input_exc.delay[:] / second
    assert np.allclose(d, delays[i, j])
    assert d.min() >= 0 and d.max() < float(p.DELAY_INPUT_MAX)


def test_input_synapses_are_grouped_by_delay_and_map_back_to_the_weight_matrix(model):
    m, weights, delays = model
    order = delay_order(delays)
    assert sorted(order) == list(range(p.N_INPUT * N_E))
    assert np.array_equal(m.input_exc.i[:], order // N_E)
    steps = np.floor(m.input_exc.delay[:] / p.DT + 0.5).reshape(p.N_INPUT, N_E)
    assert np.all(np.diff(steps, axis=1) >= 0)          # each pixel's synapses by delay
    assert np.array_equal(m.input_weights(), weights)   # and back to (784, n_e)
    assert np.array_equal(m.synapse_weights(weights), m.input_exc.w[:])


def test_without_delays_the_synapses_follow_the_weight_matrix_layout():
    order = delay_order(np.zeros((p.N_INPUT, 3)))
    assert list(order[:6]) == [0, 1, 2, 3, 4, 5]


def test_initial_weights_and_delays_follow_the_released_code():
    weights, delays = initial_state(400, 0)
    assert weights.shape == delays.shape == (784, 400)
    assert weights.min() >= 0.01 * 0.3 and weights.max() < 1.01 * 0.3
    assert abs(weights.mean() - 0.51 * 0.3) < 0.002
    assert delays.min() >= 0 and delays.max() < 0.010 and abs(delays.mean() - 0.005) < 1e-4


def test_sizes_other_than_400_work_and_tiny_ones_are_refused():
    use_runtime()
    network = TrainedNetwork.untrained(3, 0)
    assert len(build_network(RunSettings(phase="testing", n_e=3), network).inh_exc) == 6
    with pytest.raises(SettingsError, match="--n-e must be an integer of at least 2"):
        RunSettings(n_e=1)


def test_a_network_owns_its_delays_drawn_once_from_its_seed():
    """The delays of a trained network are those it was trained with: the second
    draw of the released code's initialization from the network's seed."""
    network = TrainedNetwork.untrained(5, 11)
    rng = np.random.default_rng(11)
    assert np.array_equal(network.weights, (rng.random((784, 5)) + 0.01) * 0.3)
    assert np.array_equal(network.delays, rng.random((784, 5)) * 0.010)
    trained = TrainedNetwork(np.zeros((784, 5)), np.zeros(5), seed=11)
    assert np.array_equal(trained.delays, network.delays)
