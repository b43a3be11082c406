"""The presentation protocol of Diehl & Cook (2015), in one place.

Every image is shown in cycles of PRESENTATION_TIME (350 ms) with Poisson rates
pixel / 8 * intensity Hz, followed by REST_TIME (150 ms) of silence. A cycle's
response is the number of spikes of each excitatory neuron from image onset to
the end of the rest. If the whole layer fired fewer than MIN_SPIKES spikes, the
same image is shown again with the intensity raised by INTENSITY_STEP; otherwise
the response is recorded and the next image starts at INTENSITY_START. While
learning, each neuron's input weights are scaled to sum to WEIGHT_SUM before
every presentation. An image still silent after MAX_PRESENTATIONS presentations
stops the run with ``SilentNetworkError``.

``next_cycle`` states these rules in Python (the reference driver uses it);
``PROTOCOL_CODE`` states them for the in-model protocol group that the fast
engine runs. A test checks that both give the same decisions.
"""
import numpy as np

from . import parameters as p
from .errors import SilentNetworkError

CYCLE_TIME = p.PRESENTATION_TIME + p.REST_TIME
CYCLE_STEPS = int(round(CYCLE_TIME / p.DT))
PRESENTATION_STEPS = int(round(p.PRESENTATION_TIME / p.DT))

RUNNING, DONE, SILENT = 0, 1, 2   # states of a run


def silent_error(image_index, theta):
    """The error for a silent network; ``theta`` (volts) explains the common cause."""
    theta = np.asarray(theta)
    lowest = float(p.V_THRESH_E - p.THETA_OFFSET) + theta.min()
    reason = ""
    if lowest >= float(p.E_EXC_E):
        reason = (f" Every neuron's threshold is at or above the excitatory reversal "
                  f"potential ({1000 * lowest:.1f} mV >= {1000 * float(p.E_EXC_E):.0f} mV: theta "
                  f"grew past {1000 * float(p.E_EXC_E - p.V_THRESH_E + p.THETA_OFFSET):.0f} mV), "
                  f"so no input can make them fire; small networks trained on many images "
                  f"end like this because each neuron fires, and raises its theta, so often.")
    return SilentNetworkError(
        f"image {image_index} evoked fewer than {p.MIN_SPIKES} excitatory spikes in "
        f"{p.MAX_PRESENTATIONS} presentations (intensity raised from {p.INTENSITY_START} to "
        f"{p.INTENSITY_START + (p.MAX_PRESENTATIONS - 1) * p.INTENSITY_STEP}); the network of "
        f"{len(theta)} neurons does not respond.{reason} Check the weights (all zero?), "
        f"theta (too high?) and the image (blank?). The bound is MAX_PRESENTATIONS in "
        f"diehl_cook/parameters.py.")


def input_rates(images):
    """Per-pixel Poisson rates in Hz at intensity 1: pixel / INPUT_RATE_DIVISOR."""
    return np.asarray(images, dtype=float).reshape(len(images), p.N_INPUT) / p.INPUT_RATE_DIVISOR


def next_cycle(spikes, intensity, presentations):
    """What follows a presentation that evoked ``spikes`` excitatory spikes.

    ``presentations`` counts the presentations of the current image so far (this one
    included). Returns (accepted, intensity, presentations) for the next cycle."""
    if spikes >= p.MIN_SPIKES:
        return True, p.INTENSITY_START, 1
    return False, intensity + p.INTENSITY_STEP, presentations + 1


# The same rules as code of the one-neuron protocol group, run at the start of
# every cycle. At t = 0 no presentation has ended yet. Brian's abstract code has
# no "if", so the branches are written with 0/1 factors.
PROTOCOL_CODE = """
ended = int(t > 0*second)
accepted = ended * int(spikes >= min_spikes)
example += accepted
intensity = accepted * intensity_start + (1 - accepted) * (intensity + ended * intensity_step)
presentations = (1 - accepted) * presentations + 1
status = int(example >= n_examples) * done + int(presentations > max_presentations) * silent
spikes = 0
status = stop_if_not_running(status)
"""
PROTOCOL_EQUATIONS = """
example : integer           # index of the image being shown, in this run's table
intensity : 1               # input rate multiplier
presentations : integer     # presentations of the current image, this one included
spikes : integer            # excitatory spikes in the current cycle
status : integer            # RUNNING, DONE or SILENT
n_examples : integer (constant)
rng_seed : integer (constant)
"""


def protocol_namespace():
    return dict(min_spikes=p.MIN_SPIKES, intensity_start=p.INTENSITY_START,
                intensity_step=p.INTENSITY_STEP, max_presentations=p.MAX_PRESENTATIONS,
                done=DONE, silent=SILENT)
