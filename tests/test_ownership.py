"""Nothing a user owns is touched: commands write only into folders this project
made (or new, empty ones), never onto a network's own files, and one writer at a time
per network folder. Every refusal happens before any work, with exit code 2."""
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest

from diehl_cook import ownership, storage
from diehl_cook.errors import StorageError

from conftest import ROOT
from test_scripts import env, refused  # noqa: F401  (env is a fixture)

pytestmark = pytest.mark.process

# Holds a claim until the test kills it (not for a fixed time: under load the
# commands that must be refused took longer to start than a 60 s hold lasted).
HOLD = ("import sys; from diehl_cook import ownership; "
        "claim = ownership.Claim(sys.argv[1], 'test'); print('held', flush=True); "
        "sys.stdin.read()")


@pytest.fixture
def network(tmp_path):
    """A copy of the shipped 100-neuron network."""
    folder = tmp_path / "net"
    shutil.copytree(os.path.join(ROOT, "weights", "n100"), folder)
    return folder


def snapshot(folder):
    return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))
            if (folder / name).is_file()}


def test_train_refuses_a_folder_that_is_not_a_network(tmp_path, env):  # noqa: F811
    thesis = tmp_path / "thesis"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("my thesis")
    done = refused("train.py", "--n-e", 10, "--out", thesis, env=env)
    assert done.returncode == 2, done.stderr
    assert "carries no mark of this project" in done.stderr and "Traceback" not in done.stderr
    assert os.listdir(thesis) == ["chapter1.tex"]
    assert not os.path.exists(f"{thesis}.previous-1")


def test_train_refuses_the_current_folder_and_a_file(tmp_path, env):  # noqa: F811
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("a project")
    for out in (".", str(project)):
        done = refused("train.py", "--n-e", 10, "--out", out, env=env, cwd=project)
        assert done.returncode == 2 and "is the current folder" in done.stderr, done.stderr
    assert os.listdir(tmp_path) == ["project"]
    done = refused("train.py", "--n-e", 10, "--out", project / "README.md", env=env)
    assert done.returncode == 2 and "is a file" in done.stderr, done.stderr
    assert (project / "README.md").read_text() == "a project"


def test_train_out_dot_inside_a_network_folder_is_refused(network, env):  # noqa: F811
    before = snapshot(network)
    done = refused("train.py", "--n-e", 10, "--out", ".", env=env, cwd=network)
    assert done.returncode == 2 and "is the current folder" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and snapshot(network) == before
    # Resuming the training of the current folder is another matter: nothing is set aside.
    done = refused("train.py", "--n-e", 10, "--out", ".", "--resume", env=env, cwd=network)
    assert done.returncode == 2 and "no checkpoint.npz" in done.stderr, done.stderr


def test_no_output_lands_on_a_networks_own_files(network, tmp_path, env):  # noqa: F811
    before = snapshot(network)
    for name in ("metadata.json", "weights.npy", "assignments.npy"):
        done = refused("evaluate.py", "--weights", network, "--examples", 10, "--json",
                      network / name, env=env)
        assert done.returncode == 2, done.stderr
        assert "one of the files of the network" in done.stderr
    done = refused("plot.py", "--weights", network, "--out", network / "training_log", env=env)
    assert done.returncode == 2, done.stderr
    assert snapshot(network) == before


def test_outputs_of_the_wrong_kind_are_refused_before_any_work(network, tmp_path, env):  # noqa: F811
    folder = tmp_path / "results"
    folder.mkdir()
    a_file = tmp_path / "file.txt"
    a_file.write_text("mine")
    cases = [("evaluate.py", "--weights", network, "--examples", 10, "--json", f"{folder}{os.sep}"),
             ("evaluate.py", "--weights", network, "--examples", 10, "--json", folder),
             ("classify.py", "--mnist-test", 0, "--weights", network, "--plot", a_file),
             ("plot.py", "--weights", network, "--out", a_file)]
    for name, *args in cases:
        done = refused(name, *args, env=env)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert a_file.read_text() == "mine" and os.listdir(folder) == []


def test_one_writer_at_a_time(network):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(network)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StorageError, match=f"in use by another command \\(pid {holder.pid}"):
            ownership.Claim(str(network), "a labelling")
        with pytest.raises(StorageError, match="in use by another command"):
            storage.set_aside(str(network))
        assert os.path.exists(network / "metadata.json")
        assert not os.path.exists(f"{network}.previous-1")
    finally:
        holder.kill()
        holder.wait()
    with ownership.Claim(str(network), "a labelling"):      # free once the holder is gone
        pass


def test_a_second_training_into_a_folder_in_use_is_refused(network, env):  # noqa: F811
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(network)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        done = refused("train.py", "--n-e", 100, "--examples", 10, "--out", network, env=env)
        assert done.returncode == 2 and "in use by another command" in done.stderr, done.stderr
        for command in ("assign_labels.py", "evaluate.py"):
            done = refused(command, "--weights", network, "--examples", 10, env=env)
            assert done.returncode == 2 and "in use" in done.stderr, done.stderr
    finally:
        holder.kill()
        holder.wait()
    assert json.loads((network / "metadata.json").read_text())["n_e"] == 100


def test_a_reader_waits_for_a_save_in_progress(network):
    """While a network is being saved, a load waits: it never sees the arrays of one
    save with the metadata of another."""
    loaded = []
    with ownership.saving(str(network)):
        reader = threading.Thread(target=lambda: loaded.append(storage.load_network(str(network))))
        reader.start()
        reader.join(0.5)
        assert reader.is_alive() and not loaded     # blocked: it cannot be faster than the lock
    reader.join()
    assert loaded[0].n_e == 100


def test_only_network_folders_are_set_aside(tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(StorageError, match="carries no mark"):
        storage.set_aside(str(mine))
    assert os.listdir(tmp_path) == ["mine"]


def test_the_files_of_a_network_are_recognized(network, tmp_path):
    assert ownership.network_file(network / "metadata.json")
    assert ownership.network_file(network / "training_log" / "counts_00000000.npz")
    assert not ownership.network_file(network / "evaluation.json")
    assert not ownership.network_file(tmp_path / "metadata.json")     # not a network folder


def test_files_named_like_a_networks_do_not_make_a_folder_the_projects(tmp_path, env):  # noqa: F811
    """Only the project's marker does: a user's metadata.json or another program's
    checkpoint.npz is neither moved, nor resumed, nor given the project's files."""
    dataset = tmp_path / "userproj"
    dataset.mkdir()
    (dataset / "metadata.json").write_text('{"title": "my dataset"}')
    torchrun = tmp_path / "torchrun"
    torchrun.mkdir()
    (torchrun / "checkpoint.npz").write_bytes(b"PK another program's checkpoint")
    thesis = tmp_path / "mythesis"
    thesis.mkdir()
    (thesis / "metadata.json").write_text('{"chapters": 5}')
    before = {folder: snapshot(folder) for folder in (dataset, torchrun, thesis)}
    answers = [refused("train.py", "--n-e", 10, "--out", dataset, env=env),
               refused("train.py", "--n-e", 10, "--out", torchrun, "--resume", env=env),
               refused("train.py", "--n-e", 10, "--out", torchrun, env=env),
               refused("assign_labels.py", "--weights", thesis, "--examples", 10, env=env),
               refused("evaluate.py", "--weights", thesis, "--examples", 10, env=env)]
    for done in answers:
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "carries no mark" in answers[0].stderr and "carries no mark" in answers[1].stderr
    for folder, files in before.items():
        assert snapshot(folder) == files and sorted(os.listdir(folder)) == sorted(files)
    assert sorted(os.listdir(tmp_path)) == ["mythesis", "torchrun", "userproj"]


def test_a_figure_is_written_under_the_name_given_or_refused_before_the_work(
        network, tmp_path, env):  # noqa: F811
    holiday = tmp_path / "holiday"
    holiday.mkdir()
    (tmp_path / "holiday.png").write_bytes(b"my holiday picture")
    for figure, message in ((holiday, "holiday.png exists"), (tmp_path / "fields.xyz",
                                                               "not a picture format")):
        done = refused("compare", network, "--figure", figure, env=env)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "test accuracy" not in done.stdout          # refused before the work
    assert (tmp_path / "holiday.png").read_bytes() == b"my holiday picture"
    done = subprocess.run([sys.executable, "-c", "from diehl_cook.cli import main; main()",
                           "compare", str(network), "--figure", str(tmp_path / "fields")],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "fields.png").read_bytes()[:4] == b"\x89PNG"
    assert not os.path.exists(tmp_path / "fields")
