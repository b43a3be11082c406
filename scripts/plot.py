"""Draw the figures of a trained network into a folder (default runs/figures/).

Example:  python scripts/plot.py --weights weights/n400 --result weights/n400/evaluation.json
Writes <name>_receptive_fields.png, _theta.png, _training_accuracy.png,
_raster.png and, given an evaluate.py JSON (--result), _confusion.png.
Same as: diehl-cook plot
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="plot")
