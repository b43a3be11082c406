"""Labelling neurons and classifying images (Section 2.6 of the paper).

Labels are used only here, after learning: each excitatory neuron is assigned the
class for which its mean response over the (frozen) training set is highest, and
an image is classified as the class whose assigned neurons have the highest mean
spike count. A neuron that never fired stays unassigned (-1); a class with no
assigned neuron is never predicted.
"""
import numpy as np

from .errors import SilentNetworkError
from .parameters import N_CLASSES

UNASSIGNED = -1


def assign_labels(counts, labels, n_classes=N_CLASSES):
    """Class of each neuron: argmax over classes of its mean spike count.

    counts : (n_images, n_e) responses; labels : (n_images,) classes.
    A class absent from ``labels`` is skipped. Ties go to the lowest class (the
    released code keeps the first class with a strictly higher rate). Neurons that
    never fired get UNASSIGNED."""
    counts, labels = np.asarray(counts, dtype=float), np.asarray(labels)
    means = np.full((n_classes, counts.shape[1]), -np.inf)
    for digit in range(n_classes):
        shown = labels == digit
        if shown.any():
            means[digit] = counts[shown].mean(axis=0)
    assignments = np.argmax(means, axis=0)
    assignments[counts.sum(axis=0) == 0] = UNASSIGNED
    return assignments


def class_scores(counts, assignments, n_classes=N_CLASSES):
    """(n_images, n_classes): mean spike count of each class's assigned neurons;
    -inf for a class with no assigned neuron."""
    counts = np.asarray(counts, dtype=float)
    scores = np.full((len(counts), n_classes), -np.inf)
    for digit in range(n_classes):
        members = assignments == digit
        if members.any():
            scores[:, digit] = counts[:, members].mean(axis=1)
    return scores


def predict(counts, assignments, n_classes=N_CLASSES):
    """Predicted class of each image (ties go to the lowest class)."""
    if not np.any(np.asarray(assignments) != UNASSIGNED):
        raise SilentNetworkError("no neuron is assigned to a class: the network never fired "
                         "during labelling, so it cannot classify anything")
    return np.argmax(class_scores(counts, assignments, n_classes), axis=1)


def confusion_matrix(labels, predictions, n_classes=N_CLASSES):
    """matrix[true, predicted] = number of images."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def evaluate(counts, labels, assignments, n_classes=N_CLASSES):
    """Accuracy, confusion matrix and per-class accuracy (NaN for an absent class)."""
    predictions = predict(counts, assignments, n_classes)
    matrix = confusion_matrix(labels, predictions, n_classes)
    shown = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(shown > 0, np.diag(matrix) / shown, np.nan)
    return dict(accuracy=float(np.mean(predictions == np.asarray(labels))),
                confusion=matrix, per_class=per_class, predictions=predictions)


def running_accuracy(counts, labels, block=10000, covered=None):
    """The released code's estimate during training: the images of block k are
    classified with assignments computed from the responses of block k - 1.
    ``covered`` (bool per image, default all): blocks k whose responses, or those of
    block k - 1, are not all covered are skipped. Returns a list of (images seen at
    the end of block k, accuracy)."""
    history = []
    for start in range(block, len(counts) - block + 1, block):
        if covered is not None and not np.all(covered[start - block:start + block]):
            continue
        assignments = assign_labels(counts[start - block:start], labels[start - block:start])
        if np.any(assignments != UNASSIGNED):
            current = slice(start, start + block)
            accuracy = np.mean(predict(counts[current], assignments) == labels[current])
            history.append((start + block, float(accuracy)))
    return history
