"""Train a Diehl & Cook (2015) network on MNIST without labels and save it.

Example:  python scripts/train.py --n-e 400      (into runs/n400; --out to choose)
Writes OUT/weights.npy, theta.npy, metadata.json, and checkpoint.npz plus
training_log/ (responses per chunk) while it runs; --resume continues from them.
Same as: diehl-cook train
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="train")
