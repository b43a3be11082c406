"""Assign each excitatory neuron a class from the frozen network's responses to
the training set (Section 2.6 of the paper) and store them in WEIGHTS/assignments.npy.

Example:  python scripts/assign_labels.py --weights runs/n400
(Without --weights: the network trained last into runs/.)
Same as: diehl-cook label
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="label")
