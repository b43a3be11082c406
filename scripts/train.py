"""Train a Diehl & Cook (2015) network on MNIST without labels and save it.

Example:  python scripts/train.py --n-e 400
Writes WEIGHTS/weights.npy, theta.npy, metadata.json, and checkpoint.npz plus
training_log/ (responses per chunk) while it runs; --resume continues from them.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from diehl_cook import cli, data, parameters as p  # noqa: E402
from diehl_cook.pipeline import train  # noqa: E402


def run():
    parser = cli.parser(__doc__)
    parser.add_argument("--n-e", type=int, default=p.N_E_DEFAULT, help="excitatory neurons")
    parser.add_argument("--epochs", type=int, default=1, help="passes over the examples")
    parser.add_argument("--examples", type=int, default=60000,
                        help="training examples per pass (the first K of the training set)")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--out", default=None,
                        help="network folder (default: weights/n<N_E>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted training from its last checkpoint")
    args = parser.parse_args()
    if args.epochs < 1:
        raise ValueError("--epochs must be at least 1")
    out = args.out or os.path.join("weights", f"n{args.n_e}")
    images, labels = data.load("training", args.mnist_dir, args.examples)
    start = time.time()
    try:
        network, _ = train(out, images, labels, n_e=args.n_e, epochs=args.epochs,
                           seed=args.seed, resume=args.resume, chunk_size=args.chunk_size,
                           build_dir=args.build_dir, progress=not args.no_progress)
    except KeyboardInterrupt:
        print(f"\nthe finished chunks are saved in {out}; continue with the same command "
              f"and --resume", file=sys.stderr)
        raise
    history = network.metadata["running_accuracy"]
    estimate = f"; last running accuracy {100 * history[-1][1]:.2f}%" if history else ""
    print(f"trained N_e={args.n_e} on {network.metadata['images_seen']} images in "
          f"{time.time() - start:.0f} s{estimate}; saved to {out}")
    print(f"next: python scripts/assign_labels.py --weights {out}")


if __name__ == "__main__":
    cli.main(run)
