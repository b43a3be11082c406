"""Download the four MNIST files (gzip IDX) and verify their SHA-256 checksums,
or (with --verify) only check files that are already there.

Example:  python scripts/download_mnist.py --mnist-dir data/mnist
Same as: diehl-cook download
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="download")
