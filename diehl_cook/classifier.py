"""Use a trained network: classify your own images from Python.

Example::

    from diehl_cook.classifier import Classifier
    from diehl_cook import images

    classifier = Classifier.load("weights/n400")
    result = classifier.classify(images.from_file("my_seven.png"))
    print(result.digits[0], result.scores[0])

A ``Classifier`` compiles the frozen network once (on its first batch) and reuses
the program for every later batch. Each image is shown with the test protocol
(350 ms, retried at a higher intensity while fewer than 5 spikes), in a run of the
program of its own whose Poisson input is drawn from a seed made of the image
itself and the network's seed: the same picture gets the same digit and scores in
any batch, at any position, in any call. (``evaluate`` draws by position instead,
so that its repeats of the test set get draws of their own.)
"""
import hashlib

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import labels, storage
from .engine import Engine
from .images import as_batch
from .settings import TEST_SEED_OFFSET, RunSettings
from .simulation import chunk_seed


# When an answer is weak (``Classification.doubts``): chosen on 1,000 MNIST test
# images (docs/own-digits.md).
CLOSE_SECOND = 0.2      # the second class scores at least 80% of the first
FEW_SPIKES = 10         # fewer excitatory spikes than this in the last presentation


@dataclass
class Classification:
    """What the network answered to a batch of n images.

    - digits : (n,) predicted class of each image.
    - scores : (n, 10) mean spike count of each class's neurons (the paper's rule:
      the highest wins); NaN for a class that no neuron is assigned to.
    - counts : (n, n_e) spikes of each excitatory neuron.
    - presentations : (n,) presentations needed (1: no retry).
    """
    digits: np.ndarray
    scores: np.ndarray
    counts: np.ndarray
    presentations: np.ndarray

    @cached_property
    def margins(self):
        """(n,) how far the winning class is ahead: (first - second) / first, from
        0 (a tie) to 1 (no other class answered)."""
        ranked = -np.sort(-np.nan_to_num(self.scores, nan=0.0), axis=1)
        return np.divide(ranked[:, 0] - ranked[:, 1], ranked[:, 0],
                         out=np.zeros(len(ranked)), where=ranked[:, 0] > 0)

    def doubts(self, k):
        """What makes the answer to image ``k`` weak (empty if nothing): a close
        second class, few spikes, a faint image that needed retries."""
        found = []
        if self.margins[k] < CLOSE_SECOND:
            scores = np.nan_to_num(self.scores[k], nan=-1.0)
            second = int(np.argsort(-scores, kind="stable")[1])
            found.append(f"close second: {second} ({scores[second]:.2f} against "
                         f"{scores[self.digits[k]]:.2f})")
        if self.counts[k].sum() < FEW_SPIKES:
            found.append(f"few spikes ({self.counts[k].sum()})")
        if self.presentations[k] > 1:
            found.append(f"faint: shown {self.presentations[k]} times at rising intensity")
        return found


class Classifier:
    """A labelled network (weights, theta, assignments) ready to classify images."""

    def __init__(self, network, chunk_size=1000, build_dir=None):
        """``network``: a labelled ``TrainedNetwork`` (see ``Classifier.load``);
        ``chunk_size``: images per run of the compiled program; ``build_dir``:
        where it is compiled (default: the cache of ``programs.default_build_dir``)."""
        if network.assignments is None:
            raise ValueError("the network has no assignments: label it first")
        self.network = network
        self.settings = RunSettings(phase="testing", n_e=network.n_e,
                                    seed=network.seed + TEST_SEED_OFFSET,
                                    chunk_size=chunk_size, jobs=1, progress=False,
                                    build_dir=build_dir)
        self._engine = None

    @classmethod
    def load(cls, folder, **options):
        """The classifier of a labelled network folder (options: see ``__init__``)."""
        return cls(storage.load_network(folder, need_assignments=True), **options)

    def classify(self, images, draw=0):
        """Classify one image (28, 28) or a batch (n, 28, 28) or (n, 784), uint8
        0..255 or float 0..1. ``draw`` picks another Poisson input for each image
        (0, the default, is the one ``classify`` always gives): answers over several
        draws tell how much an accuracy owes to its draws. Returns a ``Classification``."""
        batch = as_batch(images)
        if self._engine is None:
            self._engine = Engine(self.settings, self.network.delays)
        runs = [self._engine.run(image[None], self.network, self.image_seed(image, draw))
                for image in batch]
        counts = np.concatenate([run.counts for run in runs])
        scores = labels.class_scores(counts, self.network.assignments)
        return Classification(labels.predict(counts, self.network.assignments),
                              np.where(np.isinf(scores), np.nan, scores), counts,
                              np.concatenate([run.presentations for run in runs]))

    def image_seed(self, image, draw=0):
        """The seed of the Poisson input for ``image`` (28, 28) uint8: from its pixels,
        the network's test seed and ``draw`` only."""
        content = np.ascontiguousarray(image).tobytes()
        if draw:
            content += int(draw).to_bytes(8, "little")
        pixels = int.from_bytes(hashlib.sha256(content).digest()[:8], "little")
        return chunk_seed(self.settings.seed, pixels)

    def close(self):
        """Free the compiled program's folder for other processes (the next
        ``classify`` takes it again)."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def receptive_field(self, counts):
        """The input weights (28, 28) of the neurons that answered, weighted by
        their spike counts ``counts`` (n_e,)."""
        counts = np.asarray(counts, dtype=float)
        return (self.network.weights @ counts / max(counts.sum(), 1)).reshape(28, 28)
