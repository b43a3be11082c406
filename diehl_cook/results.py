"""What a run of the network produced: the responses to each image and the log of
every presentation. The compiled engine and the plain Python loop (``reference``)
both return a ``PhaseResult``."""
from dataclasses import dataclass

import numpy as np

from .network import TrainedNetwork


# One record per presentation: which image, at which intensity, how many spikes.
LOG_FIELDS = [("image", np.int64), ("intensity", np.int64), ("spikes", np.int64)]


def presentation_log(image, intensity, spikes):
    """The log of a run's presentations, a record array with fields image,
    intensity and spikes."""
    log = np.zeros(len(image), dtype=LOG_FIELDS)
    log["image"], log["intensity"], log["spikes"] = image, intensity, spikes
    return log


@dataclass
class PhaseResult:
    """What a run over some images produced."""
    counts: np.ndarray          # (n_images, n_e) spikes of each neuron in the accepted presentation
                                # (uint16 from ``simulation.run_chunks`` while training)
    presentations: np.ndarray   # (n_images,) presentations needed (1 = no retry)
    log: np.ndarray             # every presentation: image, intensity, spikes (presentation_log)
    network: TrainedNetwork = None  # weights and theta after the run (learning only)

    @staticmethod
    def concatenate(parts, offsets):
        """Join consecutive results; ``offsets`` are their first image indices."""
        logs = []
        for part, offset in zip(parts, offsets):
            log = part.log.copy()
            log["image"] += offset
            logs.append(log)
        return PhaseResult(np.concatenate([r.counts for r in parts]),
                           np.concatenate([r.presentations for r in parts]),
                           np.concatenate(logs), parts[-1].network)
