"""Classify the MNIST test images with a trained, labelled network and print
its accuracy.

Example:  python scripts/evaluate.py   (the network trained last into runs/, else the
                                       shipped 400-neuron network)
          python scripts/evaluate.py --weights weights/n100 --json runs/n100.json
A network without assignments is labelled first (as assign_labels.py does).
Same as: diehl-cook evaluate
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="evaluate")
