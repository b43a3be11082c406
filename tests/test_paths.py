"""Defaults that protect the repository: where commands write and which network they
read when the user names none; help texts and hints in the form the user runs."""
import json
import os
import subprocess
import time

import pytest

from diehl_cook import __version__, cli, paths
from diehl_cook.errors import StorageError
from diehl_cook.ownership import NETWORK_MARKER, mark

from conftest import DIEHL_COOK, ROOT


def network_folder(folder, marked=True):
    """A folder that looks like a saved network (metadata only: enough for the choice)."""
    os.makedirs(folder, exist_ok=True)
    if marked:
        mark(folder, NETWORK_MARKER)
    with open(os.path.join(folder, "metadata.json"), "w") as handle:
        json.dump({"n_e": 100}, handle)


def test_a_training_without_out_goes_to_runs_not_weights(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    args = cli.build_parser().parse_args(["train", "--n-e", "100"])
    paths.fill_defaults(args)
    assert args.out == os.path.join("runs", "n100")


def test_figures_and_measurements_go_to_runs_by_default():
    parser = cli.build_parser()
    assert parser.parse_args(["plot"]).out == "runs/figures"
    assert parser.parse_args(["tutorial"]).out == "runs/tutorial"
    assert parser.parse_args(["benchmark"]).json == "runs/benchmark.json"
    assert parser.parse_args(["pictures"]).json == "runs/pictures.json"
    assert "runs/" in open(os.path.join(ROOT, ".gitignore")).read().split()


def test_the_network_trained_last_into_runs_is_the_default(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    network_folder("runs/older")
    network_folder("runs/newer")
    network_folder("runs/unmarked", marked=False)     # not the project's: never chosen
    past = time.time() - 100
    os.utime("runs/older/metadata.json", (past, past))
    os.utime("runs/unmarked/metadata.json", (time.time() + 100,) * 2)
    assert paths.default_network()[0] == os.path.join("runs", "newer")
    args = cli.build_parser().parse_args(["evaluate"])
    paths.fill_defaults(args)
    assert args.weights == os.path.join("runs", "newer")


def test_without_a_training_the_shipped_network_is_the_default(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)     # no runs/, no weights/ here: the checkout's weights/n400
    folder, why = paths.default_network()
    assert os.path.samefile(folder, os.path.join(ROOT, "weights", "n400"))
    assert "shipped" in why
    # The tutorial quotes the shipped network's figures, whatever was trained since.
    network_folder("runs/mine")
    args = cli.build_parser().parse_args(["tutorial", "inhibition"])
    paths.fill_defaults(args)
    assert os.path.samefile(args.weights, os.path.join(ROOT, "weights", "n400"))


def test_an_installed_copy_says_where_the_shipped_networks_are(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(paths, "_CHECKOUT_WEIGHTS", tmp_path / "nowhere")
    paths.started_from_script(False)
    with pytest.raises(StorageError, match="weights/ folder of the project's repository") as error:
        paths.default_network()
    assert "scripts/" not in str(error.value) and "diehl-cook train" in str(error.value)


def test_hints_name_the_command_the_way_the_user_ran_it():
    try:
        paths.started_from_script(True)
        assert paths.how_to_run("label") == "python scripts/assign_labels.py"
        assert paths.how_to_run("compare") == "diehl-cook compare"     # no script
        paths.started_from_script(False)
        assert paths.how_to_run("label") == "diehl-cook label"
    finally:
        paths.started_from_script(False)


def test_version():
    done = subprocess.run([DIEHL_COOK, "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"diehl-cook {__version__}"


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_help_shows_each_default_once(command, capsys):
    with pytest.raises(SystemExit):
        cli.main([command, "--help"])
    text = capsys.readouterr().out
    assert "(default: None)" not in text
    options = text.split("\n  -")[1:]
    for option in options:
        assert " ".join(option.split()).count("(default:") <= 1, option
    assert f"example: diehl-cook {command}" in " ".join(text.split())
