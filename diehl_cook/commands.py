"""What the everyday ``diehl-cook`` subcommands do: train, label, evaluate, plot,
classify, cache, download (``cli`` parses, this runs; the research commands are in
``research``).

Thin: each function reads its options, calls the pipeline or the plots, and prints a
summary line.
"""
import argparse
import json
import os
import sys
import time
from contextlib import contextmanager, redirect_stdout

import numpy as np

from . import data, experiments, images, ownership, paths, pipeline, plots, storage
from .classifier import Classifier
from . import parameters as p
from .errors import ImageError, MnistError, SettingsError, StorageError
from .settings import RunSettings, SizeProtocol, check, size_protocol


def settings_from(args, **values):
    """A RunSettings from the command's options (those it has) and ``values``."""
    fields = ("n_e", "rule", "seed", "epochs", "chunk_size", "jobs", "threads", "engine",
              "build_dir")
    found = {field: getattr(args, field) for field in fields if hasattr(args, field)}
    found["progress"] = not getattr(args, "no_progress", False)
    settings = RunSettings(**dict(found, **values))
    settings.check_memory()
    return settings


def check_outputs(args):
    """Before any work: every file or folder the command will write can be written,
    and none of them is one of a network's own files."""
    if getattr(args, "json", None) not in (None, STANDARD_OUTPUT):
        storage.check_output(args.json)
    for name in ("figure", "running_accuracy"):     # figures named by the user
        if getattr(args, name, None):
            setattr(args, name, plots.figure_path(getattr(args, name)))
            storage.check_output(getattr(args, name))
    folders = [getattr(args, "plot", None), getattr(args, "out", None)]
    if args.command == "train":
        ownership.check_new_network_folder(args.out, resume=args.resume)
    if args.command in ("label", "evaluate") and os.path.isdir(args.weights):
        folders.append(args.weights)        # labelling writes into the network folder
    for folder in filter(None, folders):
        storage.check_output(folder, folder=True)


# --json - writes to standard output instead of a file.
STANDARD_OUTPUT = "-"
_json_stream = None


@contextmanager
def output_streams(args):
    """With ``--json -`` the JSON is all that goes to standard output (for a pipe):
    the command's other lines go to standard error."""
    global _json_stream
    if getattr(args, "json", None) != STANDARD_OUTPUT:
        yield
        return
    _json_stream = sys.stdout
    try:
        with redirect_stdout(sys.stderr):
            yield
    finally:
        _json_stream = None


def save_json(path, record):
    """Write ``record`` as JSON to the file ``path``, or to standard output for '-'."""
    if path == STANDARD_OUTPUT:
        print(json.dumps(record, indent=2, sort_keys=True), file=_json_stream or sys.stdout)
    else:
        storage.save_json(path, record)


def interruption_hint(args):
    """What to tell the user after Ctrl+C (or kill): how to go on, where that is possible."""
    if args.command == "train":
        out = args.out or paths.training_folder(args.n_e)    # stopped before the defaults
        if os.path.exists(os.path.join(out, "checkpoint.npz")):
            return (f": the finished chunks are saved in {out}; continue with the same "
                    f"command and --resume")
        return ": no chunk was finished, nothing to resume"
    if args.command in ("label", "evaluate"):
        partial = os.path.join(args.weights, "partial")
        if os.path.isdir(partial) and any(files for _, _, files in os.walk(partial)):
            return f": the finished chunks are kept in {partial}; the same command continues from them"
    return ""


# -- train, label, evaluate ---------------------------------------------------
def train(args):
    check(args.resume or not args.change_values, "--change-values", True,
          "used with --resume (a new training takes --theta-plus and --w-inh-exc as given)")
    check(not args.change_values or args.theta_plus is not None or args.w_inh_exc is not None,
          "--change-values", True, "given with --theta-plus or --w-inh-exc (the new values)")
    settings = settings_from(args, phase="training", epochs=1,
                             theta_plus=_volts(args.theta_plus), w_inh_exc=args.w_inh_exc,
                             change_values=args.change_values)
    size = size_protocol(settings.n_e)
    settings = settings.replace(epochs=size.epochs if args.epochs is None else args.epochs)
    examples = size.examples if args.examples is None else args.examples
    check(examples >= 1, "--examples", examples, "an integer of at least 1")
    out = args.out
    print(_protocol_line(settings, examples, size))
    images, labels = data.load("training", args.mnist_dir, examples)
    start = time.time()
    network = pipeline.train(settings, out, images, labels, resume=args.resume)
    history = network.metadata["running_accuracy"]
    estimate = f"; last running accuracy {100 * history[-1][1]:.2f}%" if history else ""
    took = f"{time.time() - start:.0f} s"
    if args.resume:     # the metadata's wall time includes the runs before this one
        took += f" ({network.metadata['wall_time_s']:.0f} s in all with the earlier runs)"
    print(f"trained N_e={settings.n_e} ({settings.rule} rule) on "
          f"{network.metadata['images_seen']} images in {took}{estimate}; saved to {out}")
    print(f"next: {paths.how_to_run('evaluate')} --weights {out}   (labels it first, then "
          f"tests it)")


def _volts(millivolts):
    return None if millivolts is None else millivolts / 1000


def _protocol_line(settings, examples, size):
    """What a training is about to do, and where its values come from."""
    values = settings.new_network_values
    chosen = SizeProtocol(values["theta_plus"], values["w_inh_exc"], examples, settings.epochs)
    if settings.n_e not in p.SIZES:
        source = f"N_e={settings.n_e} is not in parameters.SIZES: the 400-neuron values, one pass"
    elif chosen == size:
        source = "as parameters.SIZES gives for this size (the paper's training length)"
    else:
        source = f"changed by flags from parameters.SIZES[{settings.n_e}]"
    rule = "--rule" if settings.rule != p.LEARNING_RULE else "parameters.LEARNING_RULE"
    return (f"training N_e={settings.n_e} with the {settings.rule} rule ({rule}): "
            f"{chosen.description}; {source}")


def label(args):
    images, labels = data.load("training", args.mnist_dir, args.examples)
    network, result = pipeline.label(settings_from(args, phase="labelling"), args.weights,
                                     images, labels)
    assignments = network.assignments
    per_class = np.bincount(assignments[assignments >= 0], minlength=p.N_CLASSES)
    print(f"labelled {len(assignments)} neurons on {len(images)} training images "
          f"({result.presentations.mean():.2f} presentations per image); "
          f"unassigned: {np.sum(assignments < 0)}; neurons per class: {per_class.tolist()}")
    if args.command == "label":
        print(f"next: {paths.how_to_run('evaluate')} --weights {args.weights}")


def evaluate(args):
    check(args.repeats >= 1, "--repeats", args.repeats, "an integer of at least 1")
    images, labels = data.load("testing", args.mnist_dir, args.examples)
    if storage.load_network(args.weights).assignments is None:
        print(f"{args.weights} has no assignments: labelling it first on "
              f"{args.label_examples:,} training images (what {paths.how_to_run('label')} does)")
        label(argparse.Namespace(**dict(vars(args), examples=args.label_examples)))
    scores, _ = pipeline.test(settings_from(args, phase="testing"), args.weights, images,
                              labels, repeats=args.repeats)
    accuracies = np.array([score["accuracy"] for score in scores])
    presentations = np.mean([score["presentations_per_image"] for score in scores])
    print(f"evaluated {args.weights} on {len(images)} test images "
          f"({presentations:.2f} presentations per image)")
    if len(scores) == 1:
        print(f"accuracy: {100 * accuracies[0]:.2f}%")
    else:
        print(f"accuracy over {len(scores)} repeats: {100 * accuracies.mean():.2f}% "
              f"+- {100 * accuracies.std(ddof=1):.2f}% (mean +- SD; each: "
              f"{', '.join(f'{100 * a:.2f}' for a in accuracies)})")
    if args.json:
        save_json(args.json, _evaluation_record(args, scores))


def _evaluation_record(args, scores):
    """What evaluate --json writes: the mean over repeats, then each repeat."""
    accuracies = [score["accuracy"] for score in scores]
    confusion = sum(score["confusion"] for score in scores)
    shown = confusion.sum(axis=1)
    per_class = [float(confusion[k, k] / n) if n else None for k, n in enumerate(shown)]
    return dict(
        weights=args.weights, test_images=args.examples, repeats=len(scores),
        accuracy=float(np.mean(accuracies)),
        accuracy_sd=float(np.std(accuracies, ddof=1)) if len(scores) > 1 else None,
        per_class_accuracy=per_class, confusion_matrix=confusion.tolist(),
        presentations_per_image=float(np.mean([s["presentations_per_image"] for s in scores])),
        each_repeat=[dict(accuracy=s["accuracy"], presentations_per_image=s["presentations_per_image"])
                     for s in scores])


# -- plot ---------------------------------------------------------------------
def plot(args):
    network = storage.load_network(args.weights)
    name = os.path.basename(os.path.normpath(args.weights))
    os.makedirs(args.out, exist_ok=True)
    path = lambda what: os.path.join(args.out, f"{name}_{what}.png")  # noqa: E731
    plots.receptive_fields(network.weights, path("receptive_fields"))
    plots.theta_per_neuron(network.theta, network.assignments, path("theta"))
    history = network.metadata.get("running_accuracy")
    if history:
        plots.training_accuracy(history, path("training_accuracy"))
    else:  # e.g. a network saved from a checkpoint: its log stayed in the training folder
        print(f"{args.weights}/metadata.json records no running accuracy: "
              "no training-accuracy figure")
    if args.result:
        result = storage.load_evaluation_file(args.result)
        repeats = result.get("repeats", 1)
        shown = f"{result['test_images']} images" + (f" x {repeats} repeats" if repeats > 1
                                                      else "")
        plots.confusion(result["confusion_matrix"], path("confusion"),
                        f"{name}: test accuracy {100 * result['accuracy']:.2f}% ({shown})")
    images, _ = data.load("testing", args.mnist_dir, args.raster_image + 1)
    plots.presentation_raster(experiments.presentation(network, images[args.raster_image]),
                              path("raster"))
    print(f"figures for {args.weights} written to {args.out}/{name}_*.png")


# -- classify -----------------------------------------------------------------
def classify(args):
    check(0 <= args.refuse_below <= 1, "--refuse-below", args.refuse_below, "a margin from 0 to 1")
    named, unread = _images_to_classify(args)
    if not named:   # nothing readable: the reasons are the error
        raise ImageError("; ".join(unread.values()))
    with Classifier.load(args.weights, build_dir=args.build_dir) as classifier:
        result = classifier.classify(np.stack([conversion.image for _, conversion in named]))
        if args.plot:
            os.makedirs(args.plot, exist_ok=True)
        answers = [_answer(args, classifier, result, k, name, conversion)
                   for k, (name, conversion) in enumerate(named)]
    for name, reason in unread.items():
        print(f"{name}: not classified: {reason}")
        answers.append(dict(image=name, digit=None, error=reason))
    if args.json:
        save_json(args.json, dict(weights=args.weights, answers=answers))
    if unread:
        raise ImageError(f"{len(unread)} of {len(named) + len(unread)} pictures could not be "
                         f"classified (above); the others were")


def _answer(args, classifier, result, k, name, conversion):
    """Print the answer for image ``k`` (and draw it, with --plot); return it as a record."""
    scores = ", ".join("-" if np.isnan(s) else f"{s:.2f}" for s in result.scores[k])
    doubts = conversion.doubts + result.doubts(k)
    refused = bool(conversion.doubts or result.margins[k] < args.refuse_below)
    answer = "refused" if refused else str(result.digits[k])
    print(f"{name}: {answer}   (class scores 0-9: {scores}; {result.counts[k].sum()} "
          f"spikes; margin {result.margins[k]:.2f})")
    if doubts:
        print(f"  {'refused' if refused else 'unsure'}: {'; '.join(doubts)}")
    if args.plot:
        path = os.path.join(args.plot, _figure_name(name))
        plots.classification(conversion.image, result.scores[k],
                             classifier.receptive_field(result.counts[k]), path,
                             f"{name}: classified as {result.digits[k]}")
        print(f"  figure: {path}")
    return dict(image=name, digit=None if refused else int(result.digits[k]),
                network_digit=int(result.digits[k]),
                class_scores=[None if np.isnan(s) else float(s) for s in result.scores[k]],
                spikes=int(result.counts[k].sum()), margin=float(result.margins[k]),
                refused=refused, doubts=doubts)


def _images_to_classify(args):
    """(name, images.Conversion) of every file and MNIST test index given, and
    {name: reason} of the files that cannot be classified (unreadable, blank): one
    bad picture does not stop the others."""
    named, unread = [], {}
    for path in args.images:
        try:
            named.append((path, images.read(path)))
        except ImageError as error:
            unread[path] = str(error).removeprefix(f"{path}: ")
    if args.mnist_test:
        test_images, test_labels = data.load("testing", args.mnist_dir)
        for index in args.mnist_test:
            check(0 <= index < len(test_images), "--mnist-test", index,
                  f"an index from 0 to {len(test_images) - 1}")
            named.append((f"MNIST test image {index} (label {test_labels[index]})",
                           images.Conversion(test_images[index])))
    if not named and not unread:
        raise SettingsError("nothing to classify: give image files or --mnist-test INDEX")
    return named, unread


def _figure_name(name):
    stem = os.path.splitext(os.path.basename(name))[0] if os.path.exists(name) else name
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem) + ".png"




# -- cache --------------------------------------------------------------------
def cache(args):
    from .programs import cached_programs, default_build_dir, remove_program
    root = args.build_dir or default_build_dir()
    if os.path.exists(root) and not os.path.isdir(root):
        raise StorageError(f"the build folder {root} is a file, not a folder")
    programs = cached_programs(root)
    total = sum(size for _, size in programs)
    others = len(os.listdir(root)) - 2 * len(programs) if os.path.isdir(root) else 0
    print(f"{root}: {len(programs)} compiled programs, {total / 2 ** 20:.0f} MiB" +
          (f"; {others} other files or folders, not made by this program: never touched"
           if others > 0 else ""))
    if args.clear:
        kept = [folder for folder, _ in programs if not remove_program(folder)]
        print(f"cleared {len(programs) - len(kept)}" +
              (f"; kept {len(kept)} in use by a running command" if kept else ""))


# -- download -----------------------------------------------------------------
def download(args):
    if args.verify:
        data.verify(args.mnist_dir)
        print(f"MNIST in {data.mnist_dir(args.mnist_dir)}: all four checksums match")
        return
    try:
        directory = data.download(args.mnist_dir, args.mirror)
    except OSError as error:
        raise MnistError(f"download from {args.mirror} failed: {error}") from error
    print(f"MNIST downloaded to {directory}; all four checksums match")
