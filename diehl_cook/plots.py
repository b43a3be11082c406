"""Figures: receptive fields, theta, accuracy during training, confusion matrix,
a raster of one presentation, the tutorial's figures. Drawing only: the data
come from the pipeline and the experiments."""
import io
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.backend_bases import FigureCanvasBase  # noqa: E402
from matplotlib.ticker import MaxNLocator, StrMethodFormatter  # noqa: E402

from . import parameters as p  # noqa: E402
from . import storage  # noqa: E402
from .errors import StorageError  # noqa: E402


def figure_path(name):
    """The file a figure named ``name`` by the user is written to: ``name`` itself
    when it has a suffix matplotlib can write (.png, .pdf, .svg...), else
    ``name``.png if no such file exists; anything else is refused, before any work."""
    suffix = os.path.splitext(name)[1].lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix[1:] in formats:
        return name
    if suffix:
        raise StorageError(f"cannot write the figure {name}: '{suffix}' is not a picture format "
                           f"matplotlib writes ({', '.join('.' + f for f in sorted(formats))})")
    if os.path.lexists(name + ".png"):
        raise StorageError(f"{name} has no picture suffix and {name}.png exists: name the "
                           f"figure {name}.png to replace it, or choose another name")
    return name + ".png"


def save(fig, path, dpi, tight=True):
    """Write ``fig`` to ``path`` whole or not at all (in the format its suffix says)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format=os.path.splitext(path)[1][1:].lower() or "png", dpi=dpi,
                bbox_inches="tight" if tight else None)
    plt.close(fig)
    storage.write_file(path, buffer.getvalue())


def field_grid(weights):
    """The input weights of every neuron as one image: a grid of 28 x 28 tiles."""
    n_e = weights.shape[1]
    side = int(np.ceil(np.sqrt(n_e)))
    grid = np.zeros((side * 28, side * 28))
    for k in range(n_e):
        row, col = divmod(k, side)
        grid[row * 28:(row + 1) * 28, col * 28:(col + 1) * 28] = weights[:, k].reshape(28, 28)
    return grid


def receptive_fields(weights, path):
    """Input weights of every excitatory neuron as a grid of 28 x 28 tiles."""
    n_e = weights.shape[1]
    grid = field_grid(weights)
    fig, ax = plt.subplots(figsize=(8, 8))
    image = ax.imshow(grid, cmap="hot_r", vmin=0, vmax=weights.max(), interpolation="nearest")
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title(f"Input weights of the {n_e} excitatory neurons")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("input weight (0 to 1)")
    save(fig, path, dpi=120)


def theta_per_neuron(theta, assignments, path):
    fig, ax = plt.subplots(figsize=(8, 3))
    order = np.argsort(assignments) if assignments is not None else np.arange(len(theta))
    colors = (plt.cm.tab10(np.where(assignments[order] >= 0, assignments[order], 0) % 10)
              if assignments is not None else "C0")
    ax.bar(np.arange(len(theta)), np.asarray(theta)[order] * 1000, color=colors, width=1.0)
    if assignments is not None:     # one legend entry per class that has neurons
        ax.legend(handles=[plt.Rectangle((0, 0), 1, 1, color=plt.cm.tab10(digit))
                           for digit in range(10) if np.any(assignments == digit)],
                  labels=[str(digit) for digit in range(10) if np.any(assignments == digit)],
                  title="class", fontsize=7, title_fontsize=7, loc="center left",
                  bbox_to_anchor=(1.01, 0.5))
    ax.set_xlabel("excitatory neuron" + (" (sorted by assigned class)" if assignments is not None else ""))
    ax.set_ylabel("theta (mV)")
    ax.set_title("Adaptive threshold after training")
    save(fig, path, dpi=120)


def broken_at_gaps(history):
    """Images seen and accuracy (%) of a running-accuracy ``history``, with a NaN
    (a break in the plotted line) where blocks are missing (a lost stretch of
    the training log)."""
    seen, accuracy = np.array(history, dtype=float).reshape(-1, 2).T
    steps = np.diff(seen)
    gaps = np.flatnonzero(steps > steps.min()) + 1 if len(steps) else []
    return np.insert(seen, gaps, np.nan), 100 * np.insert(accuracy, gaps, np.nan)


def training_accuracy(history, path):
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(*broken_at_gaps(history), "o-")
    ax.set_xlabel("training images seen")
    # Few ticks with thousands separators: six-digit counts (420,000 images) stay apart.
    ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_ylabel("running accuracy (%)")
    ax.set_title("Accuracy during training (block k labelled by block k - 1)")
    ax.grid(alpha=0.3)
    save(fig, path, dpi=120)


def running_accuracy_by_pass(curves, path):
    """``curves``: {label: (history, examples per pass)}; each history a list of
    (images seen, running accuracy), drawn over passes through the training set."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for label, (history, per_pass) in curves.items():
        seen, accuracy = broken_at_gaps(history)
        ax.plot(seen / per_pass, accuracy, "o-", markersize=3, label=label)
    ax.set_xlabel("passes through the training images")
    ax.set_ylabel("running accuracy (%)")
    ax.set_title("Accuracy during training (block k labelled by block k - 1)")
    ax.legend()
    ax.grid(alpha=0.3)
    save(fig, path, dpi=120)


def confusion(matrix, path, title):
    matrix = np.asarray(matrix)
    per_class = np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    image = ax.imshow(matrix, cmap="Blues")
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, value, ha="center", va="center", fontsize=7,
                color="white" if value > matrix.max() / 2 else "black")
    ax.set_xticks(range(10)), ax.set_yticks(range(10))
    ax.set_yticklabels([f"{d} ({100 * a:.0f}%)" for d, a in enumerate(per_class)])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (per-class accuracy)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax).set_label("test images")
    save(fig, path, dpi=120)


def presentation_raster(presentation, path, title="One presentation"):
    """Input, excitatory and inhibitory spikes of one presentation
    (``experiments.presentation``)."""
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True,
                             gridspec_kw=dict(height_ratios=[2, 2, 1]))
    n_e = presentation["n_e"]
    names = dict(input="input (784 Poisson)", exc=f"excitatory ({n_e})", inh=f"inhibitory ({n_e})")
    for ax, (group, name) in zip(axes, names.items()):
        times, indices = presentation[group]
        ax.plot(times, indices, "|", ms=3)
        ax.set_ylabel(name)
        ax.axvspan(float(p.PRESENTATION_TIME) * 1000,
                   float(p.PRESENTATION_TIME + p.REST_TIME) * 1000, color="0.9")
    counts = presentation["counts"]
    axes[0].set_title(f"{title}: {len(presentation['input'][0])} input spikes, "
                      f"{counts.sum()} excitatory spikes from {np.sum(counts > 0)} neurons")
    axes[2].set_xlabel("time (ms); grey: rest")
    save(fig, path, dpi=120)


def fields_side_by_side(panels, path):
    """Receptive fields of several networks side by side: ``panels`` is a list of
    (title, weights (784, n_e))."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.6))
    for ax, (title, weights) in zip(np.atleast_1d(axes), panels):
        weights = np.asarray(weights)
        ax.imshow(field_grid(weights), cmap="hot_r", vmin=0, vmax=weights.max(),
                  interpolation="nearest")
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_title(title, fontsize=10)
    save(fig, path, dpi=110)


# The ablations' names (settings.Mechanisms switches) as a figure says them.
ABLATION_TITLES = {"full": "full model", "no_lateral_inhibition": "no lateral inhibition",
                   "no_adaptive_threshold": "no adaptive threshold",
                   "no_normalization": "no weight normalization"}


def ablation_fields(results, path):
    """Receptive fields of the ablation variants side by side, with their accuracy."""
    panels = []
    for result in results:
        accuracy = ("silent at test time" if result["accuracy"] is None
                    else f"test accuracy {100 * result['accuracy']:.1f}%")
        silent = (f", fell silent after {result['trained_images']} images"
                  if result.get("fell_silent") else "")
        name = ABLATION_TITLES.get(result["mechanisms"], result["mechanisms"])
        panels.append((f"{name}\n{accuracy}{silent}", result["weights"]))
    fields_side_by_side(panels, path)


def stdp_window(window, example, path):
    """The learning rule measured from the synapse model: traces over one
    post-pre-post triplet (left) and weight change against t_post - t_pre (right)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8))
    for name in ("pre", "post1", "post2"):
        left.plot(example["t_ms"], example[name], label=name)
    for kind in ("pre", "post"):
        for t in example[f"{kind}_spikes"]:
            left.axvline(t, color="grey", ls=":", lw=1)
            left.text(t, 1.04, kind, ha="center", fontsize=8)
    left.set_ylim(0, 1.12)
    left.set_xlabel("time (ms)")
    left.set_ylabel("trace")
    twin = left.twinx()
    twin.plot(example["t_ms"], example["w"], color="k", lw=1.5, label="w")
    twin.set_ylabel("w (black)")
    left.legend(loc="center right", fontsize=8)
    left.set_title(f"Traces of one synapse over post, pre, post: w changes by "
                   f"{example['change']:+.4f}",
                   fontsize=9)
    dt = window["dt_ms"]
    right.plot(dt, window["after_post"], "o-", ms=3,
               label=f"post spike {window['previous_post_ms']:g} ms before the pair")
    right.plot(dt, window["isolated"], "s-", ms=3, label="isolated pair")
    right.axhline(0, color="grey", lw=0.8)
    right.axvline(0, color="grey", lw=0.8)
    right.set_yscale("symlog", linthresh=1e-4)
    right.set_xlabel("t_post - t_pre (ms)")
    right.set_ylabel("weight change (symlog scale)")
    right.set_title("STDP window measured from the model", fontsize=9)
    right.legend(fontsize=8)
    fig.tight_layout()
    save(fig, path, dpi=120, tight=False)


def classification(image, scores, field, path, title):
    """One classified image: the input as the network saw it (28 x 28), the class
    scores as bars (the highest wins) and the receptive field of the neurons that
    answered."""
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    axes[0].imshow(image, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes[0].set_title("input as the network saw it", fontsize=10)
    shown = np.nan_to_num(scores, nan=0.0)
    bars = axes[1].bar(range(p.N_CLASSES), shown, color="lightgrey")
    bars[int(np.argmax(shown))].set_color("tab:red")
    axes[1].set_xticks(range(p.N_CLASSES))
    axes[1].set_xlabel("class")
    axes[1].set_ylabel("mean spikes of its neurons")
    axes[1].set_title(title, fontsize=10)
    axes[2].imshow(field, cmap="hot_r", vmin=0, interpolation="nearest")
    axes[2].set_title("input weights of the neurons that fired\n(weighted by their spikes)",
                      fontsize=10)
    for ax in (axes[0], axes[2]):
        ax.set_xticks([]), ax.set_yticks([])
    save(fig, path, dpi=110)
