"""The ``diehl-cook`` command: one subcommand per task.

Parsing imports nothing heavy, so ``diehl-cook --help`` answers at once; the
work is done by ``diehl_cook.commands``, imported once the arguments are read.
Errors a user can fix (``errors.DiehlCookError``) end with a message and exit
code 2; Ctrl+C (SIGINT) with exit code 130, ``kill`` (SIGTERM) with 143, a closed
terminal (SIGHUP) with 129; anything else keeps its traceback.
"""
import argparse
import signal
import sys
import threading
from contextlib import contextmanager

from . import __version__, paths
from .report import show_messages

# Defaults shown in --help. They mirror parameters.py and settings.py (not
# imported here, because they import Brian); tests/test_cli.py checks they agree.
N_E_DEFAULT = 400
LEARNING_RULES = ("power-law", "exponential", "pre-post", "triplet")
LEARNING_RULE = "triplet"
CHUNK_SIZE = 1000
ENGINE_MODES = ("exact", "fast")
WEIGHTS_HELP = ("network folder (default: the network trained last into runs/, else the "
                "shipped weights/n400)")
MNIST_HELP = "folder with the four MNIST files (default: $MNIST_DIR, else data/mnist)"
TUTORIAL_PARTS = ("stdp", "inhibition", "ablations")


def _run_options(parser, jobs=True):
    """Options shared by every command that runs the network."""
    parser.add_argument("--mnist-dir", default=None, help=MNIST_HELP)
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE,
                        help="images per run of the compiled program (progress and "
                             "checkpoint granularity)")
    parser.add_argument("--build-dir", default=None,
                        help="where compiled programs are cached (default: "
                             "$DIEHL_COOK_BUILD_DIR, else ~/.cache/diehl_cook)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP threads per compiled program (the results are the same "
                             "for any number; on 2 cores it is slower than 1)")
    parser.add_argument("--engine", default="exact", choices=ENGINE_MODES,
                        help="exact: the same results as Brian's own code, bit for bit; "
                             "fast: the excitatory neurons' integration vectorized (its "
                             "exp() differs in the last bits; see the docs, 'The engine')")
    if jobs:
        parser.add_argument("--jobs", type=int, default=None,
                            help="processes for the frozen network (default: number of cores "
                                 "divided by --threads)")


def _train(parser):
    _run_options(parser, jobs=False)
    parser.add_argument("--n-e", type=int, default=N_E_DEFAULT, help="excitatory neurons")
    parser.add_argument("--rule", default=LEARNING_RULE, choices=LEARNING_RULES,
                        help="learning rule (paper, Section 2.3)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the examples (default: the paper's for this size, "
                             "parameters.SIZES; 1 for a size not listed)")
    parser.add_argument("--examples", type=int, default=None,
                        help="training examples per pass, the first K of the training set "
                             "(default: the paper's for this size; 60000 if not listed)")
    _size_values(parser)
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed: initial weights, input delays, Poisson input")
    parser.add_argument("--out", default=None,
                        help="network folder (default: runs/n<N_E>; a folder there that "
                             "holds an earlier training is kept as runs/n<N_E>.previous-1)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted training from its last checkpoint")
    parser.add_argument("--change-values", action="store_true",
                        help="with --resume: go on with the --theta-plus and --w-inh-exc "
                             "given, though the checkpoint has others (the metadata "
                             "records from which image)")


def _size_values(parser):
    parser.add_argument("--theta-plus", type=float, default=None, metavar="MV",
                        help="theta increment per spike in mV (default: the size's, "
                             "parameters.SIZES)")
    parser.add_argument("--w-inh-exc", type=float, default=None, metavar="W",
                        help="inh -> exc weight (default: the size's, parameters.SIZES)")


def _label(parser):
    _run_options(parser)
    parser.add_argument("--weights", default=None, help=WEIGHTS_HELP)
    parser.add_argument("--examples", type=int, default=60000,
                        help="training images to label with (the first K)")


def _evaluate(parser):
    _run_options(parser)
    parser.add_argument("--weights", default=None,
                        help=WEIGHTS_HELP + "; a network without assignments is labelled "
                                            "first (--label-examples)")
    parser.add_argument("--label-examples", type=int, default=60000, metavar="K",
                        help="a network without assignments is first labelled on the "
                             "first K training images, as the label command does")
    parser.add_argument("--examples", type=int, default=10000,
                        help="test images to classify (the first K)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="passes over the test images, each with Poisson draws of its own; "
                             "prints their mean and SD (the paper: 10)")
    parser.add_argument("--json", default=None,
                        help="also write accuracy, confusion matrix and per-class accuracy "
                             "here ('-': to standard output)")


def _plot(parser):
    parser.add_argument("--mnist-dir", default=None, help=MNIST_HELP)
    parser.add_argument("--weights", default=None, help=WEIGHTS_HELP)
    parser.add_argument("--result", default=None, help="JSON written by evaluate --json")
    parser.add_argument("--out", default="runs/figures", help="folder for the PNG files")
    parser.add_argument("--raster-image", type=int, default=0, help="test image for the raster")


def _compare(parser):
    parser.add_argument("weights", nargs="+", help="network folders (labelled and evaluated "
                                                   "with evaluate --json FOLDER/evaluation.json)")
    parser.add_argument("--figure", default=None, help="write their receptive fields side by side here")
    parser.add_argument("--running-accuracy", default=None, metavar="FIGURE",
                        help="write their running accuracy during training, over passes "
                             "through the training images, here (a training still under "
                             "way: from its checkpoint's training log)")
    parser.add_argument("--mnist-dir", default=None, help=MNIST_HELP)
    parser.add_argument("--json", default=None, help="write the table here ('-': to standard output)")


def _benchmark(parser):
    _run_options(parser, jobs=False)
    parser.add_argument("--n-e", type=int, default=N_E_DEFAULT, help="excitatory neurons")
    parser.add_argument("--rules", nargs="+", default=list(LEARNING_RULES),
                        choices=LEARNING_RULES, help="learning rules to time in the engine")
    parser.add_argument("--reference-images", type=int, default=20,
                        help="images for the slow reference loop (and the engine on the "
                             "same); 0: skip the loop")
    parser.add_argument("--engine-images", type=int, default=1000,
                        help="images for the engine's steady-state figure")
    parser.add_argument("--profile", action="store_true",
                        help="also run profiled programs and print the time of each Brian "
                             "object (code object)")
    parser.add_argument("--compare-engines", type=int, default=0, metavar="IMAGES",
                        help="also train on the first IMAGES training images in exact and "
                             "in fast mode and say whether the spikes are the same")
    parser.add_argument("--json", default="runs/benchmark.json",
                        help="where to write the figures ('-': to standard output)")


def _tutorial(parser):
    _run_options(parser)
    parser.add_argument("parts", nargs="*", metavar="PART",
                        help=f"experiments to run, among {', '.join(TUTORIAL_PARTS)} "
                             f"(default: all)")
    parser.add_argument("--n-e", type=int, default=100, help="ablations: excitatory neurons")
    parser.add_argument("--rule", default="triplet", choices=LEARNING_RULES,
                        help="ablations: learning rule")
    parser.add_argument("--train", type=int, default=5000, help="ablations: training images")
    parser.add_argument("--label", type=int, default=10000,
                        help="ablations: training images used to assign classes")
    parser.add_argument("--test", type=int, default=10000, help="ablations: test images")
    parser.add_argument("--seed", type=int, default=0, help="ablations: random seed")
    parser.add_argument("--weights", default=None,
                        help="inhibition: trained network to show (default: the shipped "
                             "weights/n400, whose figures the tutorial quotes)")
    parser.add_argument("--out", default="runs/tutorial",
                        help="folder for the figures and tutorial_results.json (the "
                             "tutorial's own are in figures/)")


def _sweep(parser):
    _run_options(parser, jobs=False)       # one process: see research.sweep
    parser.add_argument("parameter", help="name of a constant in diehl_cook/parameters.py")
    parser.add_argument("values", nargs="+", help="values to try (numbers, or words such as add)")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="also set this constant for every value (repeatable)")
    parser.add_argument("--rule", default=LEARNING_RULE, choices=LEARNING_RULES,
                        help="learning rule (paper, Section 2.3)")
    parser.add_argument("--n-e", type=int, default=100, help="excitatory neurons")
    parser.add_argument("--train", type=int, default=5000, help="training images")
    parser.add_argument("--label", type=int, default=10000,
                        help="training images used to assign classes")
    parser.add_argument("--held-out", type=int, default=10000, metavar="N",
                        help="measure on the last N training images, which are neither trained "
                             "nor labelled on, so that choosing by them leaves the test set "
                             "unseen (default: 10000); 0: measure on the test set")
    parser.add_argument("--test", type=int, default=10000,
                        help="test images (only with --held-out 0)")
    parser.add_argument("--seed", type=int, default=0,
                        help="random seed of each small network")
    parser.add_argument("--json", default=None, help="write the results here ('-': to standard output)")


def _classify(parser):
    parser.add_argument("images", nargs="*", metavar="IMAGE",
                        help="PNG/JPEG/... files: any size, colour or grey, converted the "
                             "MNIST way (see diehl_cook/images.py)")
    parser.add_argument("--mnist-test", type=int, nargs="+", default=[], metavar="INDEX",
                        help="also classify these images of the MNIST test set")
    parser.add_argument("--weights", default=None, help="labelled " + WEIGHTS_HELP)
    parser.add_argument("--mnist-dir", default=None, help=MNIST_HELP)
    parser.add_argument("--json", default=None,
                        help="also write each answer here: digit (or null), class scores, "
                             "spikes, margin, doubts ('-': to standard output)")
    parser.add_argument("--plot", default=None, metavar="FOLDER",
                        help="write a figure per image here: the input as the network saw "
                             "it, the class scores, the receptive field of the neurons that "
                             "answered")
    parser.add_argument("--refuse-below", type=float, default=0.0, metavar="MARGIN",
                        help="refuse an answer whose winning class is ahead of the second "
                             "by less than MARGIN (0..1: (first - second) / first), or whose "
                             "picture is doubtful (two digits, no digit); 0: always answer, "
                             "with the doubts")
    parser.add_argument("--build-dir", default=None,
                        help="where compiled programs are cached (default: "
                             "$DIEHL_COOK_BUILD_DIR, else ~/.cache/diehl_cook)")


def _pictures(parser):
    parser.add_argument("--weights", nargs="+", default=None,
                        help="labelled network folders (default: the shipped weights/n100, "
                             "n400 and n1600)")
    parser.add_argument("--per-digit", type=int, default=100,
                        help="MNIST test images per digit (the first of each)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="show each image this many times, with Poisson draws of its "
                             "own; the figures are the means (default: 3; one draw moves an "
                             "accuracy on 1,000 images by about a point)")
    parser.add_argument("--mnist-dir", default=None, help=MNIST_HELP)
    parser.add_argument("--json", default="runs/pictures.json",
                        help="write the figures here ('-': to standard output)")
    parser.add_argument("--build-dir", default=None,
                        help="where compiled programs are cached (default: "
                             "$DIEHL_COOK_BUILD_DIR, else ~/.cache/diehl_cook)")


def _calibrate(parser):
    _run_options(parser)
    parser.add_argument("--n-e", type=int, required=True, help="size to calibrate")
    parser.add_argument("--theta-plus", type=float, nargs="+", required=True, metavar="MV",
                        help="candidate theta increments (mV)")
    parser.add_argument("--w-inh-exc", type=float, nargs="+", required=True, metavar="W",
                        help="candidate inh -> exc weights")
    parser.add_argument("--reference-n-e", type=int, default=N_E_DEFAULT,
                        help="size whose response (with its values in parameters.SIZES) "
                             "is the target")
    parser.add_argument("--images", type=int, default=3000,
                        help="training images per candidate (from an untrained network)")
    parser.add_argument("--rule", default=LEARNING_RULE, choices=LEARNING_RULES,
                        help="learning rule (paper, Section 2.3)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of every candidate")
    parser.add_argument("--json", default=None,
                        help="write every measured response here ('-': to standard output)")


def _cache(parser):
    parser.add_argument("--build-dir", default=None,
                        help="the cache (default: $DIEHL_COOK_BUILD_DIR, else ~/.cache/diehl_cook)")
    parser.add_argument("--clear", action="store_true",
                        help="delete the compiled programs (those in use by a running "
                             "command are kept)")


def _download(parser):
    parser.add_argument("--mnist-dir", default=None,
                        help="target folder (default: $MNIST_DIR, else data/mnist)")
    parser.add_argument("--mirror", default="https://ossci-datasets.s3.amazonaws.com/mnist/",
                        help="base URL of the files")
    parser.add_argument("--verify", action="store_true", help="only verify existing files")


# The commands that ``research`` runs; ``commands`` runs the others.
RESEARCH = ("compare", "benchmark", "sweep", "calibrate", "pictures", "tutorial")

COMMANDS = {
    "train": (_train, "train a network on MNIST without labels (STDP) and save it",
              "{train} --n-e 400"),
    "label": (_label, "assign each neuron a class from the frozen network's responses "
                      "to the training set (paper, Section 2.6)",
              "{label} --weights runs/n400"),
    "evaluate": (_evaluate, "classify the MNIST test images with a labelled network and "
                            "print its accuracy",
                 "{evaluate} --weights weights/n100 --json runs/n100.json"),
    "plot": (_plot, "draw the figures of a network (receptive fields, theta, training "
                    "accuracy, confusion matrix, raster)",
             "{plot} --weights weights/n400 --result weights/n400/evaluation.json"),
    "compare": (_compare, "compare trained networks: a table and their receptive fields "
                          "side by side",
                "{compare} weights/rules/* --figure runs/rules.png"),
    "benchmark": (_benchmark, "time the engine (each learning rule) against the plain "
                              "Python loop on the same images",
                  "{benchmark} --n-e 400"),
    "tutorial": (_tutorial, "run the experiments of docs/tutorial.md and draw their figures",
                 "{tutorial} ablations --n-e 100 --train 5000"),
    "sweep": (_sweep, "sweep one constant of parameters.py on a short train/label/measure "
                      "run (measured on held-out training images)",
              "{sweep} X_TAR 0.2 0.1 0.05 --rule power-law --n-e 100"),
    "classify": (_classify, "classify your own digit images (or MNIST test images) with a "
                            "labelled network",
                 "{classify} my_digit.png --plot runs/mine"),
    "pictures": (_pictures, "measure how digits fare as picture files: MNIST test images "
                            "saved as pictures against the same images as arrays, and typed "
                            "digits drawn with the machine's fonts",
                 "{pictures} --weights weights/n400"),
    "calibrate": (_calibrate, "find the per-size theta_plus and inh -> exc weight whose "
                              "response while training matches the 400-neuron network's",
                  "{calibrate} --n-e 100 --theta-plus 0.0125 0.025 0.05 "
                  "--w-inh-exc 8 12 17"),
    "cache": (_cache, "show the size of the compiled-program cache, or clear it",
              "{cache} --clear"),
    "download": (_download, "download MNIST and check its SHA-256 (or --verify files you have)",
                 "{download} --mnist-dir data/mnist"),
}


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Adds "(default: ...)" to an option's help unless the help already names its
    default or there is none to show."""

    def _get_help_string(self, action):
        if "default" in (action.help or "") or action.default in (None, False, [],
                                                                     argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


def build_parser():
    """The parser of every subcommand; examples in the form the user runs them in
    (``diehl-cook train`` or ``python scripts/train.py``)."""
    parser = argparse.ArgumentParser(
        prog="diehl-cook", description="Diehl & Cook (2015) in Brian 2: unsupervised "
                                       "digit recognition with STDP.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    runs = {name: paths.how_to_run(name) for name in COMMANDS}
    for name, (add_arguments, summary, example) in COMMANDS.items():
        sub = subparsers.add_parser(name, help=summary, description=f"{summary}.",
                                    epilog=f"example: {example.format(**runs)}",
                                    formatter_class=HelpFormatter)
        add_arguments(sub)
    return parser


def main(argv=None, command=None):
    """Run ``diehl-cook`` with ``argv`` (default: the command line); ``command``
    puts a subcommand first (for the scripts in scripts/)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    paths.started_from_script(command is not None)
    if command is not None:
        argv = [command] + argv
    parser = build_parser()
    if command is not None:
        parser.prog = f"python scripts/{paths.SCRIPTS.get(command, command)}"
    args = parser.parse_args(argv)
    with signals_stop_the_run():
        try:
            from . import commands, research    # import Brian: only once there is work to do
            from .brian_internals import keep_no_files
        except KeyboardInterrupt as stop:       # stopped while loading: nothing done yet
            exit_stopped(stop)
        keep_no_files()
        from .errors import DiehlCookError
        show_messages()
        try:
            paths.fill_defaults(args)
            commands.check_outputs(args)
            with commands.output_streams(args):
                getattr(research if args.command in RESEARCH else commands, args.command)(args)
        except DiehlCookError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
        except KeyboardInterrupt as stop:
            exit_stopped(stop, commands.interruption_hint(args))


def exit_stopped(stop, hint=""):
    """Say that a signal (``stop``: KeyboardInterrupt or ``Terminated``) stopped the
    command, with ``hint``, and exit with 128 + the signal's number."""
    word, code = STOPPED[getattr(stop, "signal", signal.SIGINT)]
    print(f"\n{word}{hint}", file=sys.stderr)
    sys.exit(code)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, a batch system's time limit) or SIGHUP (the terminal closed):
    the run stops as on Ctrl+C, the compiled program is ended and the finished chunks
    stay saved."""

    def __init__(self, signum=signal.SIGTERM):
        super().__init__()
        self.signal = signum


# The signals that stop a command: what it prints and its exit code (128 + the signal).
STOPPED = {signal.SIGINT: ("interrupted", 130), signal.SIGTERM: ("terminated", 143),
           signal.SIGHUP: ("hung up", 129)}


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextmanager
def signals_stop_the_run():
    """SIGINT raises KeyboardInterrupt, SIGTERM and SIGHUP ``Terminated`` inside the block,
    whatever this process inherited. A shell starts background jobs with SIGINT
    ignored; Brian's import then wraps that SIG_IGN in a handler that fails when
    called ('Handlers' object is not callable), so the handler is set before Brian
    is imported. The previous handlers are restored at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield                         # only the main thread may set handlers
        return
    previous = {number: signal.getsignal(number) for number in STOPPED}
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_terminated)
    signal.signal(signal.SIGHUP, _raise_terminated)
    try:
        yield
    finally:
        for number, handler in previous.items():
            if handler is not None:   # None: set outside Python, cannot be restored
                signal.signal(number, handler)


if __name__ == "__main__":
    main()
