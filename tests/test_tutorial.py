"""The tutorial's experiments: switching mechanisms off, and the measured STDP window."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from brian2 import Network, SpikeMonitor, mV, ms, volt

from diehl_cook import parameters as p
from diehl_cook.engine import Engine
from diehl_cook.experiments import ablation, stdp_window
from diehl_cook.network import initial_state
from diehl_cook.settings import FULL_MODEL, Mechanisms

from conftest import N_E, ROOT, quiet_model, small_settings


def spike_once(mechanisms, learning):
    """Excitatory neuron 0 fires once; returns the model 2 ms later and its spikes."""
    model = quiet_model(N_E, learning, initial_state(N_E, 0)[0], mechanisms=mechanisms)
    exc_spikes, inh_spikes = SpikeMonitor(model.exc), SpikeMonitor(model.inh)
    network = Network(model.objects, exc_spikes, inh_spikes)
    model.exc.v[0] = 0 * mV
    network.run(2 * ms, namespace={})
    return model, exc_spikes, inh_spikes


def test_mechanism_names():
    assert FULL_MODEL.name == "full"
    assert Mechanisms(normalization=False).name == "no_normalization"
    assert Mechanisms(False, False, True).name == "no_lateral_inhibition-no_adaptive_threshold"


def test_without_lateral_inhibition_the_inhibitory_spike_reaches_nobody(numpy_target):
    model, exc, inh = spike_once(Mechanisms(lateral_inhibition=False), learning=False)
    assert exc.i[:].tolist() == [0] and inh.i[:].tolist() == [0]   # exc 0 -> inh 0 still works
    assert not np.any(model.exc.gi[:])
    model, _, _ = spike_once(FULL_MODEL, learning=False)
    assert np.all(model.exc.gi[1:] > 0)


def test_without_adaptive_threshold_theta_stays_put_while_learning(numpy_target):
    before = float(p.THETA_INIT / volt)
    model, exc, _ = spike_once(Mechanisms(adaptive_threshold=False), learning=True)
    assert len(exc.i) == 1
    assert np.all(model.exc.theta[:] / volt == before)
    model, _, _ = spike_once(FULL_MODEL, learning=True)
    assert float(model.exc.theta[0] / volt) == pytest.approx(before + float(p.THETA_PLUS), rel=1e-6)


def test_without_normalization_the_engine_leaves_the_weight_sums_alone(numpy_target, train_set,
                                                                     small_network):
    sums, fired = {}, {}
    for mechanisms in (FULL_MODEL, Mechanisms(normalization=False)):
        settings = small_settings(chunk_size=2, mechanisms=mechanisms)
        engine = Engine(settings, small_network.delays, standalone=False)
        result = engine.run(train_set[0][:2], small_network, seed=1)
        sums[mechanisms.name] = result.network.weights.sum(axis=0)
        fired[mechanisms.name] = result.counts.sum(axis=0) > 0
    assert np.allclose(sums["full"], p.WEIGHT_SUM)
    initial = small_network.weights.sum(axis=0)       # about 784 * 0.3 * 0.51 = 120 per neuron
    silent = ~fired["no_normalization"]
    assert silent.any() and np.allclose(sums["no_normalization"][silent], initial[silent])
    assert np.all(sums["no_normalization"] > 1.3 * p.WEIGHT_SUM)


def test_measured_stdp_window_is_the_rule_in_closed_form(numpy_target):
    dt = np.array([-30.0, -10.0, 10.0, 30.0])
    window = stdp_window(dt, previous_post_ms=20.0)
    depression = -p.ETA_PRE * np.exp(dt[:2] / float(p.TAU_POST1 / ms))
    # An isolated pair only depresses (post before pre); potentiation needs post2,
    # the trace of an earlier postsynaptic spike.
    assert np.allclose(window["isolated"][:2], depression, rtol=1e-6)
    assert np.all(window["isolated"][2:] == 0)
    # With a post spike 20 ms before: w += nu_post * pre * post2, minus the small
    # depression of the pre spike that follows that earlier post spike (for dt < 20).
    post2 = np.exp(-20 / float(p.TAU_POST2 / ms))
    potentiation = p.ETA_POST * np.exp(-dt[2:] / float(p.TAU_PRE / ms)) * post2
    after_earlier_post = np.array([-p.ETA_PRE * np.exp(-(20 - 10) / float(p.TAU_POST1 / ms)), 0])
    assert np.allclose(window["after_post"][2:], potentiation + after_earlier_post, rtol=1e-6)


@pytest.mark.compile
def test_tutorial_script_draws_the_stdp_window(tmp_path):
    done = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "tutorial.py"), "stdp",
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert os.path.getsize(tmp_path / "tutorial_stdp_window.png") > 10000
    results = json.loads((tmp_path / "tutorial_results.json").read_text())
    assert max(results["stdp"]["after_post"]) == pytest.approx(
        p.ETA_POST * np.exp(-20 / float(p.TAU_POST2 / ms)) - p.ETA_PRE * np.exp(-1), rel=1e-6)
    bad = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "tutorial.py"), "stpd"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "unknown part" in bad.stderr


@pytest.mark.compile
def test_an_ablation_that_falls_silent_is_reported_not_raised(build_dir):
    """Blank images never evoke 5 spikes: training stops at once, the network of
    the last complete chunk (here the initial one) is kept, and its silence at
    test time is reported instead of an accuracy."""
    blank = np.zeros((3, 28, 28), dtype=np.uint8), np.array([0, 1, 2])
    settings = small_settings(chunk_size=1000, build_dir=build_dir,
                              mechanisms=Mechanisms(lateral_inhibition=False))
    outcome = ablation(settings, blank, blank, blank)
    assert "image 0 evoked fewer than 5" in outcome["fell_silent"]
    assert outcome["trained_images"] == 0 and outcome["accuracy"] is None
    assert "image 0 evoked fewer than 5" in outcome["frozen_silent"]
    assert np.array_equal(outcome["weights"], initial_state(N_E, 0)[0])
