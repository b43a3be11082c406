"""Download the four MNIST files (gzip IDX) and verify their SHA-256 checksums,
or (with --verify) only check files that are already there.

Example:  python scripts/download_mnist.py --mnist-dir data/mnist
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from diehl_cook import cli, data  # noqa: E402


def run():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--mnist-dir", default=None,
                        help="target folder (default: $MNIST_DIR, else data/mnist)")
    parser.add_argument("--mirror", default=data.MIRROR, help="base URL of the files")
    parser.add_argument("--verify", action="store_true", help="only verify existing files")
    args = parser.parse_args()
    if args.verify:
        data.verify(args.mnist_dir)
        print(f"MNIST in {data.mnist_dir(args.mnist_dir)}: all four checksums match")
        return
    try:
        directory = data.download(args.mnist_dir, args.mirror)
    except OSError as error:
        raise data.MnistError(f"download from {args.mirror} failed: {error}") from error
    print(f"MNIST downloaded to {directory}; all four checksums match")


if __name__ == "__main__":
    cli.main(run)
