"""Run the experiments of docs/tutorial.md and draw their figures.

Parts (default: all):
  stdp        the STDP window measured from the synapse model (seconds)
  inhibition  one presentation to a trained network with lateral inhibition on and off
  ablations   full model vs no lateral inhibition vs no adaptive threshold vs no weight
              normalization: train, label and test N_e neurons (about 13 minutes on 2 cores
              with the defaults)

Example:  python scripts/tutorial.py ablations --n-e 100 --train 5000
Writes figures/tutorial_*.png and figures/tutorial_results.json (each part updates
its own entry), the numbers quoted in the tutorial.
"""
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from diehl_cook import cli, data, experiments, plots  # noqa: E402
from diehl_cook.network import Mechanisms  # noqa: E402
from diehl_cook.pipeline import network_delays  # noqa: E402
from diehl_cook.storage import load_network  # noqa: E402

PARTS = ("stdp", "inhibition", "ablations")
VARIANTS = (Mechanisms(), Mechanisms(lateral_inhibition=False),
            Mechanisms(adaptive_threshold=False), Mechanisms(normalization=False))


def stdp_part(args):
    window = experiments.stdp_window(np.arange(-80, 81, 2.0))
    example = experiments.trace_example()
    plots.stdp_window(window, example, figure(args, "stdp_window"))
    largest = float(window["after_post"].max())
    print(f"STDP: largest potentiation {largest:.5f}, largest depression "
          f"{float(window['isolated'].min()):.6f}; isolated pairs never potentiate")
    return dict(dt_ms=window["dt_ms"].tolist(), isolated=window["isolated"].tolist(),
                after_post=window["after_post"].tolist(), triplet_change=example["change"])


def inhibition_part(args):
    network = load_network(args.weights)
    delays = network_delays(network.n_e, network.metadata.get("seed", 0))
    images, labels = data.load("testing", args.mnist_dir, 1)
    result = {}
    for name, mechanisms in (("on", Mechanisms()), ("off", Mechanisms(lateral_inhibition=False))):
        counts = plots.presentation_raster(
            network.weights, network.theta, delays, images[0], figure(args, f"inhibition_{name}"),
            mechanisms=mechanisms, title=f"Lateral inhibition {name}")
        result[name] = dict(spikes=int(counts.sum()), active_neurons=int(np.sum(counts > 0)))
        print(f"inhibition {name}: {counts.sum()} excitatory spikes from "
              f"{np.sum(counts > 0)} of {network.n_e} neurons (test image 0, a {labels[0]})")
    # The drive of question 7: how many pixels of an image are on at all.
    train_images, _ = data.load("training", args.mnist_dir, 10000)
    nonzero = (train_images.reshape(len(train_images), -1) > 0).sum(axis=1)
    print(f"non-zero pixels per training image (first 10,000): mean {nonzero.mean():.1f}, "
          f"sd {nonzero.std():.1f}")
    return dict(weights=args.weights, image=0, **result,
                nonzero_pixels_mean=float(nonzero.mean()), nonzero_pixels_sd=float(nonzero.std()))


def ablations_part(args):
    train = data.load("training", args.mnist_dir, max(args.train, args.label))
    test = data.load("testing", args.mnist_dir, args.test)
    results = []
    for mechanisms in VARIANTS:
        started = time.time()
        result = experiments.ablation(
            mechanisms, args.n_e, (train[0][:args.train], train[1][:args.train]),
            (train[0][:args.label], train[1][:args.label]), test, seed=args.seed,
            jobs=args.jobs, build_dir=args.build_dir, progress=not args.no_progress)
        result["wall_time_s"] = round(time.time() - started, 1)
        print(summary(result))
        results.append(result)
    plots.ablation_fields(results, figure(args, "ablations"))
    settings = dict(n_e=args.n_e, train=args.train, label=args.label, test=args.test,
                    seed=args.seed)
    return dict(settings=settings, variants=[
        {k: v for k, v in r.items() if k not in ("weights", "theta")} for r in results])


def summary(result):
    """One line per ablation variant."""
    line = f"{result['mechanisms']}: "
    if result["fell_silent"]:
        line += f"fell silent during training, kept its first {result['trained_images']} images; "
    if result["accuracy"] is None:
        line += "silent at test time too, no accuracy"
    else:
        line += (f"test accuracy {100 * result['accuracy']:.2f}%, {result['spikes_per_image']:.1f} "
                 f"spikes from {result['active_neurons_per_image']:.1f} neurons per test image")
    return line + f" ({result['wall_time_s']:.0f} s)"


def figure(args, name):
    return os.path.join(args.out, f"tutorial_{name}.png")


def run():
    parser = cli.parser(__doc__)
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help=f"experiments to run, among {', '.join(PARTS)} (default: all)")
    parser.add_argument("--n-e", type=int, default=100, help="ablations: excitatory neurons")
    parser.add_argument("--train", type=int, default=5000, help="ablations: training images")
    parser.add_argument("--label", type=int, default=10000,
                        help="ablations: training images used to assign classes")
    parser.add_argument("--test", type=int, default=10000, help="ablations: test images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", default=cli.DEFAULT_WEIGHTS,
                        help="inhibition: trained network to show")
    parser.add_argument("--out", default="figures", help="folder for figures and results")
    cli.add_jobs(parser)
    args = parser.parse_args()
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; "
                     f"choose among {', '.join(PARTS)}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "tutorial_results.json")
    results = {}
    if os.path.exists(path):
        with open(path) as handle:
            results = json.load(handle)
    for part in args.parts or PARTS:
        results[part] = globals()[f"{part}_part"](args)
        results[part]["command"] = " ".join(sys.argv)
        with open(path, "w") as handle:
            json.dump(results, handle, indent=1)
    print(f"figures in {args.out}/tutorial_*.png, numbers in {path}")


if __name__ == "__main__":
    cli.main(run)
