"""Where commands read and write when the user names no folder.

Every command writes into ``runs/`` (in the current folder; the repository's
``.gitignore`` leaves it out) unless told otherwise, so that no command changes a
file of the repository that the user did not name: a training without ``--out``
goes to ``runs/n<N_e>``, figures to ``runs/figures``, the tutorial's experiments to
``runs/tutorial``. A command that reads a network without ``--weights`` takes the
network trained last into ``runs/``, else the shipped ``weights/n400``: so
``train`` then ``evaluate`` tests the network just trained, and on a fresh clone
the shipped one.

Brian-free: the command line fills these in before it loads Brian.
"""
import os
import sys
from pathlib import Path

from .errors import StorageError
from .ownership import NETWORK_MARKER

RUNS = "runs"
SHIPPED_DEFAULT = "n400"
# The repository's weights/ folder, when this package is imported from a checkout
# (an editable install, or run from the repository); an installed copy has none.
_CHECKOUT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"

# How each command is run from the repository's scripts/ folder.
SCRIPTS = {"train": "train.py", "label": "assign_labels.py", "evaluate": "evaluate.py",
           "plot": "plot.py", "classify": "classify.py", "benchmark": "benchmark.py",
           "tutorial": "tutorial.py", "sweep": "sweep.py", "calibrate": "calibrate.py",
           "pictures": "pictures.py", "download": "download_mnist.py"}
_started_from_script = False


def started_from_script(value=True):
    """Record that this process was started by one of the scripts in scripts/, so
    that hints name scripts; otherwise they name ``diehl-cook`` subcommands."""
    global _started_from_script
    _started_from_script = value


def how_to_run(command):
    """The command line that runs ``command``, in the form the user started this
    process with: ``python scripts/evaluate.py`` or ``diehl-cook evaluate``."""
    if _started_from_script and command in SCRIPTS:
        return f"python scripts/{SCRIPTS[command]}"
    return f"diehl-cook {command}"


def training_folder(n_e):
    """Where a training of ``n_e`` neurons goes without ``--out``."""
    return os.path.join(RUNS, f"n{n_e}")


def shipped(name):
    """The shipped network ``name`` (e.g. ``n400``): ``weights/<name>`` in the current
    folder, else in the repository this package was imported from; None if neither
    exists (an installed copy, run away from the repository)."""
    for weights in (Path("weights"), _CHECKOUT_WEIGHTS):
        if (weights / name).is_dir():
            return os.path.relpath(weights / name)
    return None


def latest_training():
    """The network folder in ``runs/`` whose network was saved last (trained or
    labelled), or None. Only folders that carry the project's network mark count."""
    found = []
    for folder in Path(RUNS).glob("*"):
        metadata = folder / "metadata.json"
        if (folder / NETWORK_MARKER).is_file() and metadata.is_file():
            found.append((metadata.stat().st_mtime, str(folder)))
    return max(found)[1] if found else None


def default_network():
    """(folder, why) for a command given no ``--weights``."""
    latest = latest_training()
    if latest:
        return latest, "the network trained last into runs/"
    folder = shipped(SHIPPED_DEFAULT)
    if folder:
        return folder, "the shipped 400-neuron network"
    raise StorageError(
        "no network given (--weights) and none found: the shipped networks are in the "
        "weights/ folder of the project's repository (weights/n100, n400, n1600, ...); "
        "run the command from the repository's folder, or give --weights "
        "PATH/TO/REPOSITORY/weights/n400. Or train one first: "
        f"{how_to_run('train')} --n-e 100")


def fill_defaults(args):
    """Put the default folders and files into ``args`` where the user gave none, and
    say which network was chosen."""
    command = args.command
    if command == "train" and args.out is None:
        args.out = training_folder(args.n_e)
    if command in ("label", "evaluate", "plot", "classify") and args.weights is None:
        args.weights, why = default_network()
        print(f"network: {args.weights} ({why}; --weights to choose another)", file=sys.stderr)
    if command == "tutorial" and args.weights is None:
        # The tutorial's figures are of the shipped network, whatever was trained since.
        args.weights = shipped(SHIPPED_DEFAULT) or default_network()[0]
    if command == "pictures" and args.weights is None:
        args.weights = [folder for folder in map(shipped, ("n100", "n400", "n1600")) if folder]
        if not args.weights:
            default_network()           # raises, saying where the networks are
