"""Classify the MNIST test images with a trained, labelled network and print
its accuracy.

Example:  python scripts/evaluate.py            (the shipped 400-neuron network)
          python scripts/evaluate.py --weights weights/n100 --json result.json
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from diehl_cook import cli, data  # noqa: E402
from diehl_cook.pipeline import test  # noqa: E402
from diehl_cook.storage import save_json  # noqa: E402


def run():
    parser = cli.parser(__doc__)
    parser.add_argument("--weights", default=cli.DEFAULT_WEIGHTS, help="network folder")
    parser.add_argument("--examples", type=int, default=10000,
                        help="test images to classify (the first K)")
    parser.add_argument("--json", default=None,
                        help="also write accuracy, confusion matrix and per-class accuracy here")
    cli.add_jobs(parser)
    args = parser.parse_args()
    images, labels = data.load("testing", args.mnist_dir, args.examples)
    scores, result = test(args.weights, images, labels, jobs=args.jobs,
                          chunk_size=args.chunk_size, build_dir=args.build_dir,
                          progress=not args.no_progress)
    if args.json:
        save_json(args.json, dict(
            weights=args.weights, test_images=len(images), accuracy=scores["accuracy"],
            per_class_accuracy=[None if np.isnan(a) else float(a) for a in scores["per_class"]],
            confusion_matrix=scores["confusion"].tolist(),
            presentations_per_image=scores["presentations_per_image"]))
    print(f"evaluated {args.weights} on {len(images)} test images "
          f"({scores['presentations_per_image']:.2f} presentations per image)")
    print(f"accuracy: {100 * scores['accuracy']:.2f}%")


if __name__ == "__main__":
    cli.main(run)
