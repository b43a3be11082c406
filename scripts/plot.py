"""Draw the figures of a trained network into a folder (default figures/).

Example:  python scripts/plot.py --weights weights/n400 --result results/n400.json
Writes <name>_receptive_fields.png, _theta.png, _training_accuracy.png,
_raster.png and, given an evaluate.py JSON (--result), _confusion.png.
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from diehl_cook import cli, data, plots  # noqa: E402
from diehl_cook.pipeline import network_delays  # noqa: E402
from diehl_cook.storage import load_network  # noqa: E402


def run():
    parser = cli.parser(__doc__)
    parser.add_argument("--weights", default=cli.DEFAULT_WEIGHTS, help="network folder")
    parser.add_argument("--result", default=None, help="JSON written by evaluate.py --json")
    parser.add_argument("--out", default="figures", help="folder for the PNG files")
    parser.add_argument("--raster-image", type=int, default=0, help="test image for the raster")
    args = parser.parse_args()
    network = load_network(args.weights)
    name = os.path.basename(os.path.normpath(args.weights))
    os.makedirs(args.out, exist_ok=True)
    path = lambda what: os.path.join(args.out, f"{name}_{what}.png")  # noqa: E731
    plots.receptive_fields(network.weights, path("receptive_fields"))
    plots.theta_per_neuron(network.theta, network.assignments, path("theta"))
    plots.training_accuracy(network.metadata.get("running_accuracy", []), path("training_accuracy"))
    if args.result:
        with open(args.result) as f:
            result = json.load(f)
        plots.confusion(result["confusion_matrix"], path("confusion"),
                        f"{name}: test accuracy {100 * result['accuracy']:.2f}% "
                        f"({result['test_images']} images)")
    images, _ = data.load("testing", args.mnist_dir, args.raster_image + 1)
    plots.presentation_raster(network.weights, network.theta,
                              network_delays(network.n_e, network.metadata.get("seed", 0)),
                              images[args.raster_image], path("raster"))
    print(f"figures for {args.weights} written to {args.out}/{name}_*.png")


if __name__ == "__main__":
    cli.main(run)
