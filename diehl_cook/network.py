"""The Brian 2 network of Diehl & Cook (2015).

Three populations: 784 Poisson inputs, N_e excitatory neurons with an adaptive
threshold, and N_e inhibitory neurons. Input -> excitatory synapses are all-to-all
and plastic (STDP); excitatory neuron k drives inhibitory neuron k (one-to-one),
which inhibits every excitatory neuron except k (lateral inhibition).

``build_network`` only builds the groups and synapses; how images are shown (the
protocol) is added by ``diehl_cook.simulation``. All constants come from
``diehl_cook.parameters``.
"""
from dataclasses import asdict, dataclass

import numpy as np
from brian2 import NeuronGroup, Synapses, second, volt

from . import parameters as p

# tau_m dv/dt = (v_rest - v) + g_e (E_exc - v) + g_i (E_inh - v), as in the paper.
# The conductances decay with time constants tau_ge_e, tau_gi_e: see euler_decay_tau.
EXC_EQUATIONS = """
dv/dt = ((v_rest_e - v) + ge * (e_exc_e - v) + gi * (e_inh_e - v)) / tau_e : volt (unless refractory)
dge/dt = -ge / tau_ge_e : 1
dgi/dt = -gi / tau_gi_e : 1
count : integer        # spikes since the protocol last reset it
incoming : 1           # sum of the input weights, computed by the protocol before normalizing
"""
# Adaptive threshold: theta grows by theta_plus per spike and slowly decays while
# learning (homeostasis); it is a fixed, stored parameter once the network is frozen.
THETA_LEARNING = "dtheta/dt = -theta / tau_theta : volt"
THETA_FROZEN = "theta : volt (constant)"
EXC_THRESHOLD = "v > v_thresh_e - theta_offset + theta"
EXC_RESET_LEARNING = "v = v_reset_e; theta += theta_plus; count += 1"
EXC_RESET_FROZEN = "v = v_reset_e; count += 1"

INH_EQUATIONS = """
dv/dt = ((v_rest_i - v) + ge * (e_exc_i - v) + gi * (e_inh_i - v)) / tau_i : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
"""

# STDP, the released code's nearest-spike rule: traces are SET to 1 at a spike.
# "synaptic_traces": the straightforward form, three event-driven traces per synapse.
STDP_TRACES = dict(
    model="""
    w : 1
    dpre/dt = -pre / tau_pre : 1 (event-driven)
    dpost1/dt = -post1 / tau_post1 : 1 (event-driven)
    dpost2/dt = -post2 / tau_post2 : 1 (event-driven)
    """,
    on_pre="""
    ge_post += w
    pre = 1
    w = clip(w - nu_pre * post1, 0, w_max)
    """,
    on_post="""
    w = clip(w + nu_post * pre * post2, 0, w_max)
    post1 = 1
    post2 = 1
    """,
)
# "neuron_traces": the same rule, cheaper. The post traces depend only on the
# postsynaptic neuron, so each excitatory neuron keeps one pair (post1, post2),
# decayed by a constant factor every time step and set to 1 in its reset; the
# reset comes after the synaptic updates of the same step, so on_post still sees
# post2 from before the spike. The pre trace is set to 1 at each arrival, so its
# value is exp(-(time since the last arrival) / tau_pre): each synapse stores its
# last arrival time and computes the trace only on a post spike. This removes the
# three exp() per synaptic event of the form above.
STDP_NEURON_TRACES = dict(
    model="""
    w : 1
    t_arrival : second
    """,
    on_pre="""
    ge_post += w
    t_arrival = t
    w = clip(w - nu_pre * post1_post, 0, w_max)
    """,
    on_post="""
    w = clip(w + nu_post * exp((t_arrival - t) / tau_pre) * post2_post, 0, w_max)
    """,
)
# The per-neuron traces of "neuron_traces" (added to the excitatory neurons).
POST_TRACES = """
post1 : 1
post2 : 1
"""
POST_TRACES_DECAY = "post1 *= post1_decay; post2 *= post2_decay"
POST_TRACES_RESET = "; post1 = 1; post2 = 1"
STDP_RULES = {"synaptic_traces": STDP_TRACES, "neuron_traces": STDP_NEURON_TRACES}
STATIC_INPUT = dict(model="w : 1", on_pre="ge_post += w")

NEVER = -1e4 * second   # "no arrival yet": the pre trace computed from it is exactly 0


def euler_decay_tau(tau, method):
    """The time constant to use for a decay -x/tau integrated with ``method`` so that
    x shrinks by the forward-Euler factor (1 - DT/tau) per step, as in the released
    code: tau itself for "euler"; -DT / log(1 - DT/tau) for an exact integrator
    (0.72 ms instead of 1 ms for g_e, 1.74 ms instead of 2 ms for g_i)."""
    if method == "euler":
        return tau
    return -p.DT / np.log(1 - float(p.DT / tau))


def model_namespace():
    """The constants the equation strings refer to, taken from ``parameters``."""
    return dict(
        tau_ge_e=euler_decay_tau(p.TAU_GE, p.INTEGRATION_METHOD_E),
        tau_gi_e=euler_decay_tau(p.TAU_GI, p.INTEGRATION_METHOD_E),
        v_rest_e=p.V_REST_E, v_reset_e=p.V_RESET_E, v_thresh_e=p.V_THRESH_E,
        theta_offset=p.THETA_OFFSET, theta_plus=p.THETA_PLUS, tau_theta=p.TAU_THETA,
        e_exc_e=p.E_EXC_E, e_inh_e=p.E_INH_E, tau_e=p.TAU_E,
        v_rest_i=p.V_REST_I, v_reset_i=p.V_RESET_I, v_thresh_i=p.V_THRESH_I,
        e_exc_i=p.E_EXC_I, e_inh_i=p.E_INH_I, tau_i=p.TAU_I,
        tau_ge=p.TAU_GE, tau_gi=p.TAU_GI,
        tau_pre=p.TAU_PRE, tau_post1=p.TAU_POST1, tau_post2=p.TAU_POST2,
        post1_decay=np.exp(-p.DT / p.TAU_POST1), post2_decay=np.exp(-p.DT / p.TAU_POST2),
        nu_pre=p.NU_PRE, nu_post=p.NU_POST, w_max=p.W_MAX,
        w_exc_inh=p.W_EXC_INH, w_inh_exc=p.W_INH_EXC, weight_sum=p.WEIGHT_SUM,
    )


@dataclass(frozen=True)
class Mechanisms:
    """Which of the model's three competition mechanisms are on. The model is all
    three; switching one off is an ablation (docs/tutorial.md shows what each is for).

    lateral_inhibition : inhibitory neuron k inhibits every other excitatory neuron
        (off: the inh -> exc weight is 0).
    adaptive_threshold : theta grows by THETA_PLUS at each spike while learning
        (off: theta stays at its initial value).
    normalization : each neuron's input weights are scaled to sum to WEIGHT_SUM
        before every presentation (off: not scaled; applies to the engine).
    """
    lateral_inhibition: bool = True
    adaptive_threshold: bool = True
    normalization: bool = True

    @property
    def name(self):
        """"full" or e.g. "no_normalization" (used in build-directory names)."""
        off = [mechanism for mechanism, on in asdict(self).items() if not on]
        return "-".join("no_" + mechanism for mechanism in off) or "full"


FULL_MODEL = Mechanisms()


@dataclass
class Model:
    """The groups and synapses of one network, by name."""
    n_e: int
    learning: bool
    input: NeuronGroup
    exc: NeuronGroup
    inh: NeuronGroup
    input_exc: Synapses
    exc_inh: Synapses
    inh_exc: Synapses

    @property
    def objects(self):
        return [self.input, self.exc, self.inh, self.input_exc, self.exc_inh, self.inh_exc]


def input_pairs(n_e):
    """Pre and post indices of the all-to-all input -> exc synapses, in the row-major
    order of a (784, n_e) weight matrix: synapse k joins pixel k // n_e to neuron k % n_e."""
    return np.repeat(np.arange(p.N_INPUT), n_e), np.tile(np.arange(n_e), p.N_INPUT)


def build_network(n_e, learning, input_equations="rate : Hz", stdp="neuron_traces", *,
                  weights, delays, theta=None, mechanisms=FULL_MODEL):
    """Build the network with ``n_e`` excitatory and ``n_e`` inhibitory neurons.

    Parameters
    ----------
    n_e : int
        Number of excitatory (and of inhibitory) neurons.
    learning : bool
        True: STDP on the input weights and a plastic, decaying theta.
        False (frozen): static weights, theta a fixed parameter.
    input_equations : str
        Equations of the input group; they must define ``rate`` (in Hz). The default
        makes it a parameter that a Python loop sets; the fast engine replaces it with
        an expression of the image being shown.
    stdp : {"neuron_traces", "synaptic_traces"}
        Two equivalent formulations of the learning rule (see the module code).
    weights, delays : array (784, n_e)
        Input weights and delays (in seconds); ``initial_state`` draws the released
        code's initial ones.
    theta : array (n_e,), optional
        Adaptive threshold in volts (default: THETA_INIT for every neuron).
    mechanisms : Mechanisms
        The full model (default), or one with mechanisms switched off.
    """
    if n_e < 2:
        raise ValueError(f"n_e must be at least 2 (got {n_e}): lateral inhibition needs a rival.")
    namespace = model_namespace()
    if not mechanisms.lateral_inhibition:
        namespace["w_inh_exc"] = 0
    input_group = NeuronGroup(p.N_INPUT, input_equations, threshold="rate > 0*Hz and rand() < rate * dt",
                              name="input", namespace=namespace)

    neuron_traces = learning and stdp == "neuron_traces"
    adaptive = learning and mechanisms.adaptive_threshold
    exc_model = EXC_EQUATIONS + (THETA_LEARNING if adaptive else THETA_FROZEN)
    exc_reset = EXC_RESET_LEARNING if adaptive else EXC_RESET_FROZEN
    if neuron_traces:
        exc_model += POST_TRACES
        exc_reset += POST_TRACES_RESET
    exc = NeuronGroup(n_e, exc_model, threshold=EXC_THRESHOLD, reset=exc_reset,
                      refractory=p.REFRACTORY_E, method=p.INTEGRATION_METHOD_E,
                      name="exc", namespace=namespace)
    exc.v = p.V_REST_E + p.V_INIT_OFFSET
    if neuron_traces:
        exc.run_regularly(POST_TRACES_DECAY, dt=p.DT, when="start", name="post_traces_decay")
    exc.theta = p.THETA_INIT if theta is None else np.asarray(theta, dtype=float) * volt

    inh = NeuronGroup(n_e, INH_EQUATIONS, threshold="v > v_thresh_i", reset="v = v_reset_i",
                      refractory=p.REFRACTORY_I, method=p.INTEGRATION_METHOD_I,
                      name="inh", namespace=namespace)
    inh.v = p.V_REST_I + p.V_INIT_OFFSET

    rule = STDP_RULES[stdp] if learning else STATIC_INPUT
    input_exc = Synapses(input_group, exc, name="input_exc", namespace=namespace, **rule)
    pre, post = input_pairs(n_e)
    input_exc.connect(i=pre, j=post)
    input_exc.w = np.asarray(weights, dtype=float).ravel()
    input_exc.delay = np.asarray(delays, dtype=float).ravel() * second
    if neuron_traces:
        input_exc.t_arrival = NEVER

    exc_inh = Synapses(exc, inh, on_pre="ge_post += w_exc_inh", name="exc_inh", namespace=namespace)
    exc_inh.connect(j="i")          # one-to-one: excitatory k drives inhibitory k
    inh_exc = Synapses(inh, exc, on_pre="gi_post += w_inh_exc", name="inh_exc", namespace=namespace)
    inh_exc.connect("i != j")       # all but self: inhibitory k inhibits every other neuron
    return Model(n_e, learning, input_group, exc, inh, input_exc, exc_inh, inh_exc)


def initial_state(n_e, rng):
    """The released code's random initial weights and delays, from ``rng``.

    Returns (weights, delays): both (784, n_e); delays in seconds."""
    weights = (rng.random((p.N_INPUT, n_e)) + p.W_INIT_OFFSET) * p.W_INIT_SCALE
    delays = rng.random((p.N_INPUT, n_e)) * float(p.DELAY_INPUT_MAX)
    return weights, delays


def normalize_weights(weights):
    """Scale each neuron's (column's) input weights to sum to WEIGHT_SUM."""
    # Same operations, in the same order, as the engine's run_regularly code, so both
    # give bit-identical results (numpy sums axis 0 row after row, like the engine).
    return weights * p.WEIGHT_SUM / weights.sum(axis=0, keepdims=True)
