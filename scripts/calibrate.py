"""Find the per-size theta_plus and inh -> exc weight (paper, Section 3).

Trains each candidate from scratch on a few thousand images and compares the
layer's response (spikes per presentation, presentations per image, neurons
that fired) with the 400-neuron network's; prints the closest.

Example:  python scripts/calibrate.py --n-e 100 --theta-plus 0.0125 0.025 0.05 --w-inh-exc 8 12 17
Same as: diehl-cook calibrate
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="calibrate")
