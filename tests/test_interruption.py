"""Ctrl+C as users press it: to the whole process group (a terminal) or to the Python
process alone (kill -INT, here to a background job, which a shell starts with
SIGINT ignored). The command stops at once with exit code 130 and the README's
message; the checkpoint is intact and --resume continues. ``kill`` (SIGTERM) stops
it the same way with exit code 143."""
import glob
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from diehl_cook import pipeline
from diehl_cook.storage import load_checkpoint, load_network

from conftest import N_E, ROOT, command_line, process_name
from test_scripts import env  # noqa: F401  (a fixture)

pytestmark = [pytest.mark.compile, pytest.mark.process]


def start(script, *args, env, ignore_sigint=False):
    """``scripts/script args`` in a new process group; ``ignore_sigint`` starts it as
    a shell starts a background job (``command &``)."""
    def background_job():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    return subprocess.Popen([sys.executable, os.path.join(ROOT, "scripts", script),
                             *map(str, args), "--no-progress"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True,
                            preexec_fn=background_job if ignore_sigint else None)


def wait_for(path, process, timeout=600):
    deadline = time.time() + timeout
    while not os.path.exists(path):
        assert process.poll() is None, process.communicate()
        assert time.time() < deadline, f"{path} never appeared"
        time.sleep(0.2)


@pytest.mark.parametrize("target", ["group", "background job", "sigterm", "sighup"])
def test_ctrl_c_while_training_stops_with_the_resume_hint(target, tmp_path, env):  # noqa: F811
    out = tmp_path / "net"
    command = ("train.py", "--n-e", N_E, "--examples", 1000, "--chunk-size", 20,
               "--rule", "triplet", "--out", out)
    training = start(*command, env=env, ignore_sigint=target == "background job")
    wait_for(out / "checkpoint.npz", training)
    time.sleep(0.5)
    if target == "group":
        os.killpg(training.pid, signal.SIGINT)
    elif target == "background job":
        training.send_signal(signal.SIGINT)
    else:
        training.send_signal(signal.SIGTERM if target == "sigterm" else signal.SIGHUP)
    _, errors = training.communicate(timeout=120)
    word, code = dict(sigterm=("terminated", 143), sighup=("hung up", 129)).get(
        target, ("interrupted", 130))
    assert training.returncode == code, errors
    assert f"{word}: the finished chunks are saved in" in errors and "--resume" in errors
    assert "Traceback" not in errors
    _, progress = load_checkpoint(out)
    assert 0 < progress["done"] < 1000
    assert not [f for f in os.listdir(out) if f.startswith(".tmp")]
    resumed = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", command[0]),
                              *map(str, command[1:]), "--resume", "--no-progress"],
                             env=env, cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming {out} after {progress['done']} of 1000 images" in resumed.stdout
    assert "trained N_e=12 (triplet rule) on 1000 images" in resumed.stdout
    assert "s in all with the earlier runs" in resumed.stdout     # not only this run's time


def test_ctrl_c_during_a_parallel_evaluation(settings, train_set, tmp_path, env):  # noqa: F811
    images, labels = train_set[0][:20], train_set[1][:20]
    pipeline.train(settings.replace(chunk_size=20), tmp_path, images, labels)
    pipeline.label(settings.replace(chunk_size=20), tmp_path, images, labels)
    evaluation = start("evaluate.py", "--weights", tmp_path, "--jobs", 2, "--chunk-size", 20,
                       "--examples", 200, "--repeats", 1000, env=env)
    deadline = time.time() + 600
    while not glob.glob(str(tmp_path / "partial" / "*" / "chunk_*.npz")):  # a chunk is kept
        assert evaluation.poll() is None, evaluation.communicate()
        assert time.time() < deadline, "no chunk was finished"
        time.sleep(0.2)
    os.killpg(evaluation.pid, signal.SIGINT)
    _, errors = evaluation.communicate(timeout=120)
    assert evaluation.returncode == 130, errors
    assert "interrupted" in errors and "Traceback" not in errors
    assert "the same command continues from them" in errors
    assert np.load(tmp_path / "assignments.npy").shape == (N_E,)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_signal_while_the_workers_start(tmp_path, env, stop):  # noqa: F811
    """Sent once the workers exist and before either runs its program (they are
    importing Brian or reading their arguments): one line, 130 or 143, nothing left
    running."""
    network = tmp_path / "net"
    shutil.copytree(os.path.join(ROOT, "weights", "n100"), network)
    evaluation = start("evaluate.py", "--weights", network, "--jobs", 2, "--examples", 4000,
                       "--chunk-size", 500, env=env)
    deadline = time.time() + 600
    while True:
        children = psutil.Process(evaluation.pid).children(recursive=True)
        if any(process_name(child) == "main" for child in children):
            pytest.skip("the workers started before they could be seen starting")
        if len([child for child in children if "multiprocessing" in command_line(child)
                and "resource_tracker" not in command_line(child)]) == 2:
            break
        assert evaluation.poll() is None, evaluation.communicate()
        assert time.time() < deadline, "the workers never started"
        time.sleep(0.02)
    os.killpg(evaluation.pid, stop)
    _, errors = evaluation.communicate(timeout=120)
    assert evaluation.returncode == 128 + stop, errors
    assert "Traceback" not in errors and errors.strip().splitlines()[-1], errors
    _, alive = psutil.wait_procs(children, timeout=10)
    assert not alive


def test_sigterm_at_random_moments_always_ends_the_same_way(tmp_path, env):  # noqa: F811
    """SIGTERM at 20 moments drawn over a whole short training (start, compiling or
    reusing the program, chunks, checkpoint and log writes, the final save): every
    run ends with exit code 143 and "terminated" (-15 if the signal came before
    Python had set its handler), never another exception, and leaves what it saved
    whole. A run that finished first exits 0."""
    moments = random.Random(0)
    command = ("train.py", "--n-e", N_E, "--examples", 60, "--chunk-size", 20,
               "--rule", "triplet", "--seed", 3)
    started = time.time()
    whole = start(*command, "--out", tmp_path / "whole", env=env)
    assert whole.wait(timeout=600) == 0, whole.communicate()
    span = time.time() - started
    for k in range(20):
        out = tmp_path / f"net{k}"
        training = start(*command, "--out", out, env=env)
        try:        # a run that ends before its moment is not waited for further
            training.wait(timeout=moments.uniform(0, span))
        except subprocess.TimeoutExpired:
            training.send_signal(signal.SIGTERM)
        _, errors = training.communicate(timeout=600)
        assert training.returncode in (143, -15, 0), (k, errors)
        assert "Traceback" not in errors, (k, errors)
        if training.returncode == 143:
            assert "terminated" in errors, (k, errors)
        if (out / "checkpoint.npz").exists():
            load_checkpoint(out)
        if (out / "metadata.json").exists():
            assert load_network(out).n_e == N_E
        assert not out.exists() or not [f for f in os.listdir(out) if f.startswith(".tmp")]
