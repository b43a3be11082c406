"""X versus O: a small pattern-recognition network of Izhikevich neurons and STDP.

A 5 x 5 binary image, an X or an O whose pixels may be flipped by noise, is
shown to 25 input neurons (one per pixel). They drive 5 hidden neurons that
compete through lateral inhibition, and the hidden neurons drive 2 output
neurons, one per class, which compete too. STDP learns both layers of weights.
During training a teacher current drives the output neuron of the correct class
from 10 ms after the pattern appears, so STDP binds the active hidden neurons to
that output. During testing there is no teacher and no plasticity; the output
neuron with more spikes is the answer and a tie is an error.

Run:  python examples/xo_patterns.py             (about two minutes; the first
      python examples/xo_patterns.py --help       run also compiles, ~2 minutes)

Every parameter is a named constant below, with the reason for its value.
"""
import argparse
import json
import os

import numpy as np
from brian2 import (Hz, Network, NeuronGroup, PoissonGroup, SpikeMonitor, Synapses,
                    TimedArray, defaultclock, mV, ms, prefs, second, volt)
from brian2 import seed as brian_seed

# --- Data ---------------------------------------------------------------------
SIDE = 5
CLASSES = ("X", "O")
X_TEMPLATE = np.array([[1, 0, 0, 0, 1],
                       [0, 1, 0, 1, 0],
                       [0, 0, 1, 0, 0],
                       [0, 1, 0, 1, 0],
                       [1, 0, 0, 0, 1]], dtype=bool)
O_TEMPLATE = np.array([[0, 1, 1, 1, 0],
                       [1, 0, 0, 0, 1],
                       [1, 0, 0, 0, 1],
                       [1, 0, 0, 0, 1],
                       [0, 1, 1, 1, 0]], dtype=bool)
TEMPLATES = np.stack([X_TEMPLATE, O_TEMPLATE])

# --- Input and presentation schedule ------------------------------------------
# An "on" pixel makes its input neuron fire as a Poisson process at INPUT_RATE,
# an "off" pixel keeps it silent. Rates and teacher are TimedArrays with one row
# per TIME_BIN, so the whole phase is a single run() and the code, not the user,
# switches the input from one trial to the next.
INPUT_RATE = 100 * Hz
WINDOW = 100 * ms          # one pattern is shown this long ...
REST = 50 * ms             # ... then no input, so v, u, currents and traces decay
TEACHER_DELAY = 10 * ms    # the teacher starts this long after the pattern appears
TEACHER_CURRENT = 30 * mV  # I_ext of the correct output: about 65 spikes/s on its own
TIME_BIN = 10 * ms         # resolution of the input and teacher schedules
DT = 0.5 * ms              # the step Izhikevich (2003) used for v

# --- Izhikevich neurons (regular spiking) ---------------------------------------
# dv/dt = 0.04 v^2 + 5 v + 140 - u + I with v in mV and t in ms, as in
# Izhikevich (2003); currents are therefore in mV (per ms).
IZHIKEVICH = dict(a=0.02, b=0.2, c=-65 * mV, d=8 * mV, v_peak=30 * mV)
N_INPUT, N_HIDDEN, N_OUTPUT = SIDE * SIDE, 5, 2
TAU_SYN = 5 * ms           # decay of the excitatory synaptic current
TAU_INH = 20 * ms          # decay of the inhibitory current: outlasts a winner's interspike interval
W_INHIBITION = 20 * mV     # every neuron of a layer inhibits all the others of its layer

# --- STDP -----------------------------------------------------------------------
# On a presynaptic spike:  w -= NU_PRE * post_trace * w_max   (post before pre: depression)
# On a postsynaptic spike: w += NU_POST * (pre_trace - X_TARGET) * w_max
#   (pre before post: potentiation; an input that stayed silent is depressed,
#   the "presynaptic offset" rule of Diehl & Cook 2015). Traces jump to 1 at a
#   spike and decay exponentially; w is clipped to [0, w_max].
TAU_PRE = TAU_POST = 20 * ms
NU_PRE, NU_POST, X_TARGET = 0.002, 0.05, 0.2
W_MAX_HIDDEN = 3 * mV      # with a learned pattern a hidden neuron fires a few spikes per window
W_MAX_OUTPUT = 15 * mV     # one hidden spike at w_max brings an output neuron to threshold
W_INIT = (0.3, 0.6)        # initial weights: uniform in this fraction of w_max

NEURON_EQUATIONS = """
dv/dt = (0.04*v**2/mV + 5*v + 140*mV - u + I_syn - I_inh + I_ext) / ms : volt
du/dt = a * (b*v - u) / ms : volt
dI_syn/dt = -I_syn / tau_syn : volt
dI_inh/dt = -I_inh / tau_inh : volt
"""
STDP_MODEL = """
w : volt
dpre_trace/dt = -pre_trace / tau_pre_trace : 1 (event-driven)
dpost_trace/dt = -post_trace / tau_post_trace : 1 (event-driven)
"""
STDP_ON_PRE = """
I_syn_post += w
pre_trace = 1
w = clip(w - nu_pre * post_trace * w_max, 0*mV, w_max)
"""
STDP_ON_POST = """
post_trace = 1
w = clip(w + nu_post * (pre_trace - x_target) * w_max, 0*mV, w_max)
"""


def noisy_patterns(labels, flip_probability, rng):
    """Templates of the given labels, each pixel flipped with the given probability.

    Returns a boolean array (trials, 25).
    """
    patterns = TEMPLATES[np.asarray(labels)].reshape(len(labels), N_INPUT)
    flips = rng.random(patterns.shape) < flip_probability
    return patterns ^ flips


def draw_trials(n_trials, flip_probability, rng):
    """Random labels (balanced in expectation) and their noisy patterns."""
    labels = rng.integers(0, len(CLASSES), n_trials)
    return labels, noisy_patterns(labels, flip_probability, rng)


def schedules(patterns, labels, teach):
    """Input rates and teacher current per TIME_BIN, one trial after another.

    Each trial is WINDOW of the pattern then REST of silence; the teacher
    drives output `label` from TEACHER_DELAY to the end of the window, and only
    if `teach` is true.
    """
    bins_window, bins_trial = int(WINDOW / TIME_BIN), int((WINDOW + REST) / TIME_BIN)
    bins_delay = int(TEACHER_DELAY / TIME_BIN)
    n_trials = len(patterns)
    rates = np.zeros((n_trials, bins_trial, N_INPUT))
    rates[:, :bins_window, :] = patterns[:, None, :] * float(INPUT_RATE)
    teacher = np.zeros((n_trials, bins_trial, N_OUTPUT))
    if teach:
        teacher[np.arange(n_trials), bins_delay:bins_window, labels] = float(TEACHER_CURRENT)
    return (TimedArray(rates.reshape(-1, N_INPUT) * Hz, dt=TIME_BIN),
            TimedArray(teacher.reshape(-1, N_OUTPUT) * volt, dt=TIME_BIN))


def build_network(stimulus, teacher, w_hidden, w_output, learning):
    """The three layers and their synapses; returns (Network, named parts).

    `w_hidden` (25, 5) and `w_output` (5, 2) are the initial weights in volt.
    Without `learning` the synapses only deliver spikes (no STDP).
    """
    namespace = dict(IZHIKEVICH, tau_syn=TAU_SYN, tau_inh=TAU_INH, w_inhibition=W_INHIBITION,
                     tau_pre_trace=TAU_PRE, tau_post_trace=TAU_POST, nu_pre=NU_PRE,
                     nu_post=NU_POST, x_target=X_TARGET, stimulus=stimulus, teacher=teacher)
    inputs = PoissonGroup(N_INPUT, rates="stimulus(t, i)", name="input", namespace=namespace)

    def izhikevich_group(n, external_current, name):
        group = NeuronGroup(n, NEURON_EQUATIONS + external_current, threshold="v >= v_peak",
                            reset="v = c; u += d", method="euler", name=name,
                            namespace=namespace)
        group.v = IZHIKEVICH["c"]
        group.u = IZHIKEVICH["b"] * IZHIKEVICH["c"]
        return group

    hidden = izhikevich_group(N_HIDDEN, "I_ext = 0*mV : volt", "hidden")
    output = izhikevich_group(N_OUTPUT, "I_ext = teacher(t, i) : volt", "output")

    def feedforward(source, target, weights, w_max, name):
        if learning:
            synapses = Synapses(source, target, STDP_MODEL, on_pre=STDP_ON_PRE,
                                on_post=STDP_ON_POST, name=name,
                                namespace=dict(namespace, w_max=w_max))
        else:
            synapses = Synapses(source, target, "w : volt", on_pre="I_syn_post += w", name=name)
        synapses.connect()
        synapses.w = weights.ravel() * volt  # connect() orders synapses by source, then target
        return synapses

    input_hidden = feedforward(inputs, hidden, w_hidden, W_MAX_HIDDEN, "input_hidden")
    hidden_output = feedforward(hidden, output, w_output, W_MAX_OUTPUT, "hidden_output")

    def lateral_inhibition(group):
        synapses = Synapses(group, group, on_pre="I_inh_post += w_inhibition",
                            name=f"{group.name}_inhibition", namespace=namespace)
        synapses.connect(condition="i != j")  # every neuron inhibits all the others
        return synapses

    monitors = [SpikeMonitor(group, name=f"{group.name}_spikes")
                for group in (inputs, hidden, output)]
    parts = dict(input=inputs, hidden=hidden, output=output, input_hidden=input_hidden,
                 hidden_output=hidden_output, hidden_inhibition=lateral_inhibition(hidden),
                 output_inhibition=lateral_inhibition(output))
    return Network(*parts.values(), *monitors), parts


def present(patterns, labels, w_hidden, w_output, learning, description=None):
    """Show the patterns one after another: WINDOW of a pattern, then REST.

    With `learning`, STDP is on and the teacher drives the output of the
    correct class; without, neither. Returns the output spike counts per trial
    (trials, 2), the weights after the run (w_hidden, w_output in volt) and the
    network (its spike monitors are "input_spikes", "hidden_spikes", "output_spikes").
    """
    defaultclock.dt = DT
    stimulus, teacher = schedules(patterns, labels, teach=learning)
    network, parts = build_network(stimulus, teacher, w_hidden, w_output, learning)
    trial = WINDOW + REST
    network.run(len(patterns) * trial, report=progress_bar(description),
                report_period=1 * second)
    output_spikes = network["output_spikes"]
    counts = np.zeros((len(patterns), N_OUTPUT), dtype=int)
    np.add.at(counts, ((output_spikes.t / trial).astype(int), output_spikes.i[:]), 1)
    weights = (np.asarray(parts["input_hidden"].w[:]).reshape(N_INPUT, N_HIDDEN),
               np.asarray(parts["hidden_output"].w[:]).reshape(N_HIDDEN, N_OUTPUT))
    return counts, weights, network


def progress_bar(description):
    """A Brian `report` function that drives a tqdm bar (None: no bar)."""
    if description is None:
        return None
    from tqdm import tqdm
    bar = tqdm(total=100, desc=description, unit="%", leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")

    def report(elapsed, completed, start, duration):
        bar.update(round(100 * completed) - bar.n)
        if completed >= 1:
            bar.close()
    return report


def predict(counts):
    """Index of the output with more spikes; -1 for a tie (counted as an error)."""
    prediction = np.argmax(counts, axis=1)
    prediction[counts[:, 0] == counts[:, 1]] = -1
    return prediction


def score(counts, labels):
    """Fraction correct and fraction of ties over the trials."""
    prediction = predict(counts)
    decided = prediction != -1
    return dict(correct=float(np.mean(prediction == labels)),
                ties=float(np.mean(~decided)),
                correct_of_decided=float(np.mean(prediction[decided] == labels[decided]))
                if decided.any() else float("nan"))


def initial_weights(rng):
    """Uniform random weights (volt) for input -> hidden and hidden -> output."""
    low, high = W_INIT
    return (rng.uniform(low, high, (N_INPUT, N_HIDDEN)) * float(W_MAX_HIDDEN),
            rng.uniform(low, high, (N_HIDDEN, N_OUTPUT)) * float(W_MAX_OUTPUT))


def experiment(train_trials, train_noise, test_trials, noise_levels, seed, progress=True):
    """Train once, then test the trained and the untrained network at each noise level.

    The untrained control is the same network with plasticity off: it keeps
    the initial weights. Both see the same test trials.
    """
    rng = np.random.default_rng(seed)
    brian_seed(seed)
    w_initial = initial_weights(rng)
    labels, patterns = draw_trials(train_trials, train_noise, rng)
    _, w_learned, _ = present(patterns, labels, *w_initial, learning=True,
                              description="training" if progress else None)
    results, raster = [], None
    for noise in noise_levels:
        labels, patterns = draw_trials(test_trials, noise, rng)
        row = dict(noise=noise)
        for name, weights in (("learned", w_learned), ("control", w_initial)):
            counts, _, network = present(patterns, labels, *weights, learning=False,
                                         description=f"test p={noise} {name}" if progress else None)
            row[name] = score(counts, labels)
            if name == "learned" and raster is None and noise > 0:
                raster = spikes_of_first_trials(network, patterns, labels, counts, n=4)
        results.append(row)
    return dict(w_initial=w_initial, w_learned=w_learned, results=results, raster=raster)


def spikes_of_first_trials(network, patterns, labels, counts, n):
    """Spike times and indices of each layer during the first n trials (for a raster)."""
    end = n * (WINDOW + REST)
    layers = {}
    for layer in ("input", "hidden", "output"):
        monitor = network[f"{layer}_spikes"]
        keep = monitor.t < end
        layers[layer] = (np.asarray(monitor.t[keep] / ms), np.asarray(monitor.i[keep]))
    return dict(layers=layers, patterns=patterns[:n], labels=labels[:n], counts=counts[:n])


# --- Reporting -----------------------------------------------------------------

def table(results):
    """Markdown table: correct, ties and correct among decided trials, per noise level."""
    lines = ["| flip probability p | trained: correct | ties | correct of decided "
             "| no learning: correct | ties | correct of decided |",
             "|---|---|---|---|---|---|---|"]
    for row in results:
        cells = [f"{row['noise']:g}"]
        for name in ("learned", "control"):
            cells += [f"{row[name][key]:.1%}" for key in ("correct", "ties", "correct_of_decided")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_accuracy(results, test_trials, path):
    import matplotlib.pyplot as plt
    noise = [row["noise"] for row in results]
    fig, ax = plt.subplots(figsize=(5.5, 3.5))
    for name, label, color in (("learned", "after STDP training", "C0"),
                               ("control", "no learning (initial weights)", "C3")):
        ax.plot(noise, [100 * row[name]["correct"] for row in results], "o-", color=color,
                label=f"{label}: correct")
        ax.plot(noise, [100 * row[name]["ties"] for row in results], "x--", color=color,
                alpha=0.6, label=f"{label}: ties")
    ax.axhline(50, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("pixel flip probability p")
    ax.set_ylabel(f"% of {test_trials} test trials")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_weights(w_initial, w_learned, path):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, N_HIDDEN + 1, figsize=(11, 4.2),
                             gridspec_kw=dict(width_ratios=[1] * N_HIDDEN + [0.9]))
    for row, (title, (w_hidden, w_output)) in enumerate((("initial", w_initial),
                                                          ("learned", w_learned))):
        for k in range(N_HIDDEN):
            ax = axes[row, k]
            ax.imshow(w_hidden[:, k].reshape(SIDE, SIDE) / float(W_MAX_HIDDEN), cmap="hot_r",
                      vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{title}: input -> hidden {k}", fontsize=7)
        ax = axes[row, -1]
        image = ax.imshow(w_output / float(W_MAX_OUTPUT), cmap="hot_r", vmin=0, vmax=1)
        ax.set_xticks(range(N_OUTPUT), [f"out {c}" for c in CLASSES], fontsize=7)
        ax.set_yticks(range(N_HIDDEN), [f"hidden {k}" for k in range(N_HIDDEN)], fontsize=7)
        ax.set_title(f"{title}: hidden -> output", fontsize=7)
    fig.colorbar(image, ax=axes, fraction=0.02, label="w / w_max")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def plot_raster(raster, noise, path):
    import matplotlib.pyplot as plt
    n = len(raster["labels"])
    trial = float((WINDOW + REST) / ms)
    fig = plt.figure(figsize=(9, 5.5))
    grid = fig.add_gridspec(4, n, height_ratios=[1.2, 2.5, 1, 0.7])
    for k in range(n):
        ax = fig.add_subplot(grid[0, k])
        ax.imshow(raster["patterns"][k].reshape(SIDE, SIDE), cmap="gray_r")
        ax.set_xticks([]), ax.set_yticks([])
        prediction = predict(raster["counts"][k:k + 1])[0]
        ax.set_title(f"true {CLASSES[raster['labels'][k]]}, predicted "
                     f"{CLASSES[prediction] if prediction >= 0 else 'tie'}", fontsize=8)
    for row, (layer, size) in enumerate((("input", N_INPUT), ("hidden", N_HIDDEN),
                                         ("output", N_OUTPUT)), start=1):
        ax = fig.add_subplot(grid[row, :])
        t, i = raster["layers"][layer]
        ax.plot(t, i, "|k", ms=4 if layer == "input" else 8)
        for k in range(n):
            ax.axvspan(k * trial, k * trial + float(WINDOW / ms), color="C0", alpha=0.08)
        ax.set_xlim(0, n * trial)
        ax.set_ylim(-0.5, size - 0.5)
        ax.set_ylabel(layer)
        if layer == "hidden":
            ax.set_yticks(range(N_HIDDEN))
        if layer == "output":
            ax.set_yticks(range(N_OUTPUT), CLASSES)
            ax.set_xlabel("time (ms); shaded: pattern shown")
        else:
            ax.set_xticks([])
    fig.suptitle(f"First {n} test trials at p = {noise:g}, trained network, no teacher")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--train-trials", type=int, default=200,
                        help="training trials (random X or O)")
    parser.add_argument("--train-noise", type=float, default=0.05,
                        help="pixel flip probability of the training patterns")
    parser.add_argument("--test-trials", type=int, default=1000,
                        help="test trials per noise level")
    parser.add_argument("--noise", type=float, nargs="+", default=[0, 0.05, 0.1, 0.15, 0.2],
                        help="pixel flip probabilities p to test")
    parser.add_argument("--seed", type=int, default=0, help="seed of patterns, weights and spikes")
    parser.add_argument("--figures", default="figures",
                        help="folder for xo_accuracy.png, xo_weights.png, xo_raster.png "
                             "and xo_results.json")
    parser.add_argument("--target", choices=["auto", "cython", "numpy"], default="auto",
                        help="Brian code generation target (numpy needs no compiler but "
                             "is 2 to 4 times slower)")
    args = parser.parse_args(argv)
    for p in [args.train_noise, *args.noise]:
        if not 0 <= p <= 1:
            parser.error(f"flip probabilities must be in [0, 1], got {p}")
    if args.train_trials < 1 or args.test_trials < 1:
        parser.error("--train-trials and --test-trials must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    prefs.codegen.target = args.target
    outcome = experiment(args.train_trials, args.train_noise, args.test_trials, args.noise,
                         args.seed)
    print(f"X vs O, {args.train_trials} training trials at p = {args.train_noise:g}, "
          f"{args.test_trials} test trials per noise level, seed {args.seed}\n")
    print(table(outcome["results"]))
    os.makedirs(args.figures, exist_ok=True)
    paths = {name: os.path.join(args.figures, f"xo_{name}")
             for name in ("accuracy.png", "weights.png", "raster.png", "results.json")}
    plot_accuracy(outcome["results"], args.test_trials, paths["accuracy.png"])
    plot_weights(outcome["w_initial"], outcome["w_learned"], paths["weights.png"])
    if outcome["raster"] is not None:
        noisy = [p for p in args.noise if p > 0][0]
        plot_raster(outcome["raster"], noisy, paths["raster.png"])
    with open(paths["results.json"], "w") as handle:
        json.dump(dict(vars(args), results=outcome["results"]), handle, indent=1)
    print("\nFigures and results: " + ", ".join(paths.values()))


if __name__ == "__main__":
    main()
