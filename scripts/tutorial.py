"""Run the experiments of docs/tutorial.md and draw their figures.

Parts (default: all):
  stdp        the STDP window measured from the synapse model (seconds)
  inhibition  one presentation to a trained network with lateral inhibition on and off
  ablations   full model vs no lateral inhibition vs no adaptive threshold vs no weight
              normalization: train, label and test N_e neurons (about 13 minutes on 2 cores
              with the defaults)

Example:  python scripts/tutorial.py ablations --n-e 100 --train 5000
Writes runs/tutorial/tutorial_*.png and tutorial_results.json there (each part
updates its own entry; --out to choose); the tutorial quotes those in figures/. Same as: diehl-cook tutorial
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="tutorial")
