"""Sweep one constant of diehl_cook/parameters.py on a short run: for each value,
train a small network, label it on training images and measure it on held-out
training images (the last 10,000, never trained or labelled on), so that a choice
made by the sweep leaves the test set unseen (--held-out 0 measures on the test set).

Example (the sweep that chose the power law's x_tar, with mu fixed at 1.0):
  python scripts/sweep.py X_TAR 0.4 0.2 0.1 0.05 --set MU=1.0 --rule power-law --n-e 100 --train 10000
Prints and writes (--json) per value: accuracy, spikes per presentation and
presentations per image while training. Same as: diehl-cook sweep
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="sweep")
