"""What each ``diehl-cook`` subcommand does (``cli`` parses, this runs).

Thin: each function reads its options, calls the pipeline, the experiments or the
plots, and prints a summary line.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time
from contextlib import contextmanager, redirect_stdout

import numpy as np

from . import calibration, data, experiments, images, ownership, paths, pipeline, plots, storage
from .classifier import CLOSE_SECOND, Classifier
from . import parameters as p
from .engine import Engine
from .memory import CpuTime, PeakMemory
from .errors import ImageError, MnistError, SettingsError, StorageError
from .network import TrainedNetwork
from .reference import run_reference
from .settings import FULL_MODEL, Mechanisms, RunSettings, SizeProtocol, check, size_protocol


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


# -- compare ------------------------------------------------------------------
def compare(args):
    """A table of trained, labelled and evaluated networks, and their receptive
    fields side by side."""
    rows, panels = [], []
    for folder in args.weights:
        network = storage.load_network(folder)
        evaluation = storage.load_evaluation(folder) or {}
        rows.append(dict(folder=folder, rule=network.rule, n_e=network.n_e,
                         images_seen=network.metadata.get("images_seen"),
                         accuracy=evaluation.get("accuracy"),
                         test_presentations_per_image=evaluation.get("presentations_per_image"),
                         training_wall_time_s=network.metadata.get("wall_time_s"),
                         training=storage.training_log_summary(folder)))
        accuracy = evaluation.get("accuracy")
        panels.append((f"{network.rule}" + (f": {100 * accuracy:.2f}%" if accuracy else ""),
                       network.weights))
        print(_compare_line(rows[-1]))
    if args.figure:
        plots.fields_side_by_side(panels, args.figure)
    if args.running_accuracy:
        _, labels = data.load("training", args.mnist_dir)
        curves = {f"{row['folder']} (N_e = {row['n_e']:,})":
                  pipeline.running_accuracy(row["folder"], storage.load_network(row["folder"]),
                                            labels) for row in rows}
        plots.running_accuracy_by_pass(curves, args.running_accuracy)
        print(f"running accuracy over passes written to {args.running_accuracy}")
    if args.json:
        save_json(args.json, dict(networks=rows, command=" ".join(sys.argv)))


def _compare_line(row):
    accuracy = "not evaluated" if row["accuracy"] is None else f"{100 * row['accuracy']:.2f}%"
    training = row["training"] or {}
    spikes = training.get("spikes_per_image")
    return (f"{row['folder']}: {row['rule']} rule, N_e={row['n_e']}, {row['images_seen']} "
            f"training images in {row['training_wall_time_s']} s; test accuracy {accuracy}; "
            + (f"{spikes:.1f} spikes per training image; " if spikes else "")
            + f"{row['test_presentations_per_image']} presentations per test image")


# -- benchmark ----------------------------------------------------------------
def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def _measure(label, result, seconds, cpu_seconds=None):
    presentations = int(result.presentations.sum())
    figures = dict(images=len(result.presentations), presentations=presentations,
                   seconds=round(seconds, 3),
                   ms_per_presentation=round(1000 * seconds / presentations, 2),
                   presentations_per_image=round(presentations / len(result.presentations), 3))
    cpu = ""
    if cpu_seconds is not None:
        figures.update(cpu_seconds=round(cpu_seconds, 3),
                       cpu_ms_per_presentation=round(1000 * cpu_seconds / presentations, 2))
        cpu = f" {figures['cpu_ms_per_presentation']:>9.2f} ms CPU/pres"
    print(f"{label:<40} {figures['images']:>6} img {presentations:>6} pres "
          f"{figures['ms_per_presentation']:>9.2f} ms/pres{cpu}", flush=True)
    return figures


# Images of the short run whose cost the benchmark takes as a run's start-up (reading
# the synapses, writing the results), to give the cost of a presentation without it.
STARTUP_IMAGES = 2


def _bench_engine(settings, network, images, label, profile=False):
    """Build the engine (or reuse it), time one run on ``images`` (wall and CPU time,
    the compiled program included) and measure the peak memory of this process and
    the program during it. A run of STARTUP_IMAGES images gives a run's fixed cost;
    ``per_presentation`` is the rest: (CPU of the run - CPU of the short run) /
    (presentations of the run - presentations of the short run), and ``loop_ms`` the
    run's simulation loop alone as the program timed it (CPU time with Brian 2.9, wall
    time from 2.10), per presentation: steadier at 6,400 neurons, where the start-up
    (seconds) varies more than the run's difference can show. With ``profile``, a
    second, profiled program on the same images gives the time of each object."""
    engine, build = _timed(lambda: Engine(settings, network.delays))
    print(f"{label}: engine build (generate + compile, or reuse) {build:.1f} s", flush=True)
    with engine:
        runs = []
        for part in (images[:STARTUP_IMAGES], images):
            with PeakMemory() as memory, CpuTime() as cpu:
                result, seconds = _timed(lambda: engine.run(part, network, seed=1))
            runs.append((result, seconds, cpu.seconds))
        loop = engine.loop_seconds()
    (short, short_wall, short_cpu), (result, seconds, cpu_seconds) = runs
    extra = max(int(result.presentations.sum()) - int(short.presentations.sum()), 1)
    figures = dict(build_seconds=round(build, 1),
                   engine_steady_state=_measure(f"{label} engine", result, seconds, cpu_seconds),
                   startup_run=dict(images=len(short.presentations),
                                    presentations=int(short.presentations.sum()),
                                    seconds=round(short_wall, 3), cpu_seconds=round(short_cpu, 3)),
                   per_presentation=dict(
                       ms=round(1000 * (seconds - short_wall) / extra, 2),
                       cpu_ms=round(1000 * (cpu_seconds - short_cpu) / extra, 2),
                       loop_ms=round(1000 * loop / int(result.presentations.sum()), 2)),
                   peak_memory_mib=round(memory.peak / 2 ** 20))
    print(f"  without the run's start-up ({short_cpu:.2f} s CPU): "
          f"{figures['per_presentation']['cpu_ms']:.2f} ms CPU, "
          f"{figures['per_presentation']['ms']:.2f} ms wall per presentation; "
          f"the simulation loop alone {figures['per_presentation']['loop_ms']:.2f} ms")
    print(f"  peak memory (Python and the program) {figures['peak_memory_mib']} MiB")
    if profile:
        with Engine(settings, network.delays, profile=True) as profiled:
            result = profiled.run(images, network, seed=1)
            figures["profile"] = _profile_table(profiled.profiling_info(),
                                                int(result.presentations.sum()))
    return figures


def _profile_table(info, presentations):
    """Brian's per-object times as rows (object, seconds, %, ms per presentation),
    printed as a table."""
    total = sum(seconds for _, seconds in info)
    rows = [dict(code_object=name, seconds=round(seconds, 3),
                 percent=round(100 * seconds / total, 1),
                 ms_per_presentation=round(1000 * seconds / presentations, 3))
            for name, seconds in info]
    print(f"  {'code object (profiled run)':<46} {'s':>8} {'%':>6} {'ms/pres':>8}")
    for row in rows:
        if row["percent"] >= 0.5:
            print(f"  {row['code_object']:<46} {row['seconds']:>8.2f} {row['percent']:>6.1f} "
                  f"{row['ms_per_presentation']:>8.3f}")
    print(f"  {'total':<46} {total:>8.2f} {100:>6.1f} {1000 * total / presentations:>8.3f}")
    return rows


def benchmark(args):
    check(args.engine_images >= STARTUP_IMAGES + 1, "--engine-images", args.engine_images,
          f"an integer of at least {STARTUP_IMAGES + 1}")
    check(args.reference_images >= 0, "--reference-images", args.reference_images,
          "an integer of at least 0")
    check(args.compare_engines >= 0, "--compare-engines", args.compare_engines,
          "an integer of at least 0")
    chunk = max(args.engine_images, args.reference_images, args.compare_engines)
    images, _ = data.load("training", args.mnist_dir, chunk + 1)
    same = images[1:args.reference_images + 1]
    print(f"N_e = {args.n_e}; {os.cpu_count()} cores; {args.threads} thread(s) per program; "
          f"{platform.platform()}")
    figures = dict(n_e=args.n_e, threads=args.threads,
                   machine=dict(cpus=os.cpu_count(), processor=platform.processor(),
                                platform=platform.platform()),
                   versions=storage.versions(), training={})
    for rule in args.rules:
        settings = settings_from(args, phase="training", rule=rule, chunk_size=chunk)
        network = TrainedNetwork.untrained(args.n_e, 0, rule)
        figures["training"][rule] = _bench_engine(settings, network, images[:args.engine_images],
                                                  f"training, {rule} rule", args.profile)
    settings = settings_from(args, phase="testing", chunk_size=chunk)
    figures["frozen"] = _bench_engine(settings, network, images[:args.engine_images], "frozen",
                                      args.profile)
    if args.reference_images:
        figures["reference"] = _bench_reference(args, same, figures)
    if args.compare_engines:
        figures["engine_modes"] = _compare_engine_modes(args, args.compare_engines)
    save_json(args.json, figures)
    if args.json != STANDARD_OUTPUT:
        print(f"figures written to {args.json}")


def _compare_engine_modes(args, n_images):
    """Train the untrained network (triplet rule) on the first ``n_images`` training
    images in exact and in fast mode: whether every presentation had the same spikes,
    and how far the weights and theta ended apart."""
    images, _ = data.load("training", args.mnist_dir, n_images)
    network = TrainedNetwork.untrained(args.n_e, 0, "triplet")
    results = {}
    for mode in ("exact", "fast"):
        settings = settings_from(args, phase="training", rule="triplet", chunk_size=n_images,
                                 engine=mode)
        with Engine(settings, network.delays) as engine:
            results[mode] = engine.run(images, network, seed=1)
    exact, fast = results["exact"], results["fast"]
    same = exact.log.shape == fast.log.shape and bool(
        np.array_equal(exact.log, fast.log) and np.array_equal(exact.counts, fast.counts))
    figures = dict(images=n_images, presentations=len(exact.log), same_spikes=same,
                   spikes=int(exact.counts.sum()),
                   weights_max_difference=float(np.abs(exact.network.weights
                                                       - fast.network.weights).max()),
                   theta_max_difference=float(np.abs(exact.network.theta
                                                     - fast.network.theta).max()))
    print(f"exact and fast mode on the first {n_images} training images: "
          f"{'the same' if same else 'NOT the same'} spikes ({figures['spikes']} in "
          f"{figures['presentations']} presentations); weights apart by at most "
          f"{figures['weights_max_difference']:g}, theta by {figures['theta_max_difference']:g} V")
    return figures


def _bench_reference(args, images, figures):
    """The plain Python loop (what most ports run: the textbook triplet rule), timed
    after a warm-up image, against the engine's steady state."""
    loops = dict(training=(settings_from(args, phase="training", rule="triplet"), True),
                 frozen=(settings_from(args, phase="testing"), False))
    measured = {}
    for phase, (settings, textbook) in loops.items():
        network = TrainedNetwork.untrained(args.n_e, 0, "triplet")
        run_reference(settings, network, images[:1], seed=1, textbook=textbook)  # warm-up
        loop = _measure(f"{phase} loop" + (", textbook triplet" if textbook else ""),
                        *_timed(lambda: run_reference(settings, network, images, seed=1,
                                                      textbook=textbook)))
        engine = (figures["training"].get("triplet") if textbook else figures["frozen"])
        if engine is not None:
            speedup = loop["ms_per_presentation"] / engine["engine_steady_state"]["ms_per_presentation"]
            loop["engine_speedup"] = round(speedup, 1)
            print(f"  speed-up of the engine: {speedup:.0f}x")
        measured[phase] = loop
    return measured


# -- sweep --------------------------------------------------------------------
def sweep(args):
    assignments = dict(map(_assignment, args.set))
    fixed = {name: _constant_value(name, text, args.n_e) for name, text in assignments.items()}
    values = [_constant_value(args.parameter, text, args.n_e) for text in args.values]
    train_set, measured, measured_on = _sweep_images(args)
    # One process: worker processes would import parameters.py afresh, with the
    # file's values instead of the swept ones.
    settings = settings_from(args, phase="training", jobs=1)
    saved = {name: getattr(p, name) for name in [*fixed, args.parameter]}
    rows = []
    try:
        for name, value in fixed.items():
            setattr(p, name, value)
        for text, value in zip(args.values, values):
            setattr(p, args.parameter, value)
            started = time.time()
            result = experiments.ablation(
                settings, (train_set[0][:args.train], train_set[1][:args.train]),
                (train_set[0][:args.label], train_set[1][:args.label]), measured)
            row = {k: v for k, v in result.items() if k not in ("weights", "theta", "mechanisms")}
            rows.append(dict(row, value=_number_or_word(text),
                             wall_time_s=round(time.time() - started, 1)))
            print(_sweep_line(args.parameter, rows[-1], measured_on), flush=True)
    finally:
        for name, value in saved.items():
            setattr(p, name, value)
    if args.json:
        save_json(args.json, dict(
            parameter=args.parameter, rule=args.rule, n_e=args.n_e, train=args.train,
            label=args.label, measured_on=measured_on, seed=args.seed,
            fixed={name: _number_or_word(text) for name, text in assignments.items()},
            command=" ".join(sys.argv), results=rows))


def _assignment(text):
    name, equals, value = text.partition("=")
    if not equals:
        raise SettingsError(f"--set takes NAME=VALUE, not {text!r}")
    return name.strip(), value.strip()


def _number_or_word(text):
    try:
        return float(text)
    except ValueError:
        return text


# Constants a sweep cannot change for a run, and why. (A sweep sets a constant of
# parameters.py in this process; a value derived from a constant when a module is
# imported would keep the file's value.)
NOT_SWEPT = {
    "LEARNING_RULE": "choose the rule with --rule",
    "LEARNING_RULES": "it lists the rules the project has",
    "SIZES": "its per-size values are chosen with calibrate, or train --theta-plus / --w-inh-exc",
    "PRESENTATION_TIME": "protocol.py derives the steps of a presentation from it on import",
    "REST_TIME": "protocol.py derives the steps of a presentation from it on import",
    "DT": "protocol.py derives the steps of a presentation from it on import",
    "N_INPUT": "MNIST's images have 784 pixels",
    "N_CLASSES": "MNIST has 10 classes",
    "N_E_DEFAULT": "choose the size with --n-e",
}


def _constant_value(name, text, n_e):
    """``text`` as a value of the constant ``parameters.<name>``, in its unit and
    type; SettingsError for a constant that cannot be swept or a value it cannot take."""
    if not name.isupper() or not hasattr(p, name):
        raise SettingsError(f"diehl_cook/parameters.py has no constant {name}")
    if name in NOT_SWEPT:
        raise SettingsError(f"{name} cannot be swept: {NOT_SWEPT[name]}")
    if name in ("THETA_PLUS", "W_INH_EXC") and n_e in p.SIZES:
        raise SettingsError(f"N_e={n_e} takes {name} from parameters.SIZES; "
                            f"use {paths.how_to_run('calibrate')} (or train --theta-plus / --w-inh-exc)")
    current = getattr(p, name)
    if isinstance(current, str):
        return text
    if isinstance(current, (dict, list, tuple, set)):
        raise SettingsError(f"{name} cannot be swept: it is a {type(current).__name__}, and a "
                            f"sweep takes constants that are numbers or words")
    value = _number_or_word(text)
    if isinstance(value, str) or not np.isfinite(value):
        raise SettingsError(f"{name} takes a number, not {text!r}")
    if isinstance(current, (int, np.integer)) and not isinstance(current, bool):
        if value != int(value):
            raise SettingsError(f"{name} takes an integer, not {text!r}")
        return int(value)
    return value * (current / float(current) if float(current) else 1.0)


def _sweep_images(args):
    """The training images, the images measured and what they are. Measuring on
    held-out training images lets a sweep choose a setting without the test set."""
    used = max(args.train, args.label)
    if args.held_out == 0:
        return (data.load("training", args.mnist_dir, used),
                data.load("testing", args.mnist_dir, args.test), f"{args.test} test images")
    total = data.SIZES["training"]
    first = total - args.held_out
    check(0 < args.held_out < total, "--held-out", args.held_out, f"from 0 to {total - 1} images")
    check(used <= first, "--train/--label", used,
          f"at most {first}: the last {args.held_out} training images are held out")
    return (data.load("training", args.mnist_dir, used),
            data.load("training", args.mnist_dir, start=first),
            f"held-out training images {first}-{total - 1}")


def _sweep_line(parameter, row, measured_on):
    accuracy = "silent" if row["accuracy"] is None else f"{100 * row['accuracy']:.2f}%"
    return (f"{parameter} = {row['value']}: accuracy {accuracy} on {measured_on}; training "
            f"{row['training_spikes_per_presentation']:.1f} spikes per presentation, "
            f"{row['training_presentations_per_image']:.2f} presentations per image "
            f"({row['wall_time_s']:.0f} s)")


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


def pictures(args):
    test_images, test_labels = data.load("testing", args.mnist_dir)
    chosen = np.concatenate([np.flatnonzero(test_labels == digit)[:args.per_digit]
                             for digit in range(p.N_CLASSES)])
    digits, labels = test_images[chosen], test_labels[chosen]
    fonts = experiments.machine_fonts()
    typed = [conversion for font in fonts
             for conversion in map(images.read_picture, experiments.typed_digits(font))]
    typed_labels = np.tile(np.arange(p.N_CLASSES), len(fonts))
    print(f"{len(digits)} MNIST test images ({args.per_digit} per digit); {len(typed)} typed "
          f"digits ({len(fonts)} fonts)")
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        forms = {form: experiments.as_pictures(digits, folder, form)
                 for form in experiments.PICTURE_FORMS}
    for weights in args.weights:
        with Classifier.load(weights, build_dir=args.build_dir) as classifier:
            answers = {"arrays": classifier.classify(digits)}
            for form, conversions in forms.items():
                answers[form] = classifier.classify(np.stack([c.image for c in conversions]))
            typed_answer = classifier.classify(np.stack([c.image for c in typed]))
        row = dict(weights=weights, **{form: _accuracy(answer, labels)
                                       for form, answer in answers.items()})
        row["typed"] = _accuracy(typed_answer, typed_labels)
        row["typed_per_digit"] = [float(np.mean(typed_answer.digits[typed_labels == d] == d))
                                  for d in range(p.N_CLASSES)]
        row["weak"] = _weak_answers(answers["arrays"], labels)
        rows.append(row)
        print(f"{weights}: " + ", ".join(f"{form} {100 * row[form]:.1f}%"
                                         for form in [*answers, "typed"]))
        print(f"  answers with margin < {CLOSE_SECOND}: {row['weak']['share']:.1%} of the "
              f"images, {row['weak']['accuracy']:.1%} right (the others "
              f"{row['weak']['others_accuracy']:.1%})")
    if args.json:
        save_json(args.json, dict(images=len(digits), per_digit=args.per_digit,
                                          fonts=fonts, networks=rows,
                                          command=" ".join(sys.argv)))


def _accuracy(answer, labels):
    return float(np.mean(answer.digits == labels))


def _weak_answers(answer, labels):
    """How often a close second happens, and how often such answers are right."""
    weak = answer.margins < CLOSE_SECOND
    right = answer.digits == labels
    return dict(share=float(weak.mean()),
                accuracy=float(right[weak].mean()) if weak.any() else float("nan"),
                others_accuracy=float(right[~weak].mean()) if not weak.all() else float("nan"))


def _figure_name(name):
    stem = os.path.splitext(os.path.basename(name))[0] if os.path.exists(name) else name
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem) + ".png"


# -- calibrate ----------------------------------------------------------------
def calibrate(args):
    for flag, values in (("--theta-plus", args.theta_plus), ("--w-inh-exc", args.w_inh_exc)):
        for value in values:
            check(np.isfinite(value) and value >= 0, flag, value, "a number of at least 0")
    check(args.images >= 1, "--images", args.images, "an integer of at least 1")
    settings = settings_from(args, phase="training")
    reference = settings.replace(n_e=args.reference_n_e)
    candidates = [calibration.Candidate(theta_plus / 1000, w)
                  for theta_plus in args.theta_plus for w in args.w_inh_exc]
    images, _ = data.load("training", args.mnist_dir, args.images)
    print(f"calibrating N_e={settings.n_e} ({settings.rule} rule) on {len(images)} training "
          f"images: {len(candidates)} candidates against N_e={reference.n_e}")
    target, rows = calibration.calibrate(settings, reference, candidates, images)
    print(f"target (N_e={reference.n_e}, {_values(target)}): {_response(target)}")
    for row in sorted(rows, key=lambda r: (r["theta_plus"], r["w_inh_exc"])):
        print(f"  {_values(row)}: {_response(row)}; mismatch {row['mismatch']:.3f}")
    print(f"closest: {_values(rows[0])} (put it in parameters.SIZES[{settings.n_e}])")
    if args.json:
        save_json(args.json, dict(
            n_e=settings.n_e, rule=settings.rule, images=len(images), seed=settings.seed,
            target=target, candidates=rows, chosen=rows[0], command=" ".join(sys.argv)))


def _values(row):
    return f"theta_plus {1000 * row['theta_plus']:g} mV, inh -> exc {row['w_inh_exc']:g}"


def _response(row):
    return (f"{row['spikes_per_presentation']:.2f} spikes per presentation, "
            f"{row['presentations_per_image']:.3f} presentations per image, "
            f"{100 * row['fraction_fired']:.0f}% of neurons fired, "
            f"{row['active_neurons_per_image']:.1f} active per image")


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


# -- tutorial -----------------------------------------------------------------
ABLATIONS = (Mechanisms(), Mechanisms(lateral_inhibition=False),
             Mechanisms(adaptive_threshold=False), Mechanisms(normalization=False))


def tutorial(args):
    parts = dict(stdp=_stdp_part, inhibition=_inhibition_part, ablations=_ablations_part)
    unknown = set(args.parts) - set(parts)
    if unknown:
        raise SettingsError(f"unknown part(s) {', '.join(sorted(unknown))}; "
                            f"choose among {', '.join(parts)}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "tutorial_results.json")
    results = {}
    if os.path.exists(path):
        try:
            with open(path) as handle:
                results = json.load(handle)
            if not isinstance(results, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as error:
            raise StorageError(f"{path} is not a results file of the tutorial ({error}): move "
                               f"it away, or give another --out") from None
    for part in args.parts or parts:
        results[part] = dict(parts[part](args), command=" ".join(sys.argv))
        storage.save_json(path, results)
    print(f"figures in {args.out}/tutorial_*.png, numbers in {path}")


def _figure(args, name):
    return os.path.join(args.out, f"tutorial_{name}.png")


def _stdp_part(args):
    window = experiments.stdp_window(np.arange(-80, 81, 2.0))
    example = experiments.trace_example()
    plots.stdp_window(window, example, _figure(args, "stdp_window"))
    print(f"STDP: largest potentiation {float(window['after_post'].max()):.5f}, largest "
          f"depression {float(window['isolated'].min()):.6f}; isolated pairs never potentiate")
    return dict(dt_ms=window["dt_ms"].tolist(), isolated=window["isolated"].tolist(),
                after_post=window["after_post"].tolist(), triplet_change=example["change"])


def _inhibition_part(args):
    network = storage.load_network(args.weights)
    images, labels = data.load("testing", args.mnist_dir, 1)
    result = {}
    for name, mechanisms in (("on", FULL_MODEL), ("off", Mechanisms(lateral_inhibition=False))):
        shown = experiments.presentation(network, images[0], mechanisms)
        plots.presentation_raster(shown, _figure(args, f"inhibition_{name}"),
                                  title=f"Lateral inhibition {name}")
        counts = shown["counts"]
        result[name] = dict(spikes=int(counts.sum()), active_neurons=int(np.sum(counts > 0)))
        print(f"inhibition {name}: {counts.sum()} excitatory spikes from "
              f"{np.sum(counts > 0)} of {network.n_e} neurons (test image 0, a {labels[0]})")
    # The drive of question 7: how many pixels of an image are on at all.
    train_images, _ = data.load("training", args.mnist_dir, 10000)
    nonzero = (train_images.reshape(len(train_images), -1) > 0).sum(axis=1)
    print(f"non-zero pixels per training image (first 10,000): mean {nonzero.mean():.1f}, "
          f"sd {nonzero.std():.1f}")
    # The network's checksum, so a test can tell that the tutorial's figures are of
    # the shipped network as it is now.
    return dict(weights=args.weights, weights_sha256=network.metadata["sha256"]["weights"],
                image=0, **result, nonzero_pixels_mean=float(nonzero.mean()), nonzero_pixels_sd=float(nonzero.std()))


def _ablations_part(args):
    train_set = data.load("training", args.mnist_dir, max(args.train, args.label))
    test_set = data.load("testing", args.mnist_dir, args.test)
    results = []
    for mechanisms in ABLATIONS:
        started = time.time()
        result = experiments.ablation(
            settings_from(args, phase="training", mechanisms=mechanisms),
            (train_set[0][:args.train], train_set[1][:args.train]),
            (train_set[0][:args.label], train_set[1][:args.label]), test_set)
        result["wall_time_s"] = round(time.time() - started, 1)
        print(_ablation_line(result), flush=True)
        results.append(result)
    plots.ablation_fields(results, _figure(args, "ablations"))
    return dict(settings=dict(n_e=args.n_e, rule=args.rule, train=args.train, label=args.label,
                              test=args.test, seed=args.seed),
                variants=[{k: v for k, v in r.items() if k not in ("weights", "theta")}
                          for r in results])


def _ablation_line(result):
    line = f"{result['mechanisms']}: "
    if result["fell_silent"]:
        line += f"fell silent during training, kept its first {result['trained_images']} images; "
    if result["accuracy"] is None:
        line += "silent at test time too, no accuracy"
    else:
        line += (f"test accuracy {100 * result['accuracy']:.2f}%, {result['spikes_per_image']:.1f} "
                 f"spikes from {result['active_neurons_per_image']:.1f} neurons per test image")
    return line + f" ({result['wall_time_s']:.0f} s)"
