"""Measure the engine against the plain Python loop (Brian runtime mode, two run()
calls per presentation) on the same images, for training and for the frozen network.

Prints milliseconds per presentation, presentations per image and the speed-up,
and writes the figures to a JSON file.

Example:  python scripts/benchmark.py --n-e 400
"""
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from diehl_cook import cli, data, parameters as p  # noqa: E402
from diehl_cook.network import initial_state  # noqa: E402
from diehl_cook.simulation import Engine, run_reference  # noqa: E402
from diehl_cook.storage import save_json, versions  # noqa: E402


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def measure(label, seconds, result):
    presentations = int(result.presentations.sum())
    figures = dict(images=len(result.presentations), presentations=presentations,
                   seconds=round(seconds, 3),
                   ms_per_presentation=round(1000 * seconds / presentations, 2),
                   presentations_per_image=round(presentations / len(result.presentations), 3))
    print(f"{label:<34} {figures['images']:>6} img {presentations:>6} pres "
          f"{figures['ms_per_presentation']:>9.2f} ms/pres")
    return figures


def run():
    parser = cli.parser(__doc__)
    parser.add_argument("--n-e", type=int, default=p.N_E_DEFAULT)
    parser.add_argument("--reference-images", type=int, default=20,
                        help="images for the slow reference loop (and the engine on the same)")
    parser.add_argument("--engine-images", type=int, default=1000,
                        help="images for the engine's steady-state figure")
    parser.add_argument("--json", default="figures/benchmark.json", help="where to write the figures")
    args = parser.parse_args()
    images, _ = data.load("training", args.mnist_dir, max(args.engine_images,
                                                          args.reference_images + 1))
    weights, delays = initial_state(args.n_e, np.random.default_rng(0))
    theta = np.full(args.n_e, float(p.THETA_INIT))
    same = images[1:args.reference_images + 1]
    figures = dict(n_e=args.n_e, machine=dict(cpus=os.cpu_count(), processor=platform.processor(),
                                              platform=platform.platform()),
                   versions=versions())
    print(f"N_e = {args.n_e}; {os.cpu_count()} cores; {platform.platform()}")
    for learning in (True, False):
        phase = "training" if learning else "frozen"
        chunk = max(args.engine_images, args.reference_images)
        engine, build = timed(lambda: Engine(args.n_e, learning, delays, chunk_size=chunk,
                                             build_dir=args.build_dir))
        print(f"{phase}: engine build (generate + compile, or reuse) {build:.1f} s")
        engine_same = measure(f"{phase} engine, same images",
                              *reversed(timed(lambda: engine.run(same, weights, theta, seed=1))))
        engine_many = measure(f"{phase} engine, steady state",
                              *reversed(timed(lambda: engine.run(images[:args.engine_images],
                                                                 weights, theta, seed=1))))
        figures[phase] = dict(build_seconds=round(build, 1), engine_same_images=engine_same,
                              engine_steady_state=engine_many)
        # The loop with the usual per-synapse traces (what ports run), and with ours.
        for stdp in ("synaptic_traces", "neuron_traces") if learning else ("neuron_traces",):
            loop = lambda: run_reference(args.n_e, learning, same, weights, delays, theta,  # noqa: E731
                                         seed=1, stdp=stdp)
            # Warm up the runtime code (Cython compilation) on one other image first.
            run_reference(args.n_e, learning, images[:1], weights, delays, theta, seed=1,
                          stdp=stdp)
            name = f"reference_{stdp}" if learning else "reference"
            reference = measure(f"{phase} loop{', ' + stdp if learning else ''}",
                                *reversed(timed(loop)))
            speedup = reference["ms_per_presentation"] / engine_many["ms_per_presentation"]
            speedup_same = reference["ms_per_presentation"] / engine_same["ms_per_presentation"]
            print(f"  speed-up of the engine: {speedup:.0f}x (steady state), {speedup_same:.0f}x "
                  f"(same {len(same)} images, including program start)")
            figures[phase][name] = dict(reference, speedup=round(speedup, 1),
                                        speedup_same_images=round(speedup_same, 1))
    save_json(args.json, figures)
    print(f"figures written to {args.json}")


if __name__ == "__main__":
    cli.main(run)
