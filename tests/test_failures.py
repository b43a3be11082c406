"""Failures a user meets: each ends with "error: ..." and exit code 2 (or the
command's signal code), never a traceback, a hang or a program left running."""
import errno
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from diehl_cook import storage
from diehl_cook.errors import StorageError

from conftest import ROOT, command_line, process_name, running
from test_scripts import env, refused, script  # noqa: F401  (env is a fixture)


@pytest.fixture
def network(tmp_path):
    """A copy of the shipped 100-neuron network."""
    folder = tmp_path / "net"
    shutil.copytree(os.path.join(ROOT, "weights", "n100"), folder)
    return folder


def start(name, *args, env):
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", name),
                             *map(str, args), "--no-progress"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_processes(parent, predicate, timeout=600, count=1):
    """The descendants of ``parent`` for which ``predicate`` holds, once there are
    ``count`` or more."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = [child for child in psutil.Process(parent.pid).children(recursive=True)
                 if predicate(child)]
        if len(found) >= count:
            return found
        assert parent.poll() is None, parent.communicate()
        time.sleep(0.2)
    raise AssertionError("the processes never appeared")


def is_program(process):
    return process_name(process) == "main"


def test_results_that_are_not_evaluations_are_reported(network, tmp_path, env):  # noqa: F811
    (tmp_path / "wrong.json").write_text(json.dumps({"accuracy": "high"}))
    (tmp_path / "broken.json").write_text("{not json")
    for result in (tmp_path / "missing.json", tmp_path / "wrong.json", tmp_path / "broken.json"):
        done = refused("plot.py", "--weights", network, "--result", result, "--out",
                      tmp_path / "figures", env=env)
        assert done.returncode == 2 and str(result) in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    (network / "evaluation.json").write_text(json.dumps({"accuracy": 0.8}))
    done = refused("compare", network, env=env)
    assert done.returncode == 2 and "evaluation.json is not a result" in done.stderr, done.stderr


def test_no_compiler_is_an_error_that_says_what_to_install(network, tmp_path, env):  # noqa: F811
    empty = tmp_path / "bin"
    empty.mkdir()
    no_compiler = {k: v for k, v in env.items() if k != "CXX"}
    no_compiler["PATH"] = str(empty)
    done = script("evaluate.py", "--weights", network, "--examples", 10, env=no_compiler)
    assert done.returncode == 2, done.stderr
    assert "was not found on PATH" in done.stderr and "apt install g++" in done.stderr


def test_a_full_disk_is_an_error_and_leaves_nothing_half_written(tmp_path, monkeypatch):
    storage.save_json(str(tmp_path / "result.json"), {"a": 1})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StorageError, match="the disk is full.*nothing was half-written"):
        storage.save_json(str(tmp_path / "result.json"), {"a": 2})
    assert json.loads((tmp_path / "result.json").read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["result.json"]


@pytest.mark.compile
def test_a_failed_compilation_is_one_line_that_names_the_compilers_messages(
        network, tmp_path, env):  # noqa: F811
    """As a full disk or a broken compiler would make it fail: the compiler's output
    is kept in the program's folder, not in the system's temporary folder."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "make").write_text("#!/bin/sh\necho 'No space left on device' >&2\nexit 2\n")
    (tools / "make").chmod(0o755)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    build = tmp_path / "build"
    done = script("evaluate.py", "--weights", network, "--examples", 10, "--build-dir", build,
                  env=dict(env, PATH=f"{tools}{os.pathsep}{env['PATH']}", TMPDIR=str(temporary)))
    assert done.returncode == 2 and "compiling the simulation program failed" in done.stderr
    assert "Traceback" not in done.stderr and "No space left" not in done.stdout + done.stderr
    [output] = build.glob("*/compiler_output.txt")
    assert "No space left on device" in output.read_text() and str(output) in done.stderr
    assert os.listdir(temporary) == []


@pytest.mark.compile
def test_the_compiled_program_dies_with_its_parent(network, env):  # noqa: F811
    """kill -9 of the Python process ends its compiled program too."""
    evaluation = start("evaluate.py", "--weights", network, "--jobs", 1, "--examples", 2000,
                       env=env)
    programs = wait_for_processes(evaluation, is_program)
    evaluation.kill()
    evaluation.wait()
    gone, alive = psutil.wait_procs(programs, timeout=60)
    assert not alive


@pytest.mark.compile
def test_a_program_killed_from_outside_ends_the_run_with_a_message(network, env):  # noqa: F811
    """As the out-of-memory killer would: one line, exit code 2, no traceback."""
    evaluation = start("evaluate.py", "--weights", network, "--jobs", 1, "--examples", 2000,
                       env=env)
    program = wait_for_processes(evaluation, is_program)[0]
    program.kill()
    _, errors = evaluation.communicate(timeout=600)
    assert evaluation.returncode == 2, errors
    assert "the simulation program" in errors and "ended before finishing its run" in errors
    assert "Traceback" not in errors


@pytest.mark.compile
@pytest.mark.process
@pytest.mark.parametrize("command", [
    ("evaluate.py", "--jobs", 2, "--examples", 4000, "--chunk-size", 500),
    ("assign_labels.py", "--jobs", 2, "--examples", 4000, "--chunk-size", 500),
    ("train.py", "--n-e", 100, "--examples", 2000, "--chunk-size", 500, "--epochs", 1),
], ids=["evaluate", "label", "train"])
def test_kill_9_leaves_nothing_running(network, env, tmp_path, command):  # noqa: F811
    """Workers (evaluate and label with --jobs 2), compiled programs and
    multiprocessing's resource tracker all end within 10 seconds, and none of them
    leaves Brian's files (debug log, copy of the script) in the temporary folder."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    name, *options = command
    place = ("--out", tmp_path / "trained") if name == "train.py" else ("--weights", network)
    run = start(name, *place, *options, env=dict(env, TMPDIR=str(temporary)))
    # Once every worker runs its program (a worker killed while still importing Brian
    # could leave Brian's files behind: there is no way to keep Brian from writing
    # them when it is imported).
    jobs = 1 if name == "train.py" else 2
    wait_for_processes(run, is_program, count=jobs)
    descendants = psutil.Process(run.pid).children(recursive=True)
    assert len(descendants) >= 2 * jobs - (name == "train.py")   # workers and programs
    run.kill()
    run.wait()
    _, alive = psutil.wait_procs(descendants, timeout=10)
    assert not alive, [command_line(process) for process in alive]
    assert not [name for name in os.listdir(temporary) if name.startswith("brian_")]


@pytest.mark.compile
@pytest.mark.process
def test_a_killed_worker_fails_the_run_instead_of_hanging(network, env):  # noqa: F811
    evaluation = start("evaluate.py", "--weights", network, "--jobs", 2, "--examples", 4000,
                       "--chunk-size", 500, env=env)
    programs = wait_for_processes(evaluation, is_program)
    worker = programs[0].parent()
    assert worker.pid != evaluation.pid
    worker.kill()
    _, errors = evaluation.communicate(timeout=600)
    assert evaluation.returncode == 2, errors
    assert "a worker process of the testing ended without its result" in errors
    assert "Traceback" not in errors
    assert not [program for program in programs if running(program)]
    np.load(network / "assignments.npy")                # the network is untouched


def test_a_corrupt_tutorial_results_file_is_reported(tmp_path, env):  # noqa: F811
    (tmp_path / "tutorial_results.json").write_text("{not json")
    done = script("tutorial.py", "stdp", "--out", tmp_path, env=env)
    assert done.returncode == 2 and "is not a results file of the tutorial" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "tutorial_results.json").read_text() == "{not json"


def test_cache_clear_leaves_a_linked_program_folder_alone(tmp_path):
    from diehl_cook import ownership, programs
    real = tmp_path / "elsewhere" / "program"
    ownership.mark(str(real), ownership.PROGRAM_MARKER)
    cache = tmp_path / "cache"
    cache.mkdir()
    os.symlink(real, cache / "frozen-n100-linked")
    assert programs.cached_programs(str(cache)) == []
    assert not programs.remove_program(str(cache / "frozen-n100-linked"))
    assert os.path.isfile(real / ownership.PROGRAM_MARKER)
