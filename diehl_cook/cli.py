"""Command-line options and error reporting shared by the scripts."""
import argparse
import sys

from .data import MnistError
from .protocol import SilentNetworkError
from .simulation import DEFAULT_CHUNK
from .storage import StorageError

DEFAULT_WEIGHTS = "weights/n400"
EXPECTED_ERRORS = (MnistError, StorageError, SilentNetworkError, ValueError)


def parser(description):
    parser = argparse.ArgumentParser(description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--mnist-dir", default=None,
                        help="folder with the four MNIST files (default: $MNIST_DIR, "
                             "else data/mnist)")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK,
                        help="images per run of the compiled program (progress and "
                             "checkpoint granularity)")
    parser.add_argument("--build-dir", default=None,
                        help="where compiled programs are cached (default: "
                             "$DIEHL_COOK_BUILD_DIR, else ~/.cache/diehl_cook)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    return parser


def add_jobs(parser):
    parser.add_argument("--jobs", type=int, default=None,
                        help="processes for the frozen network (default: number of cores)")


def main(run):
    """Run ``run()`` and turn the errors a user can fix into a message and exit code 2."""
    try:
        run()
    except EXPECTED_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)


