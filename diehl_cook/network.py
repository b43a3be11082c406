"""The Brian 2 network of Diehl & Cook (2015).

Three populations: 784 Poisson inputs, N_e excitatory neurons with an adaptive
threshold, and N_e inhibitory neurons. Input -> excitatory synapses are all-to-all
and plastic (STDP); excitatory neuron k drives inhibitory neuron k (one-to-one),
which inhibits every excitatory neuron except k (lateral inhibition).

``build_network`` only builds the groups and synapses; how images are shown (the
protocol) is added by ``diehl_cook.engine``. All constants come from
``diehl_cook.parameters``. A ``TrainedNetwork`` holds what a network is made of
between runs: weights, theta, seed (which fixes the input delays), rule, classes.
"""
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from brian2 import NeuronGroup, Synapses, second, volt

from . import parameters as p
from .errors import SettingsError
from .settings import size_protocol

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
# theta_plus depends on the network's size (parameters.SIZES): a parameter of the
# group, so one compiled program serves any value.
THETA_LEARNING = """
dtheta/dt = -theta / tau_theta : volt
theta_plus : volt (shared, constant)
"""
THETA_FROZEN = "theta : volt (constant)"
EXC_THRESHOLD = "v > v_thresh_e - theta_offset + theta"
EXC_RESET_LEARNING = "v = v_reset_e; theta += theta_plus; count += 1"
EXC_RESET_FROZEN = "v = v_reset_e; count += 1"

INH_EQUATIONS = """
dv/dt = ((v_rest_i - v) + ge * (e_exc_i - v) + gi * (e_inh_i - v)) / tau_i : volt (unless refractory)
dge/dt = -ge / tau_ge : 1
dgi/dt = -gi / tau_gi : 1
"""

# --- Learning rules on the input -> exc synapses (paper, Section 2.3) --------
# Each rule is written with the paper's symbols; w stays in [0, w_max].
# x_pre (``pre`` here: Brian reserves the suffix "_pre"), the presynaptic trace,
# is SET to 1 at each arrival (released code; the paper says "increased by 1", which
# PRE_TRACE = "add" chooses, below) and decays with tau_pre, so it equals exp(-(time since the last arrival) / tau_pre):
# each synapse stores its last arrival time and x_pre is computed only when a rule
# reads it (no exp() per arrival). The postsynaptic traces depend only on the
# postsynaptic neuron, so each excitatory neuron keeps one pair (post1, post2;
# x_post of the paper is post1), decayed by a constant factor every time step and
# set to 1 in its reset; the reset comes after the synaptic updates of the same
# step, so on_post still sees the traces from before the spike.
PLASTIC_SYNAPSE = """
w : 1
t_arrival : second
pre = exp((t_arrival - t) / tau_pre) : 1      # the paper's x_pre
"""
ARRIVAL = """
ge_post += w
t_arrival = t
"""
# PRE_TRACE = "add": x_pre is "increased by 1" at each arrival (the paper's words), so
# it sums the decayed arrivals and can exceed 1. Each synapse then also stores x_pre
# just after its last arrival (one exp() per arrival).
PLASTIC_SYNAPSE_ADDITIVE = """
w : 1
t_arrival : second
pre_after_arrival : 1
pre = pre_after_arrival * exp((t_arrival - t) / tau_pre) : 1      # the paper's x_pre
"""
ARRIVAL_ADDITIVE = """
ge_post += w
pre_after_arrival = pre + 1
t_arrival = t
"""
PRE_TRACES = {"set": (PLASTIC_SYNAPSE, ARRIVAL), "add": (PLASTIC_SYNAPSE_ADDITIVE, ARRIVAL_ADDITIVE)}

# The weight changes of the four rules (paper, Fig. 2B):
# power law, on a post spike: dw = eta (x_pre - x_tar) (w_max - w)^mu (eta: eta_power), with
# w_max - w taken as 0 for a weight that normalization lifted above w_max
POWER_LAW = "w = clip(w + eta_power * (pre - x_tar) * clip(w_max - w, 0, w_max)**mu, 0, w_max)"
# exponential, on a post spike: dw = eta (x_pre exp(-beta w) - x_tar exp(-beta (w_max - w)))
EXPONENTIAL = ("w = clip(w + eta_post * (pre * exp(-beta * w) "
               "- x_tar_exponential * exp(-beta * (w_max - w))), 0, w_max)")
# pre-and-post, on a pre spike: dw = -eta_pre x_post w^mu; on a post spike the power law's
# form with its own eta (eta_pre_post)
PRE_POST_DEPRESSION = "w = clip(w - eta_pre * post1_post * w**mu, 0, w_max)"
PRE_POST_POTENTIATION = POWER_LAW.replace("eta_power", "eta_pre_post")
# triplet (released code), on a pre spike: dw = -eta_pre x_post1; on a post spike:
# dw = eta_post x_pre x_post2, with x_post2 from before this spike
TRIPLET_DEPRESSION = "w = clip(w - eta_pre * post1_post, 0, w_max)"
TRIPLET_POTENTIATION = "w = clip(w + eta_post * pre * post2_post, 0, w_max)"


@dataclass(frozen=True)
class LearningRule:
    """What a rule does to w on a presynaptic and on a postsynaptic spike."""
    on_pre: str
    on_post: str
    post_traces: bool       # whether it reads the postsynaptic traces post1, post2


LEARNING_RULES = {
    "power-law": LearningRule("", POWER_LAW, post_traces=False),
    "exponential": LearningRule("", EXPONENTIAL, post_traces=False),
    "pre-post": LearningRule(PRE_POST_DEPRESSION, PRE_POST_POTENTIATION, post_traces=True),
    "triplet": LearningRule(TRIPLET_DEPRESSION, TRIPLET_POTENTIATION, post_traces=True),
}
assert tuple(LEARNING_RULES) == p.LEARNING_RULES


def plastic_synapse(rule):
    """Model and pathways of the plastic input synapse for one of LEARNING_RULES,
    with the presynaptic trace that parameters.PRE_TRACE names."""
    if rule not in LEARNING_RULES:
        raise SettingsError(f"unknown learning rule {rule!r}; choose one of "
                         f"{', '.join(LEARNING_RULES)}")
    if p.PRE_TRACE not in PRE_TRACES:
        raise SettingsError(f"parameters.PRE_TRACE must be one of {', '.join(PRE_TRACES)}, "
                            f"not {p.PRE_TRACE!r}")
    model, arrival = PRE_TRACES[p.PRE_TRACE]
    return dict(model=model, on_pre=arrival + _with_mu(LEARNING_RULES[rule].on_pre),
                on_post=_with_mu(LEARNING_RULES[rule].on_post))


def _with_mu(code):
    """``code`` with ``x**mu`` written as ``x`` when parameters.MU is 1: the same
    numbers (C's pow(x, 1) returns x exactly), without a pow() call per synaptic
    event in the pre-and-post rule's depression (glibc returns at once for an
    exponent of 1; other C libraries need not: docs/engine.md, "Speed")."""
    return code.replace("**mu", "") if p.MU == 1 else code


# The triplet rule in its textbook form, three event-driven traces per synapse
# (what most ports run): the same weights as the form above, at about three exp()
# per synaptic event. Used by the reference loop on request and by the tests.
TEXTBOOK_TRIPLET = dict(
    model="""
    w : 1
    dpre/dt = -pre / tau_pre : 1 (event-driven)
    dpost1/dt = -post1 / tau_post1 : 1 (event-driven)
    dpost2/dt = -post2 / tau_post2 : 1 (event-driven)
    """,
    on_pre="""
    ge_post += w
    pre = 1
    w = clip(w - eta_pre * post1, 0, w_max)
    """,
    on_post="""
    w = clip(w + eta_post * pre * post2, 0, w_max)
    post1 = 1
    post2 = 1
    """,
)
# The per-neuron postsynaptic traces (added to the excitatory neurons).
POST_TRACES = """
post1 : 1
post2 : 1
"""
POST_TRACES_DECAY = "post1 *= post1_decay; post2 *= post2_decay"
POST_TRACES_RESET = "; post1 = 1; post2 = 1"
STATIC_INPUT = dict(model="w : 1", on_pre="ge_post += w")
# Lateral inhibition; its weight depends on the network's size (parameters.SIZES).
INHIBITION = dict(model="w_inh_exc : 1 (shared, constant)", on_pre="gi_post += w_inh_exc")

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
        theta_offset=p.THETA_OFFSET, tau_theta=p.TAU_THETA,
        e_exc_e=p.E_EXC_E, e_inh_e=p.E_INH_E, tau_e=p.TAU_E,
        v_rest_i=p.V_REST_I, v_reset_i=p.V_RESET_I, v_thresh_i=p.V_THRESH_I,
        e_exc_i=p.E_EXC_I, e_inh_i=p.E_INH_I, tau_i=p.TAU_I,
        tau_ge=p.TAU_GE, tau_gi=p.TAU_GI,
        tau_pre=p.TAU_PRE, tau_post1=p.TAU_POST1, tau_post2=p.TAU_POST2,
        post1_decay=np.exp(-p.DT / p.TAU_POST1), post2_decay=np.exp(-p.DT / p.TAU_POST2),
        eta_pre=p.ETA_PRE, eta_post=p.ETA_POST, eta_power=p.ETA_POWER_LAW,
        eta_pre_post=p.ETA_PRE_POST, mu=p.MU, x_tar=p.X_TAR, beta=p.BETA,
        x_tar_exponential=p.X_TAR_EXPONENTIAL,
        w_max=p.W_MAX,
        w_exc_inh=p.W_EXC_INH, weight_sum=p.WEIGHT_SUM,
    )


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
    input_order: np.ndarray     # weight-matrix index (pixel * n_e + neuron) of each input synapse

    @property
    def objects(self):
        return [self.input, self.exc, self.inh, self.input_exc, self.exc_inh, self.inh_exc]

    def synapse_weights(self, weights):
        """A (784, n_e) weight matrix as the input synapses' ``w``, in their order."""
        return np.asarray(weights, dtype=float).ravel()[self.input_order]

    def input_weights(self):
        """The input synapses' ``w`` as a (784, n_e) weight matrix."""
        weights = np.empty(p.N_INPUT * self.n_e)
        weights[self.input_order] = self.input_exc.w[:]
        return weights.reshape(p.N_INPUT, self.n_e)


def delay_order(delays):
    """The flat indices (pixel * n_e + neuron) of the input synapses, each pixel's
    sorted by delay in time steps, then by neuron.

    Why: Brian's spike queue delivers, at each step, the synapses whose delay has
    just elapsed. Sorted this way, those of one input spike are a contiguous block
    of the synapse arrays instead of one synapse in every twenty, so each array is
    read from memory once per spike rather than at each of its 21 delay steps (at
    6,400 neurons the input synapses' arrays are over 100 MB, far more than the
    cache). The order changes no result: a neuron has one synapse per pixel, so its
    conductance still adds the pixels' weights in the order of their arrival, and
    the normalization still sums them pixel by pixel."""
    delays = np.asarray(delays, dtype=float)
    steps = np.floor(delays / float(p.DT) + 0.5)     # Brian's rounding of a delay to steps
    by_delay = np.argsort(steps, axis=1, kind="stable")
    return (np.arange(delays.shape[0])[:, None] * delays.shape[1] + by_delay).ravel()


def build_network(settings, network, delays=None, input_equations="rate : Hz",
                  textbook=False):
    """Build the network of ``settings.n_e`` excitatory and as many inhibitory neurons.

    Parameters
    ----------
    settings : RunSettings
        Size, phase (training: the learning rule on the input weights and a plastic,
        decaying theta; labelling or testing: static weights, theta a fixed
        parameter), learning rule and mechanisms.
    network : TrainedNetwork
        Its input weights (784, n_e), theta (volts), theta_plus and inh -> exc weight.
    delays : array (784, n_e), optional
        Input delays in seconds (default: the network's, drawn from its seed).
    input_equations : str
        Equations of the input group; they must define ``rate`` (in Hz). The default
        makes it a parameter that a Python loop sets; the fast engine replaces it with
        an expression of the image being shown.
    textbook : bool
        While training with the triplet rule: its textbook form (TEXTBOOK_TRIPLET).
    """
    namespace = model_namespace()
    input_group = NeuronGroup(p.N_INPUT, input_equations, name="input", namespace=namespace,
                              threshold="rate > 0*Hz and rand() < rate * dt")
    synapse, post_traces = _input_synapse(settings, textbook)
    exc = _excitatory_group(settings, namespace, post_traces, network)
    inh = NeuronGroup(settings.n_e, INH_EQUATIONS, threshold="v > v_thresh_i",
                      reset="v = v_reset_i", refractory=p.REFRACTORY_I,
                      method=p.INTEGRATION_METHOD_I, name="inh", namespace=namespace)
    inh.v = p.V_REST_I + p.V_INIT_OFFSET

    delays = network.delays if delays is None else delays
    order = delay_order(delays)
    input_exc = Synapses(input_group, exc, name="input_exc", namespace=namespace, **synapse)
    input_exc.connect(i=order // settings.n_e, j=order % settings.n_e)
    input_exc.w = np.asarray(network.weights, dtype=float).ravel()[order]
    input_exc.delay = np.asarray(delays, dtype=float).ravel()[order] * second
    if "t_arrival" in input_exc.variables:
        input_exc.t_arrival = NEVER
    exc_inh = Synapses(exc, inh, on_pre="ge_post += w_exc_inh", name="exc_inh", namespace=namespace)
    exc_inh.connect(j="i")          # one-to-one: excitatory k drives inhibitory k
    inh_exc = Synapses(inh, exc, name="inh_exc", namespace=namespace, **INHIBITION)
    inh_exc.connect("i != j")       # all but self: inhibitory k inhibits every other neuron
    inh_exc.w_inh_exc = inhibition_weight(settings, network)
    return Model(settings.n_e, settings.learning, input_group, exc, inh, input_exc, exc_inh,
                 inh_exc, order)


def inhibition_weight(settings, network):
    """The network's inh -> exc weight, or 0 when lateral inhibition is switched off."""
    return network.w_inh_exc if settings.mechanisms.lateral_inhibition else 0.0


def _input_synapse(settings, textbook):
    """The input synapse's equations, and whether it reads per-neuron post traces."""
    if not settings.learning:
        return STATIC_INPUT, False
    if textbook:
        if settings.rule != "triplet":
            raise SettingsError("the textbook form exists for the triplet rule only")
        return TEXTBOOK_TRIPLET, False
    return plastic_synapse(settings.rule), LEARNING_RULES[settings.rule].post_traces


def _excitatory_group(settings, namespace, post_traces, network):
    adaptive = settings.learning and settings.mechanisms.adaptive_threshold
    model = EXC_EQUATIONS + (THETA_LEARNING if adaptive else THETA_FROZEN)
    reset = EXC_RESET_LEARNING if adaptive else EXC_RESET_FROZEN
    if post_traces:
        model += POST_TRACES
        reset += POST_TRACES_RESET
    exc = NeuronGroup(settings.n_e, model, threshold=EXC_THRESHOLD, reset=reset,
                      refractory=p.REFRACTORY_E, method=p.INTEGRATION_METHOD_E,
                      name="exc", namespace=namespace)
    exc.v = p.V_REST_E + p.V_INIT_OFFSET
    if post_traces:
        exc.run_regularly(POST_TRACES_DECAY, dt=p.DT, when="start", name="post_traces_decay")
    exc.theta = np.asarray(network.theta, dtype=float) * volt
    if adaptive:
        exc.theta_plus = network.theta_plus * volt
    return exc


def initial_state(n_e, seed):
    """The released code's random initial weights and delays for a network of
    ``n_e`` neurons and ``seed``: weights (U[0,1) + 0.01) * 0.3 and delays
    U[0, 10) ms, both (784, n_e), delays in seconds. The delays stay fixed for the
    life of the network, so this is also where they come from after training."""
    rng = np.random.default_rng(seed)
    weights = (rng.random((p.N_INPUT, n_e)) + p.W_INIT_OFFSET) * p.W_INIT_SCALE
    delays = rng.random((p.N_INPUT, n_e)) * float(p.DELAY_INPUT_MAX)
    return weights, delays


def initial_theta(n_e):
    """Theta of an untrained network, in volts."""
    return np.full(n_e, float(p.THETA_INIT))


def normalize_weights(weights):
    """Scale each neuron's (column's) input weights to sum to WEIGHT_SUM."""
    # Same operations, in the same order, as the engine's run_regularly code, so both
    # give bit-identical results (numpy sums axis 0 row after row, like the engine).
    return weights * p.WEIGHT_SUM / weights.sum(axis=0, keepdims=True)


@dataclass
class TrainedNetwork:
    """A network between runs: what training learned and what labelling assigned.

    weights : (784, n_e) input weights; theta : (n_e,) adaptive thresholds (volts);
    seed : the training seed, which fixed the initial weights and the input delays;
    rule : the learning rule it was trained with; assignments : (n_e,) class of each
    neuron (-1: never fired), None before labelling; metadata : what the network
    folder records (see ``storage``); theta_plus (volts) and w_inh_exc : the per-size
    values it is trained and run with (None: its size's, ``settings.size_protocol``).
    """
    weights: np.ndarray
    theta: np.ndarray
    seed: int = 0
    rule: str = p.LEARNING_RULE
    assignments: np.ndarray = None
    metadata: dict = field(default_factory=dict)
    theta_plus: float = None
    w_inh_exc: float = None

    def __post_init__(self):
        size = size_protocol(self.n_e)
        self.theta_plus = float(size.theta_plus if self.theta_plus is None else self.theta_plus)
        self.w_inh_exc = float(size.w_inh_exc if self.w_inh_exc is None else self.w_inh_exc)

    @classmethod
    def untrained(cls, n_e, seed, rule=p.LEARNING_RULE, theta_plus=None, w_inh_exc=None):
        """The released code's initial network (per-size values: see the class)."""
        return cls(initial_state(n_e, seed)[0], initial_theta(n_e), seed, rule,
                   theta_plus=theta_plus, w_inh_exc=w_inh_exc)

    def learned(self, weights, theta):
        """This network with the weights and theta that a training run left."""
        return TrainedNetwork(weights, theta, self.seed, self.rule, theta_plus=self.theta_plus,
                              w_inh_exc=self.w_inh_exc)

    @property
    def n_e(self):
        return self.weights.shape[1]

    @cached_property
    def delays(self):
        """The input delays (784, n_e) in seconds, drawn from the seed."""
        return initial_state(self.n_e, self.seed)[1]
