"""The tutorial's experiments (docs/tutorial.md; run by scripts/tutorial.py).

- ``stdp_window``: the weight change of one input synapse as a function of the
  time between a presynaptic and a postsynaptic spike, measured by running the
  model's own synapse equations (``network.STDP_TRACES``) on imposed spike times.
- ``ablation``: train, label and test a small network with some of its
  mechanisms switched off (``network.Mechanisms``), with the fast engine.
"""
import numpy as np
from brian2 import (Network, NeuronGroup, SpikeGeneratorGroup, StateMonitor, Synapses,
                    TimedArray, ms)
from tqdm.auto import tqdm

from . import labels as lab
from . import parameters as p
from .network import STDP_TRACES, initial_state, model_namespace
from .protocol import SilentNetworkError
from .simulation import Engine, present_frozen, run_phase, use_runtime

W_START = 0.5   # far from the bounds 0 and 1, so no change is clipped


def stdp_pairs(pre_times, post_times, duration, record=None):
    """Run one synapse per pair with imposed spike times; return the weight changes.

    ``pre_times[k]`` and ``post_times[k]`` are lists of spike times (in ms) of the
    presynaptic and the postsynaptic neuron of synapse k. The synapse is the
    model's plastic input synapse (``network.STDP_TRACES``); the postsynaptic
    neuron only has to spike when told, so it is a group whose threshold reads a
    table of spike times. ``record``: index of a synapse whose traces and weight
    to record (returned as a StateMonitor, else None).
    """
    use_runtime()
    n = len(pre_times)
    steps = int(round(duration / p.DT)) + 1
    post_table = np.zeros((steps, n))
    for k, times in enumerate(post_times):
        post_table[np.round(np.asarray(times) / float(p.DT / ms)).astype(int), k] = 1
    indices = np.concatenate([[k] * len(times) for k, times in enumerate(pre_times)])
    times = np.concatenate([np.asarray(t, dtype=float) for t in pre_times]) * ms
    pre = SpikeGeneratorGroup(n, indices.astype(int), times, name="pre")
    post = NeuronGroup(n, "ge : 1", threshold="post_spike_table(t, i) > 0", reset="", name="post",
                       namespace=dict(post_spike_table=TimedArray(post_table, dt=p.DT)))
    synapse = Synapses(pre, post, name="synapse", namespace=model_namespace(), **STDP_TRACES)
    synapse.connect(j="i")
    synapse.w = W_START
    objects = [pre, post, synapse]
    monitor = None
    if record is not None:
        monitor = StateMonitor(synapse, ["w", "pre", "post1", "post2", "lastupdate"],
                               record=record, name="traces")
        objects.append(monitor)
    Network(objects).run(duration, namespace={})
    return np.asarray(synapse.w[:]) - W_START, monitor


def stdp_window(delays_ms, previous_post_ms=20.0):
    """Weight change against the pre-post interval dt = t_post - t_pre (ms).

    Two protocols: an isolated pair (one pre and one post spike), and the same
    pair with an earlier postsynaptic spike ``previous_post_ms`` before the
    paired one. Returns a dict of arrays (dt in ms, dw for each protocol).
    """
    delays_ms = np.asarray(delays_ms, dtype=float)
    t_post = 100.0 + previous_post_ms   # leaves room for the earlier spikes
    pre = [[t_post - d] for d in delays_ms]
    isolated, _ = stdp_pairs(pre, [[t_post]] * len(pre), 300 * ms)
    after_post, _ = stdp_pairs(pre, [[t_post - previous_post_ms, t_post]] * len(pre), 300 * ms)
    return dict(dt_ms=delays_ms, isolated=isolated, after_post=after_post,
                previous_post_ms=previous_post_ms)


def trace_example():
    """Traces and weight of one synapse over a post-pre-post triplet (for a figure).

    The traces are event-driven: Brian stores each one's value at the synapse's
    last event (``lastupdate``) and decays it only when the next event reads it.
    Their value at any time t is that stored value decayed from ``lastupdate`` to t.
    """
    pre, post = [[40.0]], [[20.0, 50.0]]
    change, monitor = stdp_pairs(pre, post, 120 * ms, record=0)
    elapsed = np.asarray(monitor.t - monitor.lastupdate[0])
    decayed = {name: monitor.get_states([name])[name][:, 0] * np.exp(-elapsed / float(tau))
               for name, tau in (("pre", p.TAU_PRE), ("post1", p.TAU_POST1),
                                 ("post2", p.TAU_POST2))}
    return dict(t_ms=np.asarray(monitor.t / ms), w=np.asarray(monitor.w[0]), **decayed,
                pre_spikes=pre[0], post_spikes=post[0], change=float(change[0]))


def ablation(mechanisms, n_e, train, labelling, test, seed=0, jobs=None, build_dir=None,
             progress=True):
    """Train on ``train`` = (images, labels), assign classes on ``labelling``, test
    on ``test``, with the given ``network.Mechanisms``. Same seed, same initial
    weights and delays for every variant. Returns weights, theta and scores.

    A variant may fall silent (``SilentNetworkError``): that is one of the things
    an ablation can show. Training then stops and the network of the last complete
    chunk is labelled and tested; ``fell_silent`` gives the error message. If the
    frozen network is silent too, the accuracy is None.
    """
    weights, delays = initial_state(n_e, np.random.default_rng(seed))
    theta = np.full(n_e, float(p.THETA_INIT))
    engine = Engine(n_e, True, delays, build_dir=build_dir, mechanisms=mechanisms)
    last_chunk = dict(end=0, weights=weights, theta=theta)

    def keep(end, result):
        last_chunk.update(end=end, weights=result.weights, theta=result.theta)

    outcome = dict(mechanisms=mechanisms.name, fell_silent=None)
    with tqdm(total=len(train[0]), desc=f"{mechanisms.name}: training", unit="img",
              disable=not progress, dynamic_ncols=True) as bar:
        try:
            run_phase(engine, train[0], weights, theta, seed, on_chunk=keep, progress=bar)
        except SilentNetworkError as error:
            outcome["fell_silent"] = str(error)
    weights, theta = last_chunk["weights"], last_chunk["theta"]
    outcome.update(weights=weights, theta=theta, trained_images=last_chunk["end"],
                   theta_mean_mV=float(np.mean(theta) * 1000), accuracy=None)

    def respond(images, phase_seed, desc):
        return present_frozen(n_e, images, weights, delays, theta, phase_seed,
                              jobs=jobs, build_dir=build_dir, progress=progress,
                              desc=f"{mechanisms.name}: {desc}", mechanisms=mechanisms)

    try:
        labelled = respond(labelling[0], seed + 1, "labelling")
        tested = respond(test[0], seed + 2, "testing")
    except SilentNetworkError as error:
        outcome["frozen_silent"] = str(error)
        return outcome
    assignments = lab.assign_labels(labelled.counts, labelling[1])
    outcome.update(
        accuracy=lab.evaluate(tested.counts, test[1], assignments)["accuracy"],
        assigned_classes=int(len(set(assignments[assignments >= 0].tolist()))),
        silent_neurons=int(np.sum(labelled.counts.sum(axis=0) == 0)),
        spikes_per_image=float(tested.counts.sum(axis=1).mean()),
        active_neurons_per_image=float((tested.counts > 0).sum(axis=1).mean()),
        test_presentations_per_image=float(tested.presentations.mean()))
    return outcome
