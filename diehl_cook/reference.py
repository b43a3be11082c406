"""The reference loop: the protocol as a plain Python loop in Brian's runtime mode.

Two ``run()`` calls per presentation (``run(350 ms)``, ``run(150 ms)``), as most
ports do: slow, kept for debugging and for the tests, which check that the
engine reproduces it spike for spike (same rules, ``protocol.next_cycle``; same
random stream for the same seed).
"""
import numpy as np
from brian2 import Hz, Network, volt
from brian2 import seed as brian_seed

from . import parameters as p
from .engine import use_runtime
from .results import PhaseResult, presentation_log
from .network import build_network, normalize_weights
from .protocol import input_rates, next_cycle, silent_error


def run_reference(settings, network, images, seed, textbook=False):
    """Show ``images`` to ``network`` in the phase ``settings.phase`` with the
    Python loop. ``textbook``: the triplet rule's per-synapse traces. Returns a
    ``PhaseResult``."""
    use_runtime()
    model = build_network(settings, network, textbook=textbook)
    simulation = Network(model.objects)
    brian_seed(seed)
    counts, presentations, log = [], [], []
    for index, rates in enumerate(input_rates(images)):
        response, shown, tries = _present(settings, model, simulation, rates, index)
        counts.append(response)
        presentations.append(shown)
        log.extend(tries)
    result = PhaseResult(np.array(counts), np.array(presentations),
                         presentation_log(*np.array(log).T))
    if settings.learning:
        result.network = network.learned(model.input_weights(),
                                         np.asarray(model.exc.theta[:] / volt))
    return result


def _present(settings, model, simulation, rates, index):
    """Show one image until it evokes MIN_SPIKES spikes. Returns the accepted
    response, the number of presentations and a log row per presentation."""
    intensity, shown, tries = p.INTENSITY_START, 1, []
    while True:
        if settings.learning and settings.mechanisms.normalization:
            model.input_exc.w = model.synapse_weights(normalize_weights(model.input_weights()))
        model.input.rate = rates * intensity * Hz
        simulation.run(p.PRESENTATION_TIME, namespace={})
        model.input.rate = 0 * Hz
        simulation.run(p.REST_TIME, namespace={})
        response = np.asarray(model.exc.count[:], dtype=int)
        model.exc.count = 0
        tries.append((index, intensity, response.sum()))
        accepted, intensity, next_shown = next_cycle(response.sum(), intensity, shown)
        if accepted:
            return response, shown, tries
        if next_shown > p.MAX_PRESENTATIONS:
            raise silent_error(index, model.exc.theta[:] / volt)
        shown = next_shown
