"""Shared fixtures and helpers of the test suite.

Tests that compile a standalone program carry the ``compile`` marker; they all use
one small network (N_E neurons, chunks of CHUNK images, seed SEED) so the suite
compiles few programs. ``python -m pytest -m "not compile"`` runs the others.
"""
import os
import sys

import numpy as np
import psutil
import pytest
from brian2 import BrianLogger, Hz, prefs

from diehl_cook import data
from diehl_cook import parameters as p
from diehl_cook.engine import use_runtime
from diehl_cook.network import TrainedNetwork, build_network
from diehl_cook.settings import RunSettings

N_E, CHUNK, SEED = 12, 20, 0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The installed command beside the running interpreter: found whether or not the venv is activated.
DIEHL_COOK = os.path.join(os.path.dirname(sys.executable), "diehl-cook")


def command_line(process):
    """The command line of a ``psutil.Process``, or "" once it has ended: the
    processes of a run come and go while a test looks at them (a short-lived helper
    such as ``file`` may already be a zombie), and one that is gone is no worker."""
    try:
        return " ".join(process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):   # ZombieProcess included
        return ""


def process_name(process):
    """The name of a ``psutil.Process``, or "" once it has ended."""
    try:
        return process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return ""


def running(process):
    """Whether a ``psutil.Process`` still runs (neither ended nor a zombie)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# Structure tests build networks they never run; Brian warns about each object.
BrianLogger.suppress_name("unused_brian_object")


def small_settings(**changes):
    """Settings of the shared small network (one job, no progress bars)."""
    values = dict(n_e=N_E, chunk_size=CHUNK, seed=SEED, jobs=1, progress=False,
                  rule="triplet", build_dir=os.environ.get("DIEHL_COOK_BUILD_DIR"))
    values.update(changes)
    return RunSettings(**values)


def quiet_model(n_e, learning=True, weights=None, **settings):
    """A network at rest with silent inputs, for hand-made spikes: returns the
    model and a Network of its objects. ``weights`` default to all zero."""
    use_runtime()
    weights = np.zeros((p.N_INPUT, n_e)) if weights is None else weights
    phase = "training" if learning else "testing"
    network = TrainedNetwork(weights, np.full(n_e, float(p.THETA_INIT)))
    model = build_network(RunSettings(phase=phase, n_e=n_e, **settings), network,
                          np.zeros((p.N_INPUT, n_e)))
    model.exc.v = p.V_REST_E
    model.inh.v = p.V_REST_I
    model.input.rate = 0 * Hz
    return model


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory):
    return os.environ.get("DIEHL_COOK_BUILD_DIR") or str(tmp_path_factory.mktemp("build"))


@pytest.fixture(scope="session")
def settings(build_dir):
    """Training settings of the shared small network, triplet rule."""
    return small_settings(build_dir=build_dir)


@pytest.fixture(scope="session")
def mnist_path():
    path = data.mnist_dir()
    try:
        data._find(path)
    except data.MnistError as error:
        pytest.skip(f"MNIST not available (set MNIST_DIR): {error}")
    return path


@pytest.fixture(scope="session")
def train_set(mnist_path):
    return data.load("training", mnist_path, 200)


@pytest.fixture(scope="session")
def small_network():
    """The shared small network, untrained (triplet rule)."""
    return TrainedNetwork.untrained(N_E, SEED, "triplet")


@pytest.fixture
def numpy_target():
    """Brian's runtime mode with the numpy target: tiny networks need no compiling."""
    use_runtime()
    previous = prefs.codegen.target
    prefs.codegen.target = "numpy"
    yield
    prefs.codegen.target = previous

