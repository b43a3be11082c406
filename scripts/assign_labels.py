"""Assign each excitatory neuron a class from the frozen network's responses to
the training set (Section 2.6 of the paper) and store them in WEIGHTS/assignments.npy.

Example:  python scripts/assign_labels.py --weights weights/n400
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from diehl_cook import cli, data  # noqa: E402
from diehl_cook.pipeline import label  # noqa: E402


def run():
    parser = cli.parser(__doc__)
    parser.add_argument("--weights", default=cli.DEFAULT_WEIGHTS, help="network folder")
    parser.add_argument("--examples", type=int, default=60000,
                        help="training images to label with (the first K)")
    cli.add_jobs(parser)
    args = parser.parse_args()
    images, labels = data.load("training", args.mnist_dir, args.examples)
    assignments, result = label(args.weights, images, labels, jobs=args.jobs,
                                chunk_size=args.chunk_size, build_dir=args.build_dir,
                                progress=not args.no_progress)
    per_class = np.bincount(assignments[assignments >= 0], minlength=10)
    print(f"labelled {len(assignments)} neurons on {len(images)} training images "
          f"({result.presentations.mean():.2f} presentations per image); "
          f"unassigned: {np.sum(assignments < 0)}; neurons per class: {per_class.tolist()}")
    print(f"next: python scripts/evaluate.py --weights {args.weights}")


if __name__ == "__main__":
    cli.main(run)
