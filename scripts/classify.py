"""Classify your own digit images (or MNIST test images) with a trained network.

Example:  python scripts/classify.py my_digit.png --weights weights/n400 --plot runs/mine
          python scripts/classify.py --mnist-test 0 1 2
Images of any size, colour or grey, are converted the MNIST way (diehl_cook/images.py).
Same as: diehl-cook classify
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="classify")
