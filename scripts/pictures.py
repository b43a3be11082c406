"""Measure how digits fare as picture files: MNIST test images saved as pictures
(28 x 28, and enlarged) against the same images as arrays, and the digits 0-9 typed
in every font of this machine, for each network (docs/own-digits.md).

Example:  python scripts/pictures.py --weights weights/n100 weights/n400 weights/n1600
Same as: diehl-cook pictures
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="pictures")
