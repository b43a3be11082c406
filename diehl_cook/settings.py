"""The settings of a run: which phase, which network, how to split the work.

A ``RunSettings`` is passed wherever a run is prepared, instead of long lists of
arguments; ``Mechanisms`` says which parts of the model are on (the tutorial's
ablations switch them off). Invalid values raise ``SettingsError`` naming the
command-line flag.
"""
import dataclasses
import numbers
import os
from dataclasses import asdict, dataclass

import numpy as np

from . import parameters as p
from .errors import SettingsError

PHASES = ("training", "labelling", "testing")
# How the compiled program computes (docs: "The engine"): "exact" gives, bit for bit,
# what Brian's own code gives; "fast" vectorizes the excitatory neurons' integration,
# whose exp() then differs from the scalar one in the last bits.
ENGINE_MODES = ("exact", "fast")


@dataclass(frozen=True)
class SizeProtocol:
    """The paper's protocol for one network size (``parameters.SIZES``).

    theta_plus : theta increment per spike while training, in volts.
    w_inh_exc : weight of the inh -> exc synapses (lateral inhibition).
    examples, epochs : training examples per pass, and passes.
    """
    theta_plus: float
    w_inh_exc: float
    examples: int
    epochs: int

    @property
    def description(self):
        return (f"{self.examples * self.epochs:,} training examples ({self.epochs} x "
                f"{self.examples:,}), theta_plus {1000 * self.theta_plus:g} mV, "
                f"inh -> exc weight {self.w_inh_exc:g}")


def size_protocol(n_e):
    """The paper's protocol for ``n_e`` neurons: its row of ``parameters.SIZES``, or
    THETA_PLUS, W_INH_EXC and one pass over the 60,000 images for a size not listed."""
    row = p.SIZES.get(n_e, dict(theta_plus=p.THETA_PLUS, w_inh_exc=p.W_INH_EXC,
                                examples=60000, epochs=1))
    return SizeProtocol(float(row["theta_plus"]), float(row["w_inh_exc"]),
                        int(row["examples"]), int(row["epochs"]))


@dataclass(frozen=True)
class Mechanisms:
    """Which of the model's three competition mechanisms are on. The model is all
    three; switching one off is an ablation (docs/tutorial.md shows what each is for).

    lateral_inhibition : inhibitory neuron k inhibits every other excitatory neuron
        (off: the inh -> exc weight is 0).
    adaptive_threshold : theta grows by THETA_PLUS at each spike while learning
        (off: theta stays at its initial value).
    normalization : each neuron's input weights are scaled to sum to WEIGHT_SUM
        before every presentation (off: not scaled).
    """
    lateral_inhibition: bool = True
    adaptive_threshold: bool = True
    normalization: bool = True

    @property
    def name(self):
        """"full" or e.g. "no_normalization" (used in build-directory names)."""
        off = [mechanism for mechanism, on in asdict(self).items() if not on]
        return "-".join("no_" + mechanism for mechanism in off) or "full"


FULL_MODEL = Mechanisms()


# The labelling and test phases of a network trained with seed s run with seeds s + 1
# and s + 2, so that their Poisson draws are their own.
LABELLING_SEED_OFFSET, TEST_SEED_OFFSET = 1, 2
FROZEN_SEED_OFFSET = max(LABELLING_SEED_OFFSET, TEST_SEED_OFFSET)


@dataclass(frozen=True)
class RunSettings:
    """How to run one phase of one network.

    - phase : "training" (STDP, adaptive theta), "labelling" or "testing" (frozen).
    - n_e : excitatory (and inhibitory) neurons.
    - rule : the learning rule, one of ``parameters.LEARNING_RULES`` (training only).
    - seed : seed of the run; each chunk of images derives its own from it.
    - epochs : passes over the images (training only).
    - chunk_size : images per run of the compiled program (progress and checkpoints).
    - jobs : processes for the frozen phases (None: one per core, or per ``threads``
      cores); training uses one.
    - threads : OpenMP threads of each compiled program (1: no OpenMP). The results
      are the same, bit for bit, for any number (tests/test_engine.py).
    - engine : "exact" or "fast", one of ``ENGINE_MODES``.
    - progress : show progress bars.
    - build_dir : where compiled programs are kept (None: the default cache).
    - keep : a folder where a frozen phase keeps each finished chunk, and takes it
      from instead of running it again (None: not kept); see ``pipeline.respond``.
    - mechanisms : parts of the model that are on.
    - theta_plus, w_inh_exc : for a new network (training): theta increment in volts
      and inh -> exc weight (None: the size's, ``size_protocol``). A trained
      network keeps its own values (``TrainedNetwork``).
    - change_values : a resumed training goes on with the theta_plus and w_inh_exc
      given here though its checkpoint has others (``pipeline.train``).
    """
    phase: str = "training"
    n_e: int = p.N_E_DEFAULT
    rule: str = p.LEARNING_RULE
    seed: int = 0
    epochs: int = 1
    chunk_size: int = 1000
    jobs: int = None
    threads: int = 1
    engine: str = "exact"
    progress: bool = True
    build_dir: str = None
    keep: str = None
    mechanisms: Mechanisms = FULL_MODEL
    theta_plus: float = None
    w_inh_exc: float = None
    change_values: bool = False

    def __post_init__(self):
        check(self.phase in PHASES, "phase", self.phase, f"one of {', '.join(PHASES)}")
        check(self.rule in p.LEARNING_RULES, "--rule", self.rule,
              f"one of {', '.join(p.LEARNING_RULES)}")
        check(_integer(self.n_e) and self.n_e >= 2, "--n-e", self.n_e,
              "an integer of at least 2 (lateral inhibition needs a rival)")
        # A network's labelling and test seeds are its training seed + 1 and + 2.
        top = 2 ** 32 - 1 - (FROZEN_SEED_OFFSET if self.phase == "training" else 0)
        check(_integer(self.seed) and 0 <= self.seed <= top, "--seed", self.seed,
              f"an integer from 0 to {top}")
        check(_integer(self.epochs) and self.epochs >= 1, "--epochs", self.epochs,
              "an integer of at least 1")
        check(_integer(self.chunk_size) and self.chunk_size >= 1, "--chunk-size",
              self.chunk_size, "an integer of at least 1")
        check(self.jobs is None or (_integer(self.jobs) and self.jobs >= 1), "--jobs",
              self.jobs, "an integer of at least 1")
        check(_integer(self.threads) and 1 <= self.threads <= 256, "--threads", self.threads,
              "an integer from 1 to 256")
        check(self.engine in ENGINE_MODES, "--engine", self.engine,
              f"one of {', '.join(ENGINE_MODES)}")
        for flag, value in (("--theta-plus", self.theta_plus), ("--w-inh-exc", self.w_inh_exc)):
            check(value is None or (_number(value) and value >= 0), flag, value,
                  "a number of at least 0")

    @property
    def learning(self):
        return self.phase == "training"

    @property
    def new_network_values(self):
        """theta_plus (volts) and w_inh_exc of a network trained from scratch."""
        size = size_protocol(self.n_e)
        return dict(theta_plus=size.theta_plus if self.theta_plus is None else self.theta_plus,
                    w_inh_exc=size.w_inh_exc if self.w_inh_exc is None else self.w_inh_exc)

    @property
    def memory_estimate(self):
        """Bytes a run of this size needs, roughly: the synapses (input -> exc: weight,
        delay, last arrival, indices, queue; inh -> exc: indices, queue), one chunk of
        spike-count records and of input rates, and the arrays Python keeps (weights, delays, training log).
        Synapses are counted at twice their size: Brian builds them in growing vectors."""
        n = self.n_e
        rates_table = (self.chunk_size + 1) * p.N_INPUT * 8 * 2   # a chunk's images, and Brian's copy
        return int(p.N_INPUT * n * 64 + n * (n - 1) * 48
                   + self.chunk_size * p.MAX_PRESENTATIONS // 8 * n * 8 + rates_table + 200e6)

    def check_memory(self, total=None, images=0, flags="--n-e"):
        """Raise SettingsError if ``memory_estimate``, plus what Python keeps for a
        phase over ``images`` images (pixels and every neuron's spike counts),
        exceeds 3/4 of the machine's memory (``total`` bytes; default: the physical
        memory). ``flags``: the options that set these sizes, for the message."""
        total = total or os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        needed = self.memory_estimate + images * (p.N_INPUT + 16 * self.n_e)
        larger_chunks = self.chunk_size > type(self).chunk_size     # than the default
        if flags == "--n-e" and larger_chunks:
            flags = "--n-e (with --chunk-size)"
        check(needed <= 0.75 * total, flags, self.n_e if flags.startswith("--n-e") else images,
              f"small enough to fit in memory: N_e={self.n_e}"
              + (f" with chunks of {self.chunk_size:,} images" if larger_chunks else "")
              + (f" on {images} images" if images else "") + f" needs "
              f"about {needed / 2 ** 30:.1f} GiB, more than 3/4 of this machine's "
              f"{total / 2 ** 30:.1f} GiB")

    def replace(self, **changes):
        """A copy with some settings changed (checked again)."""
        return dataclasses.replace(self, **changes)


def _integer(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and \
        bool(np.isfinite(value))


def check(condition, flag, value, expected):
    """Raise ``SettingsError`` "flag must be expected (got value)" unless ``condition``."""
    if not condition:
        raise SettingsError(f"{flag} must be {expected} (got {value!r})")
