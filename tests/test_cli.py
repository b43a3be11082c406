"""The diehl-cook command: fast help, defaults that match the model, error classes."""
import argparse
import os
import subprocess
import sys

import numpy as np
import pytest

from diehl_cook import cli, data, research
from diehl_cook import parameters as p
from diehl_cook.errors import DiehlCookError, MnistError, SettingsError, SilentNetworkError, StorageError
from diehl_cook.settings import ENGINE_MODES, RunSettings

from conftest import DIEHL_COOK, ROOT
from test_scripts import refused


def test_help_does_not_import_brian():
    code = ("import sys; from diehl_cook import cli\n"
            "try:\n    cli.main(['train', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'brian2' not in sys.modules, 'brian2 imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "--rule {power-law,exponential,pre-post,triplet}" in done.stdout


def test_installed_command_lists_every_subcommand():
    done = subprocess.run([DIEHL_COOK, "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for name in ("train", "label", "evaluate", "plot", "benchmark", "tutorial", "sweep"):
        assert name in done.stdout


def test_help_defaults_mirror_the_model():
    assert cli.N_E_DEFAULT == p.N_E_DEFAULT
    assert cli.LEARNING_RULES == p.LEARNING_RULES and cli.LEARNING_RULE == p.LEARNING_RULE
    assert cli.CHUNK_SIZE == RunSettings().chunk_size
    assert cli.ENGINE_MODES == ENGINE_MODES and RunSettings().engine == ENGINE_MODES[0]


def test_user_errors_share_one_base_and_programming_errors_do_not():
    for error in (SettingsError, MnistError, StorageError, SilentNetworkError):
        assert issubclass(error, DiehlCookError)
    assert not issubclass(ValueError, DiehlCookError)


@pytest.mark.parametrize("flag, value, message", [
    ("n_e", -5, "--n-e must be an integer of at least 2"),
    ("chunk_size", 0, "--chunk-size must be an integer of at least 1"),
    ("seed", -1, "--seed must be an integer from 0"),
    ("jobs", -3, "--jobs must be an integer of at least 1"),
    ("epochs", 0, "--epochs must be an integer of at least 1"),
    ("rule", "hebb", "--rule must be one of"),
])
def test_invalid_settings_name_their_flag(flag, value, message):
    with pytest.raises(SettingsError, match=message):
        RunSettings(**{flag: value})


def test_a_bad_flag_value_gives_a_message_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "train.py"),
                           "--n-e", "-5", "--out", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "--n-e must be" in done.stderr
    assert "Traceback" not in done.stderr


def run_script(name, *args, **env):
    return refused(name, *args, env=dict(os.environ, **env))


def test_early_checks_come_before_any_work(tmp_path, mnist_path):
    huge = run_script("train.py", "--n-e", 10 ** 7, "--out", tmp_path / "huge")
    assert huge.returncode == 2 and "needs about" in huge.stderr and "GiB" in huge.stderr
    nothing = run_script("train.py", "--n-e", 10, "--examples", 5, "--resume",
                         "--out", tmp_path / "empty", MNIST_DIR=mnist_path)
    assert nothing.returncode == 2 and "nothing to resume" in nothing.stderr
    (tmp_path / "file").write_text("")
    unwritable = run_script("evaluate.py", "--weights", tmp_path / "none",
                            "--json", tmp_path / "file" / "result.json")
    assert unwritable.returncode == 2 and "cannot write" in unwritable.stderr
    repeats = run_script("evaluate.py", "--repeats", 0)
    assert repeats.returncode == 2 and "--repeats must be" in repeats.stderr
    for result in (huge, nothing, unwritable, repeats):
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (("NO_SUCH", "1"), "has no constant NO_SUCH"),
    (("X_TAR", "high"), "X_TAR takes a number"),
    (("X_TAR", "0.1", "--set", "MU"), "--set takes NAME=VALUE"),
    (("THETA_PLUS", "0.1", "--n-e", "100"), "takes THETA_PLUS from parameters.SIZES"),
    (("X_TAR", "0.1", "--train", "55000"), "the last 10000 training images are held out"),
    # constants a sweep cannot change for the whole run: refused in one line
    (("LEARNING_RULE", "power-law", "triplet"), "LEARNING_RULE cannot be swept: choose the rule with --rule"),
    (("PRESENTATION_TIME", "0.3"), "PRESENTATION_TIME cannot be swept: protocol.py derives"),
    (("SIZES", "1"), "SIZES cannot be swept"),
    (("UPDATE_INTERVAL", "10000.5"), "UPDATE_INTERVAL takes an integer"),
    (("X_TAR", "nan"), "X_TAR takes a number"),
    (("X_TAR", "0.1", "--jobs", "2"), "unrecognized arguments: --jobs 2")])
def test_sweep_checks_its_constants_and_held_out_images_before_any_work(
        args, message, mnist_path, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["sweep", *args, "--mnist-dir", mnist_path])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_a_swept_integer_stays_an_integer():
    assert research._constant_value("UPDATE_INTERVAL", "10000", 100) == 10000
    assert isinstance(research._constant_value("UPDATE_INTERVAL", "10000", 100), int)


@pytest.mark.parametrize("args, message", [
    (("benchmark", "--reference-images", "-1"), "--reference-images must be an integer of at least 0"),
    (("benchmark", "--engine-images", "1"), "--engine-images must be an integer of at least 3"),
    (("calibrate", "--n-e", "100", "--theta-plus", "-1", "--w-inh-exc", "17"),
     "--theta-plus must be a number of at least 0"),
    (("calibrate", "--n-e", "100", "--theta-plus", "0.1", "--w-inh-exc", "nan"),
     "--w-inh-exc must be a number of at least 0"),
    (("download", "--mirror", "abc", "--mnist-dir", "/nonexistent/mnist"),
     "--mirror must be an http://, https:// or file:// address"),
    (("train", "--n-e", "10", "--chunk-size", "10000000", "--out", "runs/never-made"),
     "small enough to fit in memory: N_e=10 with chunks of 10,000,000 images"),
    (("train", "--n-e", "10", "--change-values", "--w-inh-exc", "20", "--out", "runs/never-made"),
     "--change-values must be used with --resume"),
    (("train", "--n-e", "10", "--resume", "--change-values", "--out", "runs/never-made"),
     "--change-values must be given with --theta-plus or --w-inh-exc")])
def test_values_that_cannot_work_are_refused_in_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(list(args))
    error = capsys.readouterr().err
    assert stop.value.code == 2 and message in error, error
    assert not os.path.exists("runs/never-made") and not os.path.exists("/nonexistent")


def test_a_sweep_measures_on_training_images_it_neither_trains_nor_labels_on(mnist_path):
    """Choosing a setting by the held-out images leaves the test set unseen."""
    args = argparse.Namespace(held_out=10000, train=1000, label=2000, test=10000,
                              mnist_dir=mnist_path)
    (train, train_labels), (measured, measured_labels), name = research._sweep_images(args)
    assert len(train) == 2000 and len(measured) == 10000
    first, first_labels = data.load("training", mnist_path, limit=2000)
    assert np.array_equal(train, first) and np.array_equal(train_labels, first_labels)
    last, last_labels = data.load("training", mnist_path, limit=3, start=59997)
    assert np.array_equal(measured[-3:], last) and np.array_equal(measured_labels[-3:], last_labels)
    assert name == "held-out training images 50000-59999"
