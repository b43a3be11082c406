"""Time the engine for each learning rule, and against the plain Python loop
(Brian runtime mode, two run() calls per presentation) on the same images.

Example:  python scripts/benchmark.py --n-e 400
Prints milliseconds per presentation and the speed-up; writes them to --json.
Same as: diehl-cook benchmark
"""
from diehl_cook.cli import main

if __name__ == "__main__":
    main(command="benchmark")
