"""Labelling and prediction arithmetic on hand-made spike counts."""
import numpy as np
import pytest

from diehl_cook.errors import SilentNetworkError
from diehl_cook.labels import (UNASSIGNED, assign_labels, class_scores, confusion_matrix,
                               evaluate, predict, running_accuracy)

# 4 neurons; neuron 3 never fires. Images of classes 0, 0, 1, 2.
COUNTS = np.array([[4, 0, 1, 0],
                   [2, 1, 0, 0],
                   [1, 5, 0, 0],
                   [0, 1, 3, 0]])
LABELS = np.array([0, 0, 1, 2])


def test_assignment_is_the_class_of_highest_mean_response():
    # neuron 0: means 3, 1, 0 -> class 0; neuron 1: 0.5, 5, 1 -> 1; neuron 2: 0.5, 0, 3 -> 2
    assert assign_labels(COUNTS, LABELS, 3).tolist() == [0, 1, 2, UNASSIGNED]


def test_mean_not_sum_decides_the_assignment():
    # class 0 shown 3 times (sum 6, mean 2), class 1 once (sum 3, mean 3)
    counts = np.array([[2], [2], [2], [3]])
    assert assign_labels(counts, np.array([0, 0, 0, 1]), 2).tolist() == [1]


def test_absent_class_is_never_assigned():
    counts = np.array([[0, 1], [0, 1]])
    assert assign_labels(counts, np.array([5, 5]), 10).tolist() == [UNASSIGNED, 5]


def test_prediction_uses_the_mean_count_of_each_class_neurons():
    assignments = np.array([0, 0, 1, UNASSIGNED])
    counts = np.array([[3, 0, 2, 9],     # class 0: mean 1.5, class 1: 2 -> 1
                       [3, 1, 1, 9]])    # class 0: mean 2,   class 1: 1 -> 0
    scores = class_scores(counts, assignments, 3)
    assert scores[0, :2].tolist() == [1.5, 2.0] and scores[0, 2] == -np.inf
    assert predict(counts, assignments, 3).tolist() == [1, 0]


def test_class_without_neurons_is_never_predicted_even_if_all_counts_are_zero():
    assignments = np.array([2, 2])
    assert predict(np.array([[0, 0]]), assignments, 3).tolist() == [2]


def test_no_assigned_neuron_is_an_error():
    with pytest.raises(SilentNetworkError, match="never fired"):
        predict(np.ones((1, 2)), np.array([UNASSIGNED, UNASSIGNED]))


def test_accuracy_confusion_and_per_class():
    assignments = np.array([0, 1, 2, UNASSIGNED])
    result = evaluate(COUNTS, LABELS, assignments, 3)
    # predictions: [0, 0, 1, 2] -> 4 of 4 correct
    assert result["predictions"].tolist() == [0, 0, 1, 2]
    assert result["accuracy"] == 1.0
    wrong = evaluate(COUNTS, np.array([0, 1, 1, 2]), assignments, 3)
    assert wrong["accuracy"] == 0.75
    assert wrong["confusion"].tolist() == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert wrong["per_class"].tolist() == [1.0, 0.5, 1.0]


def test_confusion_matrix_counts_pairs():
    m = confusion_matrix([0, 0, 1], [1, 1, 1], 2)
    assert m.tolist() == [[0, 2], [0, 1]]


def test_running_accuracy_uses_assignments_from_the_previous_block():
    # Block 0 teaches "neuron 0 = class 0, neuron 1 = class 1"; block 1 is all class 1
    # answered by neuron 0, so with block-0 assignments it is all wrong.
    block0 = np.array([[5, 0], [0, 5]]), np.array([0, 1])
    block1 = np.array([[5, 0], [5, 0]]), np.array([1, 1])
    counts = np.concatenate([block0[0], block1[0]])
    labels = np.concatenate([block0[1], block1[1]])
    assert running_accuracy(counts, labels, block=2) == [(4, 0.0)]


def test_running_accuracy_skips_blocks_whose_responses_or_previous_block_are_uncovered():
    labels = np.arange(16) % 4                          # 4 blocks of 4 images
    counts = np.eye(4, dtype=int)[labels] * 5           # neuron k answers class k
    assert running_accuracy(counts, labels, block=4) == [(8, 1.0), (12, 1.0), (16, 1.0)]
    covered = np.ones(16, bool)
    covered[5] = False                                  # block 1 (images 4 to 7)
    assert running_accuracy(counts, labels, block=4, covered=covered) == [(16, 1.0)]


def test_the_training_curve_breaks_where_blocks_are_missing():
    from diehl_cook.plots import broken_at_gaps
    seen, accuracy = broken_at_gaps([(20, 0.5), (30, 0.6), (60, 0.8), (70, 0.9)])
    assert np.array_equal(seen, [20, 30, np.nan, 60, 70], equal_nan=True)
    assert np.allclose(accuracy, [50, 60, np.nan, 80, 90], equal_nan=True)
    assert [len(a) for a in broken_at_gaps([(20, 0.5)])] == [1, 1]


def test_the_training_curve_is_drawn(tmp_path):
    from diehl_cook.plots import training_accuracy
    training_accuracy([(20, 0.5), (30, 0.6), (60, 0.8)], tmp_path / "curve.png")
    assert (tmp_path / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
