"""The trained networks we ship, and the README figures drawn from them.

Every folder under ``weights/`` must load as ``evaluate.py`` loads it (checksums,
shapes, valid values, assignments), its ``evaluation.json`` must be arithmetic on
its own repeats, and each accuracy the README's result tables print must be the one
its folder's ``evaluation.json`` records: a figure typed by hand, or a folder
changed without its README row, fails here.
"""
import os
import re

import numpy as np
import pytest

from diehl_cook.storage import load_evaluation, load_network

from conftest import ROOT

WEIGHTS = os.path.join(ROOT, "weights")


def shipped_folders():
    """Every folder under weights/ that holds a trained network."""
    found = []
    for directory, subdirectories, files in os.walk(WEIGHTS):
        subdirectories[:] = [d for d in subdirectories if d not in ("partial", "training_log")]
        if "weights.npy" in files:
            found.append(os.path.relpath(directory, ROOT))
    return sorted(found)


def readme_rows(page="README.md"):
    """(folder, accuracy %, SD % or None, the row) for each table row of ``page``
    that gives a test accuracy and names its folder: the paper's table by its size
    (``| 400 |`` is ``weights/n400``, with mean +- SD), the other tables in a column."""
    with open(os.path.join(ROOT, page)) as handle:
        lines = handle.read().splitlines()
    rows = []
    for line in lines:
        figure = re.search(r"(\d+\.\d\d)%( \+- (\d+\.\d\d)%)?", line)
        if not line.startswith("|") or not figure:
            continue
        folder = re.search(r"`(weights/[\w./-]+)`", line)
        size = re.match(r"\| ([\d,]+) \|", line)
        if folder:
            name = folder.group(1)
        elif size and figure.group(3):
            name = f"weights/n{size.group(1).replace(',', '')}"
        else:
            continue
        sd = float(figure.group(3)) if figure.group(3) else None
        rows.append((name, float(figure.group(1)), sd, line))
    return rows


def test_the_shipped_networks_are_found():
    folders = shipped_folders()
    assert {"weights/n100", "weights/n400", "weights/n1600", "weights/n6400"} <= set(folders)


@pytest.mark.parametrize("folder", shipped_folders())
def test_a_shipped_network_loads_labelled_and_sized(folder):
    network = load_network(os.path.join(ROOT, folder), need_assignments=True)
    n_e = network.metadata["n_e"]
    assert network.weights.shape == (784, n_e) and network.assignments.shape == (n_e,)
    assert os.path.basename(folder).startswith(f"n{n_e}")
    # Normalization keeps each neuron's input weights summing to 78 during training.
    assert np.allclose(network.weights.sum(axis=0), 78.0, rtol=1e-3)
    # Labelled on the training set: (almost) every neuron answered to some class.
    assert np.mean(network.assignments >= 0) > 0.95


@pytest.mark.parametrize("folder", shipped_folders())
def test_a_shipped_evaluation_is_its_repeats(folder):
    result = load_evaluation(os.path.join(ROOT, folder))
    if result is None:
        pytest.skip(f"{folder} ships no evaluation.json")
    # Records written before --repeats existed hold one evaluation and no list.
    repeats = result.get("each_repeat", [result])
    accuracies = [repeat["accuracy"] for repeat in repeats]
    assert len(repeats) == result.get("repeats", 1)
    assert result["accuracy"] == pytest.approx(np.mean(accuracies))
    if len(repeats) > 1:
        assert result["accuracy_sd"] == pytest.approx(np.std(accuracies, ddof=1))
    confusion = np.array(result["confusion_matrix"])
    assert confusion.sum() == len(repeats) * result["test_images"]
    assert np.trace(confusion) / confusion.sum() == pytest.approx(result["accuracy"])
    presentations = [repeat["presentations_per_image"] for repeat in repeats]
    assert result["presentations_per_image"] == pytest.approx(np.mean(presentations))


@pytest.mark.parametrize("page", ["README.md", "docs/results.md",
                                  "docs/scaling.md"])
def test_the_readme_results_are_the_shipped_evaluations(page):
    rows = readme_rows(page)
    if page in ("README.md", "docs/results.md"):
        assert {"weights/n100", "weights/n400", "weights/n1600",
                "weights/n6400"} <= {row[0] for row in rows}
    for folder, accuracy, sd, line in rows:
        result = load_evaluation(os.path.join(ROOT, folder))
        assert result is not None, f"README row names {folder}, which has no evaluation.json"
        assert result["test_images"] == 10000, line
        assert accuracy == round(100 * result["accuracy"], 2), line
        if sd is not None:
            assert result["repeats"] == 10, line
            assert sd == round(100 * result["accuracy_sd"], 2), line
        else:
            assert result.get("repeats", 1) == 1, line
