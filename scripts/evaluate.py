"""Classify the MNIST test images with a trained, labelled network and print
its accuracy.

Example:  python scripts/evaluate.py            (the shipped 400-neuron network)
          python scripts/evaluate.py --weights weights/n100 --json result.json
Same as: diehl-cook evaluate
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="evaluate")
