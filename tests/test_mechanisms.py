"""Each mechanism of the model on tiny hand-made inputs, with the expected number.

Spikes are forced by hand: an input neuron fires at every step while its rate is
1/dt, and an excitatory neuron fires at the next step once its v is set above
threshold. Only synapse (input 0 -> exc 0) is non-zero, with no delay. The
learning rules are checked against the paper's formulas written here in numpy.
"""
import numpy as np
import pytest
from brian2 import Hz, Network, SpikeMonitor, mV, ms, second, volt

from diehl_cook import parameters as p
from diehl_cook.errors import SettingsError
from diehl_cook.network import normalize_weights
from diehl_cook.protocol import next_cycle

from conftest import quiet_model

N_E = 3
W0 = 0.5


pytestmark = pytest.mark.usefixtures("numpy_target")   # tiny runs: no compiling


class Bench:
    """The network with one live synapse, and helpers to force spikes."""

    def __init__(self, rule="triplet", learning=True, w0=W0):
        weights = np.zeros((p.N_INPUT, N_E))
        weights[0, 0] = w0
        self.model = quiet_model(N_E, learning, weights, rule=rule)
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


def test_next_cycle_rules():
    assert next_cycle(p.MIN_SPIKES, 5, 3) == (True, p.INTENSITY_START, 1)
    assert next_cycle(p.MIN_SPIKES - 1, 2, 1) == (False, 2 + p.INTENSITY_STEP, 2)


def test_normalization_makes_every_column_sum_to_78():
    weights = np.random.default_rng(0).random((784, 5))
    assert np.allclose(normalize_weights(weights).sum(axis=0), 78.0, rtol=1e-12)


# --- The triplet rule (released code) -------------------------------------------
def test_pre_after_post_depresses_by_eta_pre_times_post1():
    bench = Bench("triplet")
    bench.post_spike()
    bench.wait(10 * ms)
    bench.pre_spike()
    (t_post,), (t_pre,) = bench.post_times(), bench.pre_times()
    expected = W0 - p.ETA_PRE * np.exp(-(t_pre - t_post) / float(p.TAU_POST1))
    assert bench.w < W0
    assert bench.w == pytest.approx(expected, rel=1e-12)


def test_post_after_pre_potentiates_by_eta_post_times_pre_times_post2_before():
    bench = Bench("triplet")
    bench.post_spike()               # gives post2 a value before the pairing
    bench.wait(5 * ms)
    bench.pre_spike()
    bench.wait(8 * ms)
    bench.post_spike()
    (t_post1, t_post2), (t_pre,) = bench.post_times(), bench.pre_times()
    depression = p.ETA_PRE * np.exp(-(t_pre - t_post1) / float(p.TAU_POST1))
    potentiation = (p.ETA_POST * np.exp(-(t_post2 - t_pre) / float(p.TAU_PRE))
                    * np.exp(-(t_post2 - t_post1) / float(p.TAU_POST2)))
    assert potentiation > 10 * depression
    assert bench.w == pytest.approx(W0 - depression + potentiation, rel=1e-12)


def test_first_post_spike_does_not_potentiate():
    """post2 before the first post spike is 0, so that spike leaves w unchanged."""
    bench = Bench("triplet")
    bench.pre_spike()
    bench.wait(3 * ms)
    bench.post_spike()
    assert len(bench.post_times()) == 1
    assert bench.w == W0


def test_weights_are_clipped_to_zero_and_one():
    low = Bench("triplet", w0=0.00001)
    low.post_spike()
    low.pre_spike()
    assert low.w == 0.0
    high = Bench("triplet", w0=0.999)
    high.post_spike()
    high.wait(6 * ms)       # past the refractory period
    high.pre_spike()
    high.wait(1 * ms)
    high.post_spike()       # potentiates by about 0.008: more than the room left
    assert len(high.post_times()) == 2
    assert high.w == 1.0


# --- The paper's other three rules ------------------------------------------------
def x_pre(t_post, t_pre):
    """The presynaptic trace at t_post: set to 1 at t_pre, decays with tau_pre."""
    return np.exp(-(t_post - t_pre) / float(p.TAU_PRE))


def power_law(w, x, eta=None):
    """Paper, rule 1 (and rule 3 at a post spike): dw = eta (x_pre - x_tar)(w_max - w)^mu."""
    eta = p.ETA_POWER_LAW if eta is None else eta
    return eta * (x - p.X_TAR) * (p.W_MAX - w) ** p.MU


def pre_post_potentiation(w, x):
    """Rule 3 at a post spike: the power law's formula with the rule's own eta."""
    return power_law(w, x, eta=p.ETA_PRE_POST)


def exponential(w, x):
    """Paper, rule 2: dw = eta (x_pre exp(-beta w) - x_tar exp(-beta (w_max - w)))."""
    return p.ETA_POST * (x * np.exp(-p.BETA * w)
                         - p.X_TAR_EXPONENTIAL * np.exp(-p.BETA * (p.W_MAX - w)))


@pytest.fixture(params=[0.5, 1.0, 0.2], ids=["mu0.5", "mu1", "mu0.2"])
def mu(request, monkeypatch):
    """Ours (0.5), 1 (where network writes w**mu as w) and the released code's 0.2."""
    monkeypatch.setattr(p, "MU", request.param)
    return request.param


POST_SPIKE_RULES = {"power-law": power_law, "exponential": exponential, "pre-post": pre_post_potentiation}


def pre_then_post(rule, w0, gap):
    """A pre spike, then a post spike ``gap`` later; returns w and x_pre at the post spike."""
    bench = Bench(rule, w0=w0)
    bench.pre_spike()
    bench.wait(gap)
    bench.post_spike()
    (t_pre,), (t_post,) = bench.pre_times(), bench.post_times()
    return bench.w, x_pre(t_post, t_pre)


@pytest.mark.parametrize("rule", POST_SPIKE_RULES)
@pytest.mark.parametrize("gap", [5 * ms, 80 * ms])
@pytest.mark.parametrize("w0", [0.001, 0.999])
def test_post_after_pre_changes_w_by_the_papers_formula(rule, gap, w0, mu):
    """Near both bounds, with x_pre above x_tar at the post spike (pre 5 ms before)
    and below it (80 ms before: x_pre = e^-4 = 0.018). Under the power law the sign
    follows x_pre - x_tar whatever w: the weight rises, then falls."""
    w, x = pre_then_post(rule, w0, gap)
    assert w == pytest.approx(min(max(w0 + POST_SPIKE_RULES[rule](w0, x), 0), 1), rel=1e-12)
    if POST_SPIKE_RULES[rule] in (power_law, pre_post_potentiation):
        assert (x > p.X_TAR) == (gap == 5 * ms)
        assert np.sign(w - w0) == np.sign(x - p.X_TAR)


@pytest.mark.parametrize("rule", POST_SPIKE_RULES)
def test_a_pre_post_post_triplet_applies_the_formula_at_each_post_spike(rule):
    """Two post spikes after one pre spike: each applies the rule with x_pre and w as
    they are at that spike (the second sees the decayed trace and the new weight)."""
    bench = Bench(rule, w0=0.3)
    bench.pre_spike()
    bench.wait(4 * ms)
    bench.post_spike()
    bench.wait(10 * ms)     # past the refractory period
    bench.post_spike()
    (t_pre,), (t1, t2) = bench.pre_times(), bench.post_times()
    expected = 0.3 + POST_SPIKE_RULES[rule](0.3, x_pre(t1, t_pre))
    expected += POST_SPIKE_RULES[rule](expected, x_pre(t2, t_pre))
    assert bench.w == pytest.approx(expected, rel=1e-12)


def test_exponential_rule_pulls_weights_to_its_fixed_point():
    """dw = 0 where x_pre exp(-beta w) = x_tar exp(-beta (w_max - w)): below that
    weight a post spike potentiates, above it it depresses."""
    _, x = pre_then_post("exponential", 0.3, 5 * ms)
    fixed_point = 0.5 + np.log(x / p.X_TAR_EXPONENTIAL) / (2 * p.BETA)
    for w0 in (fixed_point - 0.1, fixed_point + 0.1):
        w, _ = pre_then_post("exponential", w0, 5 * ms)
        assert np.sign(w - w0) == np.sign(fixed_point - w0)


@pytest.mark.parametrize("rule, w0", [("power-law", 0.3), ("exponential", 0.3),
                                      ("pre-post", 0.00001)])
def test_post_without_any_pre_spike_depresses_by_x_tar(rule, w0):
    """x_pre = 0: every rule depresses, down to 0 at most."""
    bench = Bench(rule, w0=w0)
    bench.post_spike()
    assert bench.w == pytest.approx(max(w0 + POST_SPIKE_RULES[rule](w0, 0.0), 0), rel=1e-12)
    assert bench.w < w0
    if w0 < 1e-4:
        assert bench.w == 0.0


def test_power_law_changes_vanish_near_w_max(mu):
    """(w_max - w)^mu: at w = 0.999 the change is 0.001^mu of that at w = 0.001
    (0.25 with the released code's mu = 0.2, 0.032 with ours, 0.5; 0.001 with 1)."""
    low, _ = pre_then_post("power-law", 0.001, 5 * ms)
    high, _ = pre_then_post("power-law", 0.999, 5 * ms)
    ratio = (high - 0.999) / (low - 0.001)
    assert ratio == pytest.approx((0.001 / 0.999) ** p.MU, rel=1e-9)


@pytest.mark.parametrize("rule", ["power-law", "exponential"])
def test_a_presynaptic_spike_alone_changes_nothing(rule):
    bench = Bench(rule)
    bench.post_spike()
    before = bench.w
    bench.wait(5 * ms)
    bench.pre_spike()
    assert bench.w == before


@pytest.mark.parametrize("w0", [0.001, 0.999])
def test_pre_post_rule_depresses_on_a_pre_spike_by_eta_pre_x_post_w_mu(w0, mu):
    bench = Bench("pre-post", w0=w0)
    bench.post_spike()
    bench.model.input_exc.w[0] = after_post = w0     # undo the post spike's own change
    bench.wait(10 * ms)
    bench.pre_spike()
    (t_post,), (t_pre,) = bench.post_times(), bench.pre_times()
    x_post = np.exp(-(t_pre - t_post) / float(p.TAU_POST1))
    change = -p.ETA_PRE * x_post * after_post ** p.MU
    assert change < 0
    assert bench.w == pytest.approx(after_post + change, rel=1e-12)


@pytest.mark.parametrize("trace", ["set", "add"])
def test_the_pre_trace_is_set_to_1_or_increased_by_1_at_each_arrival(monkeypatch, trace):
    """Two arrivals 1 ms apart, then a post spike: x_pre is 1 after the last one
    (released code) or the sum of both decayed arrivals, above 1 (PRE_TRACE = "add",
    the paper's words); the power law reads it at the post spike."""
    monkeypatch.setattr(p, "PRE_TRACE", trace)
    bench = Bench("power-law", w0=0.3)
    bench.pre_spike()
    bench.wait(1 * ms)
    bench.pre_spike()
    bench.wait(3 * ms)
    bench.post_spike()
    (t_first, t_last), (t_post,) = bench.pre_times(), bench.post_times()
    x = x_pre(t_post, t_last) + (x_pre(t_post, t_first) if trace == "add" else 0.0)
    assert (x > 1) == (trace == "add")
    assert bench.w == pytest.approx(0.3 + power_law(0.3, x), rel=1e-12)


def test_an_unknown_pre_trace_is_refused(monkeypatch):
    monkeypatch.setattr(p, "PRE_TRACE", "double")
    with pytest.raises(SettingsError, match="PRE_TRACE"):
        Bench("power-law")


def test_a_weight_above_w_max_is_clipped_not_nan():
    """Normalization can lift a weight above w_max; the power law's (w_max - w)^mu
    is then taken as 0 and the weight clipped to w_max at the next post spike."""
    bench = Bench("power-law", w0=1.2)
    bench.pre_spike()
    bench.post_spike()
    assert bench.w == 1.0


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
