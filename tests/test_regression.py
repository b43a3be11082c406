"""Behaviour is unchanged by restructuring: 20 training images, seed 0, give the
weights and theta recorded before the code was reorganized (version 0.1.0, the
triplet rule), and the power-law rule's as recorded when it was added (with the
released code's values, its defaults then: rate 0.01, x_tar 0.4, mu 0.2)."""
import hashlib

import numpy as np
import pytest

from diehl_cook import parameters as p
from diehl_cook import pipeline

RECORDED = {
    "triplet": ("ae1a2814a1a6de31f5e69e60a413314a83e75835fe2ef4bfe38cf3a766dd1171",
                "66ea4625242302caa2c46b8c5850e7092e6a2856fd680fae301879b57e66b6d8"),
    "power-law": ("27e93aaaee8d1b562ea84d3c1e7c0a12f3f651b5c5484a9c6df7d438280a51fc",
                  "b918bdbcd1c9cf2e6e95d83bf4a31e4a8b4ccf3c55c36d9b2fc5ba349118982f"),
}


def sha256(array):
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


@pytest.mark.compile
@pytest.mark.parametrize("rule", RECORDED)
def test_twenty_images_give_the_recorded_network(rule, settings, train_set, tmp_path,
                                                 monkeypatch):
    monkeypatch.setattr(p, "ETA_POWER_LAW", 0.01)
    monkeypatch.setattr(p, "X_TAR", 0.4)
    monkeypatch.setattr(p, "MU", 0.2)
    images, labels = train_set[0][:20], train_set[1][:20]
    network = pipeline.train(settings.replace(rule=rule, chunk_size=20), tmp_path,
                             images, labels)
    assert (sha256(network.weights), sha256(network.theta)) == RECORDED[rule]
