"""Per-size calibration of theta_plus and the inh -> exc weight (paper, Section 3).

The paper kept every parameter across sizes except these two, which its authors
adapted "to keep a constant response rate" without publishing the values. Here
"response" is what the layer does while it learns, measured from an untrained
network over the first few thousand training images:

- spikes per presentation (the whole excitatory layer),
- presentations per image (1 + the rate of retries of the protocol),
- fraction of neurons that fired at least once (whether every neuron takes part).

The candidate whose spikes per presentation and presentations per image are
closest (sum of relative differences) to those of the reference size (400
neurons with the released code's values) is chosen.
"""
import multiprocessing
from dataclasses import dataclass

import numpy as np

from .engine import Engine
from .network import TrainedNetwork
from .simulation import run_chunks, worker_context


@dataclass(frozen=True)
class Candidate:
    theta_plus: float   # volts
    w_inh_exc: float


def response(result):
    """The layer's response over a training run (a ``PhaseResult``)."""
    n_images = len(result.counts)
    return dict(spikes_per_presentation=float(result.log["spikes"].mean()),
                presentations_per_image=len(result.log) / n_images,
                fraction_fired=float(np.mean(result.counts.sum(axis=0) > 0)),
                active_neurons_per_image=float((result.counts > 0).sum(axis=1).mean()))


def mismatch(measured, target):
    """How far a response is from the target: the sum of the relative differences
    of spikes per presentation and presentations per image."""
    return sum(abs(measured[key] / target[key] - 1)
               for key in ("spikes_per_presentation", "presentations_per_image"))


def training_response(settings, candidate, images, job=0):
    """Train an untrained network of ``settings.n_e`` neurons with ``candidate``'s
    values on ``images`` and return its response."""
    network = TrainedNetwork.untrained(settings.n_e, settings.seed, settings.rule,
                                       candidate.theta_plus, candidate.w_inh_exc)
    with Engine(settings.replace(phase="training"), network.delays, job=job) as engine:
        return response(run_chunks(engine, network, images))


def measure(settings, candidates, images):
    """The response of each candidate, spread over ``settings.jobs`` processes
    (each with its own compiled program; the values are run inputs, so a process
    compiles once for all its candidates)."""
    jobs = max(1, min(settings.jobs or multiprocessing.cpu_count(), len(candidates)))
    if jobs == 1:
        return [training_response(settings, c, images) for c in candidates]
    groups = [list(range(job, len(candidates), jobs)) for job in range(jobs)]
    with worker_context().Pool(jobs) as pool:
        answers = pool.starmap(_measure_group, [
            (settings, [candidates[k] for k in group], images, job)
            for job, group in enumerate(groups)])
    measured = [None] * len(candidates)
    for group, answer in zip(groups, answers):
        for k, value in zip(group, answer):
            measured[k] = value
    return measured


def _measure_group(settings, candidates, images, job):
    return [training_response(settings, c, images, job) for c in candidates]


def calibrate(settings, reference_settings, candidates, images):
    """Measure the reference size's response (its own values) and every
    candidate's for ``settings.n_e``. Returns (target, rows sorted best first);
    each row is a dict with theta_plus, w_inh_exc, the response and its mismatch."""
    reference = reference_settings.new_network_values
    target = measure(reference_settings.replace(jobs=1), [Candidate(**reference)], images)[0]
    rows = [dict(theta_plus=c.theta_plus, w_inh_exc=c.w_inh_exc, **measured,
                 mismatch=mismatch(measured, target))
            for c, measured in zip(candidates, measure(settings, candidates, images))]
    return dict(target, n_e=reference_settings.n_e, **reference), \
        sorted(rows, key=lambda row: row["mismatch"])
