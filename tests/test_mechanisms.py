"""Each mechanism of the model on tiny hand-made inputs, with the expected number.

Spikes are forced by hand: an input neuron fires at every step while its rate is
1/dt, and an excitatory neuron fires at the next step once its v is set above
threshold. Only synapse (input 0 -> exc 0) is non-zero, with no delay.
"""
import numpy as np
import pytest
from brian2 import Hz, Network, SpikeMonitor, mV, ms, second, volt

from diehl_cook import parameters as p
from diehl_cook.network import build_network
from diehl_cook.simulation import use_runtime

N_E = 3
W0 = 0.5


pytestmark = pytest.mark.usefixtures("numpy_target")   # tiny runs: no compiling


class Bench:
    """The network with one live synapse, and helpers to force spikes."""

    def __init__(self, stdp="neuron_traces", learning=True, w0=W0):
        use_runtime()
        weights = np.zeros((p.N_INPUT, N_E))
        weights[0, 0] = w0
        self.model = build_network(N_E, learning, stdp=stdp, weights=weights,
                                   delays=np.zeros((p.N_INPUT, N_E)))
        self.model.exc.v = p.V_REST_E
        self.model.inh.v = p.V_REST_I
        self.model.input.rate = 0 * Hz
        self.pre = SpikeMonitor(self.model.input)
        self.post = SpikeMonitor(self.model.exc)
        self.net = Network(self.model.objects, self.pre, self.post)

    def wait(self, duration):
        self.net.run(duration, namespace={})

    def pre_spike(self):
        self.model.input.rate[0] = 1 / p.DT
        self.wait(p.DT)
        self.model.input.rate[0] = 0 * Hz

    def post_spike(self):
        self.model.exc.v[0] = 0 * mV
        self.wait(p.DT)

    @property
    def w(self):
        return float(self.model.input_exc.w[0])

    def pre_times(self):
        return self.pre.t[self.pre.i == 0] / second

    def post_times(self):
        return self.post.t[self.post.i == 0] / second


RULES = ["neuron_traces", "synaptic_traces"]


@pytest.mark.parametrize("stdp", RULES)
def test_pre_after_post_depresses_by_nu_pre_times_post1(stdp):
    bench = Bench(stdp)
    bench.post_spike()
    bench.wait(10 * ms)
    bench.pre_spike()
    (t_post,), (t_pre,) = bench.post_times(), bench.pre_times()
    expected = W0 - p.NU_PRE * np.exp(-(t_pre - t_post) / float(p.TAU_POST1))
    assert bench.w < W0
    assert bench.w == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("stdp", RULES)
def test_post_after_pre_potentiates_by_nu_post_times_pre_times_post2_before(stdp):
    bench = Bench(stdp)
    bench.post_spike()               # gives post2 a value before the pairing
    bench.wait(5 * ms)
    bench.pre_spike()
    bench.wait(8 * ms)
    bench.post_spike()
    (t_post1, t_post2), (t_pre,) = bench.post_times(), bench.pre_times()
    depression = p.NU_PRE * np.exp(-(t_pre - t_post1) / float(p.TAU_POST1))
    potentiation = (p.NU_POST * np.exp(-(t_post2 - t_pre) / float(p.TAU_PRE))
                    * np.exp(-(t_post2 - t_post1) / float(p.TAU_POST2)))
    assert potentiation > 10 * depression
    assert bench.w == pytest.approx(W0 - depression + potentiation, rel=1e-12)


@pytest.mark.parametrize("stdp", RULES)
def test_first_post_spike_does_not_potentiate(stdp):
    """post2 before the first post spike is 0, so that spike leaves w unchanged."""
    bench = Bench(stdp)
    bench.pre_spike()
    bench.wait(3 * ms)
    bench.post_spike()
    assert len(bench.post_times()) == 1
    assert bench.w == W0


@pytest.mark.parametrize("stdp", RULES)
def test_weights_are_clipped_to_zero_and_one(stdp):
    low = Bench(stdp, w0=0.00001)
    low.post_spike()
    low.pre_spike()
    assert low.w == 0.0
    high = Bench(stdp, w0=0.999)
    high.post_spike()
    high.wait(6 * ms)       # past the refractory period
    high.pre_spike()
    high.wait(1 * ms)
    high.post_spike()       # potentiates by about 0.008: more than the room left
    assert len(high.post_times()) == 2
    assert high.w == 1.0


def test_theta_rises_by_theta_plus_per_spike_while_learning():
    bench = Bench(learning=True)
    before = float(bench.model.exc.theta[0] / volt)
    bench.post_spike()
    bench.wait(20 * ms)
    bench.post_spike()
    assert len(bench.post_times()) == 2
    decay = np.exp(-float((bench.net.t) / p.TAU_THETA))
    expected = before + 2 * float(p.THETA_PLUS)
    assert float(bench.model.exc.theta[0] / volt) == pytest.approx(expected, rel=1e-5)
    assert float(bench.model.exc.theta[1] / volt) == pytest.approx(before * decay, rel=1e-9)


def test_theta_is_frozen_without_learning():
    bench = Bench(learning=False)
    before = np.array(bench.model.exc.theta[:] / volt)
    bench.post_spike()
    bench.wait(20 * ms)
    bench.post_spike()
    assert len(bench.post_times()) == 2
    assert np.array_equal(bench.model.exc.theta[:] / volt, before)


def test_frozen_weights_do_not_change():
    bench = Bench(learning=False)
    bench.post_spike()
    bench.pre_spike()
    bench.wait(2 * ms)
    bench.post_spike()
    assert bench.w == W0


def test_threshold_is_v_thresh_minus_offset_plus_theta():
    bench = Bench(learning=False)
    bench.model.exc.theta[0] = 25 * mV       # threshold -52 - 20 + 25 = -47 mV
    bench.model.exc.v[0] = -48 * mV
    bench.wait(p.DT)
    assert len(bench.post_times()) == 0
    bench.model.exc.v[0] = -46.9 * mV
    bench.wait(p.DT)
    assert len(bench.post_times()) == 1


def test_lateral_inhibition_spares_the_spiking_neuron():
    """exc 0 spikes -> inh 0 spikes -> g_i rises in every exc neuron but 0."""
    bench = Bench(learning=False)
    bench.post_spike()
    bench.wait(2 * ms)
    gi = np.asarray(bench.model.exc.gi[:])
    assert gi[0] == 0 and np.all(gi[1:] > 0)


def test_refractory_period_limits_firing_to_one_spike_per_5_ms():
    bench = Bench(learning=False)
    bench.model.exc.theta[0] = -100 * mV      # always above threshold
    bench.wait(50 * ms)
    intervals = np.diff(bench.post_times())
    assert len(intervals) > 5 and intervals.min() >= float(p.REFRACTORY_E) - 1e-9
    assert intervals.max() < float(p.REFRACTORY_E) + 2 * float(p.DT)


def test_conductances_decay_by_the_released_codes_euler_factor_per_step():
    """g_e and g_i shrink by (1 - dt/tau) per step, as forward Euler makes them in
    the released code, whatever integrator v uses."""
    bench = Bench(learning=False)
    bench.model.exc.ge[1] = 1.0
    bench.model.exc.gi[1] = 1.0
    bench.wait(p.DT)
    assert float(bench.model.exc.ge[1]) == pytest.approx(1 - float(p.DT / p.TAU_GE), rel=1e-9)
    assert float(bench.model.exc.gi[1]) == pytest.approx(1 - float(p.DT / p.TAU_GI), rel=1e-9)


def test_a_volley_of_inhibition_does_not_make_v_diverge():
    """30 inhibitory spikes at once (g_i = 510): forward Euler would swing v to
    about -150 mV then +300 mV; the excitatory v must stay between E_inh and rest."""
    bench = Bench(learning=False)
    bench.model.exc.gi[1] = 30 * p.W_INH_EXC
    for _ in range(10):
        bench.wait(p.DT)
        v = float(bench.model.exc.v[1] / mV)
        assert float(p.E_INH_E / mV) - 1e-9 <= v <= float(p.V_REST_E / mV) + 1e-9
    assert len(bench.post_times()) == 0
