"""Every constant of the model and of the protocol, in one place.

Edit this module to change the model. Each value says where it comes from:
"paper" is Diehl & Cook (2015), Front. Comput. Neurosci. 9:99; "code" is the
authors' released Brian 1 code (peter-u-diehl/stdp-mnist), which fixes what the
paper leaves open. The scripts override only the common run settings
(number of excitatory neurons, seed, number of examples, epochs).
"""
from brian2 import Hz, ms, mV

# --- Network size -----------------------------------------------------------
N_INPUT = 784                   # paper: one Poisson input per MNIST pixel (28 x 28)
N_E_DEFAULT = 400               # paper: 100, 400, 1600 or 6400 excitatory neurons
# The inhibitory layer always has as many neurons as the excitatory one (paper).

# --- Simulation -------------------------------------------------------------
DT = 0.5 * ms                   # code: integration time step
# The released code integrates every neuron with forward Euler (Brian 1's default for
# these nonlinear equations). For the excitatory v that diverges when a volley of
# inhibitory spikes makes g_i * DT / TAU_E > 2 (about 24 or more inhibitory spikes in
# one step): v swings to +-volts and every neuron fires at the refractory limit, for
# good (seen in our first 400-neuron training, at image 1963).
# ours: v is integrated with exponential Euler, exact for given conductances and
# always stable; away from such volleys it agrees with Euler to ~1e-5. The
# conductances keep the released code's Euler decay per step (see network.py).
# Set "euler" to integrate exactly as the released code does (docs/model.md, "Differences").
INTEGRATION_METHOD_E = "exponential_euler"
# code: inhibitory neurons receive no inhibition and at most a few excitatory spikes
# per step, where forward Euler is stable, so they keep the released code's Euler.
INTEGRATION_METHOD_I = "euler"

# --- Excitatory neurons (conductance-based LIF with adaptive threshold) -----
TAU_E = 100 * ms                # paper/code: membrane time constant
V_REST_E = -65 * mV             # paper/code: resting potential
V_RESET_E = -65 * mV            # paper/code: reset potential
V_THRESH_E = -52 * mV           # paper/code: threshold before adaptation
THETA_OFFSET = 20 * mV          # code: threshold is v_thresh - offset + theta
THETA_INIT = 20 * mV            # code: initial theta, so the threshold starts at -52 mV
REFRACTORY_E = 5 * ms           # paper/code: refractory period
E_EXC_E = 0 * mV                # paper/code: excitatory reversal potential
E_INH_E = -100 * mV             # paper/code: inhibitory reversal potential
V_INIT_OFFSET = -40 * mV        # code: neurons start at v_rest - 40 mV
THETA_PLUS = 0.05 * mV          # code (400 neurons): theta increment per spike (training only); per size: SIZES
TAU_THETA = 1e7 * ms            # paper/code: theta decay time constant (training only)

# --- Inhibitory neurons ------------------------------------------------------
TAU_I = 10 * ms                 # paper/code
V_REST_I = -60 * mV             # paper/code
V_RESET_I = -45 * mV            # paper/code
V_THRESH_I = -40 * mV           # paper/code
REFRACTORY_I = 2 * ms           # paper/code
E_EXC_I = 0 * mV                # paper/code
E_INH_I = -85 * mV              # paper/code

# --- Synapses ----------------------------------------------------------------
TAU_GE = 1 * ms                 # paper/code: excitatory conductance decay
TAU_GI = 2 * ms                 # paper/code: inhibitory conductance decay
W_EXC_INH = 10.4                # code: exc k -> inh k (one-to-one)
W_INH_EXC = 17.0                # code (400 neurons): inh k -> every exc neuron but k; per size: SIZES
DELAY_INPUT_MAX = 10 * ms       # code: input -> exc delays uniform in [0, 10) ms
W_INIT_SCALE = 0.3              # code: initial input weights (U[0,1) + 0.01) * 0.3
W_INIT_OFFSET = 0.01            # code

# --- Learning rule on input -> exc (paper, Section 2.3 and Fig. 2B) ----------
# The paper describes four rules; its table of accuracies was made with the
# power-law rule, the released code implements the triplet rule. See
# network.LEARNING_RULES for their equations.
LEARNING_RULES = ("power-law", "exponential", "pre-post", "triplet")
# The default is the released code's triplet rule (the results table's rows). With
# the released code's x_tar and mu the power-law rule learned clearly worse (N_e = 400,
# one pass: 80.71% against 88.84%); with X_TAR and MU below, the four rules lie within
# 1.5 points (power law 88.17%, pre-post 87.42%, exponential 87.60%; docs/learning-rules.md,
# "Learning rules").
LEARNING_RULE = "triplet"
TAU_PRE = 20 * ms               # code: presynaptic trace x_pre
# code: x_pre is set to 1 at each arrival ("set"); the paper says it is "increased by
# 1" ("add": it then sums the decayed arrivals and can exceed 1).
PRE_TRACE = "set"
TAU_POST1 = 20 * ms             # code: postsynaptic trace post1 (x_post of the pre-post rule)
TAU_POST2 = 40 * ms             # code: postsynaptic trace post2 (triplet rule)
ETA_PRE = 0.0001                # code (nu_ee_pre): learning rate on a presynaptic spike
ETA_POST = 0.01                 # code (nu_ee_post): learning rate on a postsynaptic spike (triplet, exponential)
# ours: eta of the power law. The released code's 0.01 wipes a field's background in a
# few winning images (docs/learning-rules.md). 0.003 was chosen with X_TAR and MU by a
# joint search on held-out training images (N_e = 100, 40,000 images: 84.16%, against
# 83.26% with the earlier 0.001) and confirmed at N_e = 400 (docs/learning-rules.md,
# "Searching the power law's settings").
ETA_POWER_LAW = 0.003
# ours: eta of the pre-and-post rule's post-spike term (the power law's form). It keeps
# the power law's earlier 0.001, the value the four rules were compared with; the joint
# search above was of the power law alone.
ETA_PRE_POST = 0.001
# mu, the weight-dependence exponent of the power law (and of both terms of the
# pre-and-post rule): the released code defines 0.2 (exp_ee_pre) without using it.
# Ours: 0.5, chosen with X_TAR (below) on held-out training images by the selection
# rule of docs/learning-rules.md (N_e = 100, 10,000 images: 81.28%, against 80.73% with 1.0, 80.55%
# with 2.0 and 79.10% with the released 0.2; docs/learning-rules.md, "Searching the power law's settings").
MU = 0.5
# x_tar, the target of x_pre at a post spike: the released code defines 0.4
# (STDP_offset) without using it. Ours for the power law (and the pre-and-post rule's
# post-spike term): 0.05, chosen on held-out training images (N_e = 100, 10,000
# images, mu 1.0: 80.73%, against 75.05% with the released code's 0.4 and 0.2; the
# triplet rule 80.75%; docs/learning-rules.md, "Searching the power law's settings").
X_TAR = 0.05
X_TAR_EXPONENTIAL = 0.4         # code (STDP_offset): x_tar of the exponential rule (BETA was chosen with it)
BETA = 8.0                      # ours: exponential rule's weight dependence (unpublished; chosen by a sweep, see docs/learning-rules.md)
W_MAX = 1.0                     # code: weights are clipped to [0, W_MAX]

# --- Protocol ----------------------------------------------------------------
PRESENTATION_TIME = 350 * ms    # paper/code: each image is shown for 350 ms
REST_TIME = 150 * ms            # paper/code: then all inputs are silent for 150 ms
INPUT_RATE_DIVISOR = 8.0        # code: rate = pixel / 8 * intensity (Hz)
INTENSITY_START = 2             # code: so the maximum rate is 255 / 4 = 63.75 Hz
INTENSITY_STEP = 1              # code: intensity increment on a retry
MIN_SPIKES = 5                  # code: fewer excitatory spikes than this -> retry
# ours: an image shown this often without MIN_SPIKES is an error (the released code
# loops for ever). At the last try the intensity is 65: pixels of 255 fire at about
# 2 kHz, i.e. at every 0.5 ms step, so the strongest inputs can rise no further.
MAX_PRESENTATIONS = 64
WEIGHT_SUM = 78.0               # paper/code: each neuron's input weights are scaled to sum to this
UPDATE_INTERVAL = 10000         # code: running accuracy estimate every 10,000 training examples
N_CLASSES = 10                  # MNIST digits

# --- Per size: the paper's protocol (Section 3) --------------------------------
# The paper trained 100 neurons on 40,000 examples, 400 for 3 passes over the 60,000
# training images, 1600 for 7 and 6400 for 15, and adapted two values per size "to
# keep a constant response rate": theta_plus and the inh -> exc weight (values not
# published). Ours are found by scripts/calibrate.py, which matches each size's
# response while training to the 400-neuron network's (docs/results.md, "Per-size values:
# the calibration"): 100 neurons, 0.025 mV and 17; 1600 neurons, 0.1 mV and 17 (the
# 2,000-image calibration chose 0.2 mV, the 10,000-image one 0.1 mV; both networks
# were trained and docs/results.md says how the row was chosen).
# 6400 neurons, 0.4 mV and 17: the calibration's choice on 2,000 images (docs/scaling.md).
# ``python scripts/train.py --n-e N`` follows this table; its flags override it. A
# size not listed uses THETA_PLUS, W_INH_EXC and one pass.
SIZES = {
    100: dict(theta_plus=0.025 * mV, w_inh_exc=17.0, examples=40000, epochs=1),
    400: dict(theta_plus=THETA_PLUS, w_inh_exc=W_INH_EXC, examples=60000, epochs=3),
    1600: dict(theta_plus=0.1 * mV, w_inh_exc=17.0, examples=60000, epochs=7),
    6400: dict(theta_plus=0.4 * mV, w_inh_exc=17.0, examples=60000, epochs=15),
}

PIXEL_RATE_UNIT = Hz            # a pixel value p gives p / INPUT_RATE_DIVISOR * intensity Hz
