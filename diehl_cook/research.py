"""The research commands of ``diehl-cook``: compare networks, time the engine, sweep a
constant, calibrate the per-size values, measure pictures, and the tutorial's
experiments (``cli`` parses, this runs; the everyday commands are in ``commands``).
"""
import json
import os
import platform
import sys
import tempfile
import time

import numpy as np

from . import calibration, data, experiments, images, paths, pipeline, plots, storage
from .classifier import CLOSE_SECOND, Classifier
from . import parameters as p
from .commands import STANDARD_OUTPUT, save_json, settings_from
from .engine import Engine
from .memory import CpuTime, PeakMemory
from .errors import SettingsError, StorageError
from .network import TrainedNetwork
from .reference import run_reference
from .settings import FULL_MODEL, Mechanisms, check

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


def pictures(args):
    check(args.repeats >= 1, "--repeats", args.repeats, "an integer of at least 1")
    check(args.per_digit >= 1, "--per-digit", args.per_digit, "an integer of at least 1")
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
    typed_arrays = np.stack([c.image for c in typed])
    reference = _typed_against_mnist(typed_arrays, typed_labels, args.mnist_dir)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        forms = {form: experiments.as_pictures(digits, folder, form)
                 for form in experiments.PICTURE_FORMS}
    batches = {"arrays": digits, **{form: np.stack([c.image for c in conversions])
                                    for form, conversions in forms.items()}}
    for weights in args.weights:
        with Classifier.load(weights, build_dir=args.build_dir) as classifier:
            answers = {form: [classifier.classify(batch, draw) for draw in range(args.repeats)]
                       for form, batch in batches.items()}
            typed_answers = [classifier.classify(typed_arrays, draw)
                             for draw in range(args.repeats)]
        each = {form: [_accuracy(answer, labels) for answer in runs] for form, runs in answers.items()}
        row = dict(weights=weights, **{form: float(np.mean(acc)) for form, acc in each.items()})
        row["typed"] = float(np.mean([_accuracy(a, typed_labels) for a in typed_answers]))
        row["typed_per_digit"] = [float(np.mean([np.mean(a.digits[typed_labels == d] == d)
                                                 for a in typed_answers]))
                                  for d in range(p.N_CLASSES)]
        row["weak"] = _weak_answers(answers["arrays"][0], labels)
        row["each_repeat"] = each
        rows.append(row)
        print(f"{weights}: " + ", ".join(f"{form} {100 * row[form]:.1f}%"
                                         for form in [*answers, "typed"])
              + (f" (means of {args.repeats} repeats)" if args.repeats > 1 else ""))
        print(f"  answers with margin < {CLOSE_SECOND}: {row['weak']['share']:.1%} of the "
              f"images, {row['weak']['accuracy']:.1%} right (the others "
              f"{row['weak']['others_accuracy']:.1%})")
    if args.json:
        save_json(args.json, dict(images=len(digits), per_digit=args.per_digit,
                                  repeats=args.repeats, fonts=fonts, networks=rows,
                                  typed_against_mnist=reference,
                                  command=" ".join(sys.argv)))


def _typed_against_mnist(typed, labels, mnist_dir):
    """How far the typed digits are from MNIST's: what the 5 nearest MNIST training
    images say each one is (no spiking network involved), and the median box, centre
    and ink of each typed digit beside the MNIST training digits'."""
    train_images, train_labels = data.load("training", mnist_dir)
    read = experiments.nearest_digits(typed, train_images, train_labels)
    per_digit = [float(np.mean(read[labels == d] == d)) for d in range(p.N_CLASSES)]
    print(f"typed digits read by their 5 nearest MNIST training images: "
          f"{100 * np.mean(read == labels):.1f}% (per digit 0-9: "
          f"{', '.join(f'{100 * a:.0f}' for a in per_digit)}%)")
    medians = {str(d): dict(typed=np.median(experiments.shape(typed[labels == d]), axis=0).tolist(),
                            mnist=np.median(experiments.shape(train_images[train_labels == d]),
                                            axis=0).tolist())
               for d in range(p.N_CLASSES)}
    return dict(nearest_5=float(np.mean(read == labels)), nearest_5_per_digit=per_digit,
                nearest_5_answers={str(d): np.bincount(read[labels == d], minlength=p.N_CLASSES)
                                   .tolist() for d in range(p.N_CLASSES)},
                median_shape=dict(columns=["height", "width", "centre row", "centre column",
                                           "ink (full pixels)"], **medians))


def _accuracy(answer, labels):
    return float(np.mean(answer.digits == labels))


def _weak_answers(answer, labels):
    """How often a close second happens, and how often such answers are right."""
    weak = answer.margins < CLOSE_SECOND
    right = answer.digits == labels
    return dict(share=float(weak.mean()),
                accuracy=float(right[weak].mean()) if weak.any() else float("nan"),
                others_accuracy=float(right[~weak].mean()) if not weak.all() else float("nan"))


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
