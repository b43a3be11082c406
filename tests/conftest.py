import os

import numpy as np
import pytest
from brian2 import BrianLogger, prefs, set_device

from diehl_cook import data
from diehl_cook.pipeline import network_delays
from diehl_cook.network import initial_state

# One small network for every test that compiles a standalone program, so the
# suite compiles few programs: N_E neurons, chunks of CHUNK images, seed SEED.
N_E, CHUNK, SEED = 12, 20, 0

# Structure tests build networks they never run; Brian warns about each object.
BrianLogger.suppress_name("unused_brian_object")


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory):
    return os.environ.get("DIEHL_COOK_BUILD_DIR") or str(tmp_path_factory.mktemp("build"))


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
    """Initial weights (784, N_E), delays and theta of the shared small network."""
    weights, _ = initial_state(N_E, np.random.default_rng(SEED))
    return weights, network_delays(N_E, SEED), np.full(N_E, 0.02)


@pytest.fixture
def numpy_target():
    """Brian's runtime mode with the numpy target: tiny networks need no compiling.
    Runtime mode is set again because an earlier test may have left a standalone
    engine active in this process."""
    set_device("runtime")
    previous = prefs.codegen.target
    prefs.codegen.target = "numpy"
    yield
    prefs.codegen.target = previous
