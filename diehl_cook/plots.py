"""Figures of a trained network: receptive fields, theta, accuracy during
training, confusion matrix, and a raster of one presentation."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from brian2 import Hz, Network, SpikeMonitor, second  # noqa: E402

from . import parameters as p  # noqa: E402
from .network import build_network  # noqa: E402
from .protocol import input_rates  # noqa: E402
from .simulation import use_runtime  # noqa: E402


def receptive_fields(weights, path):
    """Input weights of every excitatory neuron as a grid of 28 x 28 tiles."""
    n_e = weights.shape[1]
    side = int(np.ceil(np.sqrt(n_e)))
    grid = np.zeros((side * 28, side * 28))
    for k in range(n_e):
        row, col = divmod(k, side)
        grid[row * 28:(row + 1) * 28, col * 28:(col + 1) * 28] = weights[:, k].reshape(28, 28)
    fig, ax = plt.subplots(figsize=(8, 8))
    image = ax.imshow(grid, cmap="hot_r", vmin=0, vmax=weights.max(), interpolation="nearest")
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title(f"Input weights of the {n_e} excitatory neurons")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def theta_per_neuron(theta, assignments, path):
    fig, ax = plt.subplots(figsize=(8, 3))
    order = np.argsort(assignments) if assignments is not None else np.arange(len(theta))
    colors = (plt.cm.tab10(np.where(assignments[order] >= 0, assignments[order], 0) % 10)
              if assignments is not None else "C0")
    ax.bar(np.arange(len(theta)), np.asarray(theta)[order] * 1000, color=colors, width=1.0)
    ax.set_xlabel("excitatory neuron" + (" (sorted by assigned class)" if assignments is not None else ""))
    ax.set_ylabel("theta (mV)")
    ax.set_title("Adaptive threshold after training")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def training_accuracy(history, path):
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if history:
        seen, accuracy = zip(*history)
        ax.plot(seen, 100 * np.array(accuracy), "o-")
    ax.set_xlabel("training images seen")
    ax.set_ylabel("running accuracy (%)")
    ax.set_title("Accuracy during training (block k labelled by block k - 1)")
    ax.grid(alpha=0.3)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


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
    fig.colorbar(image, ax=ax)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def presentation_raster(weights, theta, delays, image, path, seed=0):
    """Input, excitatory and inhibitory spikes while the frozen network sees one image."""
    use_runtime()
    from brian2 import seed as brian_seed
    model = build_network(weights.shape[1], False, weights=weights, delays=delays, theta=theta)
    monitors = [SpikeMonitor(g) for g in (model.input, model.exc, model.inh)]
    net = Network(model.objects, *monitors)
    brian_seed(seed)
    model.input.rate = input_rates(image[None])[0] * p.INTENSITY_START * Hz
    net.run(p.PRESENTATION_TIME, namespace={})
    model.input.rate = 0 * Hz
    net.run(p.REST_TIME, namespace={})
    fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True,
                             gridspec_kw=dict(height_ratios=[2, 2, 1]))
    names = ["input (784 Poisson)", f"excitatory ({model.n_e})", f"inhibitory ({model.n_e})"]
    for ax, monitor, name in zip(axes, monitors, names):
        ax.plot(monitor.t / second * 1000, monitor.i, "|", ms=3)
        ax.set_ylabel(name)
        ax.axvspan(float(p.PRESENTATION_TIME) * 1000, float(p.PRESENTATION_TIME + p.REST_TIME) * 1000,
                   color="0.9")
    counts = np.bincount(monitors[1].i, minlength=model.n_e)
    axes[0].set_title(f"One presentation: {len(monitors[0].t)} input spikes, "
                      f"{counts.sum()} excitatory spikes from {np.sum(counts > 0)} neurons")
    axes[2].set_xlabel("time (ms); grey: rest")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return counts
