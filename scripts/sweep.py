"""Sweep one constant of diehl_cook/parameters.py on a short run: for each value,
train a small network, label it on training images and test it.

Example (the sweep that chose BETA, the exponential rule's weight dependence):
  python scripts/sweep.py BETA 1 2 4 8 --rule exponential --n-e 100 --train 5000
Prints and writes (--json) per value: test accuracy, spikes per presentation and
presentations per image while training. Same as: diehl-cook sweep
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="sweep")
