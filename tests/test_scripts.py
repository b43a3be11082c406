"""End to end on real MNIST through the three scripts, as a user runs them."""
import contextlib
import io
import json
import os
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest

from diehl_cook import cli, paths

from conftest import CHUNK, N_E, ROOT, SEED


def script(name, *args, env=None):
    done = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", name), *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    return done


def refused(name, *args, env=None, cwd=ROOT):
    """``script`` (``name`` a script's file name) or ``diehl-cook name`` run inside
    the test process, for commands that stop before any work (refusals, errors in
    what was given): the same command line, environment, folder, exit code and
    output, without a new Python that imports Brian again (2 to 3 s each). Work that
    compiles or runs a program belongs in ``script``."""
    out, err = io.StringIO(), io.StringIO()
    command = {script: command for command, script in paths.SCRIPTS.items()}.get(name)
    argv = list(map(str, args)) if command else [name, *map(str, args)]
    with mock.patch.dict(os.environ, env or os.environ, clear=True), \
            contextlib.chdir(cwd), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            cli.main(argv, command=command)
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
        finally:
            paths.started_from_script(False)
    return subprocess.CompletedProcess([name, *args], code, out.getvalue(), err.getvalue())


@pytest.fixture
def env(mnist_path, build_dir):
    return dict(os.environ, MNIST_DIR=mnist_path, DIEHL_COOK_BUILD_DIR=build_dir)


@pytest.mark.compile
def test_train_label_evaluate(tmp_path, env):
    out = tmp_path / "net"
    common = ["--chunk-size", CHUNK, "--no-progress"]
    trained = script("train.py", "--n-e", N_E, "--examples", 2 * CHUNK, "--seed", SEED,
                     "--rule", "triplet", "--out", out, *common, env=env)
    assert trained.returncode == 0, trained.stderr
    assert f"trained N_e={N_E} (triplet rule) on {2 * CHUNK} images" in trained.stdout
    assert np.load(out / "weights.npy").shape == (784, N_E)
    assert np.load(out / "theta.npy").shape == (N_E,)
    assert len(os.listdir(out / "training_log")) == 2

    labelled = script("assign_labels.py", "--weights", out, "--examples", 3 * CHUNK,
                      "--jobs", 2, *common, env=env)
    assert labelled.returncode == 0, labelled.stderr
    assignments = np.load(out / "assignments.npy")
    assert assignments.shape == (N_E,) and np.all((assignments >= -1) & (assignments < 10))
    assert np.any(assignments >= 0)

    report = tmp_path / "result.json"
    evaluated = script("evaluate.py", "--weights", out, "--examples", 3 * CHUNK,
                       "--json", report, *common, env=env)
    assert evaluated.returncode == 0, evaluated.stderr
    printed = float(evaluated.stdout.split("accuracy: ")[1].split("%")[0])
    result = json.loads(report.read_text())
    assert result["test_images"] == 3 * CHUNK
    assert round(100 * result["accuracy"], 2) == printed
    assert np.array(result["confusion_matrix"]).sum() == 3 * CHUNK
    assert len(result["per_class_accuracy"]) == 10
    metadata = json.loads((out / "metadata.json").read_text())
    assert metadata["images_seen"] == 2 * CHUNK and metadata["seed"] == SEED
    assert metadata["rule"] == "triplet"

    figures = tmp_path / "figures"
    plotted = script("plot.py", "--weights", out, "--result", report, "--out", figures, env=env)
    assert plotted.returncode == 0, plotted.stderr
    # 2 chunks are too few for a running-accuracy block: that figure is left out, and said so
    assert "no running accuracy" in plotted.stdout and metadata["running_accuracy"] == []
    drawn = ["confusion", "raster", "receptive_fields", "theta"]
    assert sorted(os.listdir(figures)) == [f"net_{what}.png" for what in drawn]


def test_user_errors_give_a_message_not_a_traceback(tmp_path, env):
    missing = refused("evaluate.py", "--weights", tmp_path / "none", env=env)
    assert missing.returncode == 2 and "no network folder" in missing.stderr
    assert "Traceback" not in missing.stderr
    no_mnist = refused("train.py", "--n-e", 10, "--examples", 5, "--out", tmp_path / "x",
                      env=dict(env, MNIST_DIR=str(tmp_path)))
    assert no_mnist.returncode == 2 and "MNIST not found" in no_mnist.stderr


SCRIPTS = ["train.py", "assign_labels.py", "evaluate.py", "download_mnist.py", "benchmark.py",
           "plot.py", "tutorial.py", "sweep.py"]


@pytest.mark.parametrize("name", SCRIPTS)
def test_help(name):
    shown = script(name, "--help")
    assert shown.returncode == 0 and "usage" in shown.stdout


def test_scripts_are_thin_entry_points():
    for name in SCRIPTS:
        text = open(os.path.join(ROOT, "scripts", name)).read()
        assert "sys.path" not in text and "from diehl_cook.cli import main" in text
