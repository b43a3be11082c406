"""The tutorial's experiments (docs/tutorial.md; run by scripts/tutorial.py).

- ``stdp_window``: the weight change of one input synapse as a function of the
  time between a presynaptic and a postsynaptic spike, measured by running the
  model's own synapse equations (``network.TEXTBOOK_TRIPLET``) on imposed spike times.
- ``presentation``: the spikes of one presentation, for a raster.
- ``ablation``: train, label and test a small network with some of its
  mechanisms switched off (``settings.Mechanisms``), through the pipeline.

And docs/own-digits.md (run by scripts/pictures.py):

- ``as_pictures``: MNIST images written as picture files and read back the way a
  user's picture is read (``images.read``).
- ``typed_digits``: the digits 0-9 drawn with the machine's fonts.
- ``nearest_digits`` and ``shape``: what a plain pixel classifier that has seen every
  MNIST training image reads in a picture, and the box, centre and ink of a digit, to
  tell a digit unlike MNIST's from a conversion that went wrong.
"""
import glob
import os
import tempfile

import numpy as np
from brian2 import (Hz, Network, NeuronGroup, SpikeGeneratorGroup, SpikeMonitor, StateMonitor,
                    Synapses, TimedArray, ms)
from brian2 import seed as brian_seed
from PIL import Image, ImageDraw, ImageFilter, ImageFont
from scipy import ndimage

from . import parameters as p
from . import images as pictures
from . import pipeline, storage
from .engine import use_runtime
from .errors import SilentNetworkError
from .network import TEXTBOOK_TRIPLET, TrainedNetwork, build_network, model_namespace
from .protocol import input_rates
from .settings import FULL_MODEL, RunSettings

W_START = 0.5   # far from the bounds 0 and 1, so no change is clipped


def stdp_pairs(pre_times, post_times, duration, record=None):
    """Run one synapse per pair with imposed spike times; return the weight changes.

    ``pre_times[k]`` and ``post_times[k]`` are lists of spike times (in ms) of the
    presynaptic and the postsynaptic neuron of synapse k. The synapse is the
    model's plastic input synapse (``network.TEXTBOOK_TRIPLET``); the postsynaptic
    neuron only has to spike when told, so it is a group whose threshold reads a
    table of spike times. ``record``: index of a synapse whose traces and weight
    to record (returned as a StateMonitor, else None).
    """
    use_runtime()
    n = len(pre_times)
    steps = int(round(duration / p.DT)) + 1
    post_table = np.zeros((steps, n))
    for k, times in enumerate(post_times):
        post_table[np.round(np.asarray(times) / float(p.DT / ms)).astype(int), k] = 1
    indices = np.concatenate([[k] * len(times) for k, times in enumerate(pre_times)])
    times = np.concatenate([np.asarray(t, dtype=float) for t in pre_times]) * ms
    pre = SpikeGeneratorGroup(n, indices.astype(int), times, name="pre")
    post = NeuronGroup(n, "ge : 1", threshold="post_spike_table(t, i) > 0", reset="", name="post",
                       namespace=dict(post_spike_table=TimedArray(post_table, dt=p.DT)))
    synapse = Synapses(pre, post, name="synapse", namespace=model_namespace(), **TEXTBOOK_TRIPLET)
    synapse.connect(j="i")
    synapse.w = W_START
    objects = [pre, post, synapse]
    monitor = None
    if record is not None:
        monitor = StateMonitor(synapse, ["w", "pre", "post1", "post2", "lastupdate"],
                               record=record, name="traces")
        objects.append(monitor)
    Network(objects).run(duration, namespace={})
    return np.asarray(synapse.w[:]) - W_START, monitor


def stdp_window(delays_ms, previous_post_ms=20.0):
    """Weight change against the pre-post interval dt = t_post - t_pre (ms).

    Two protocols: an isolated pair (one pre and one post spike), and the same
    pair with an earlier postsynaptic spike ``previous_post_ms`` before the
    paired one. Returns a dict of arrays (dt in ms, dw for each protocol).
    """
    delays_ms = np.asarray(delays_ms, dtype=float)
    t_post = 100.0 + previous_post_ms   # leaves room for the earlier spikes
    pre = [[t_post - d] for d in delays_ms]
    isolated, _ = stdp_pairs(pre, [[t_post]] * len(pre), 300 * ms)
    after_post, _ = stdp_pairs(pre, [[t_post - previous_post_ms, t_post]] * len(pre), 300 * ms)
    return dict(dt_ms=delays_ms, isolated=isolated, after_post=after_post,
                previous_post_ms=previous_post_ms)


def trace_example():
    """Traces and weight of one synapse over a post-pre-post triplet (for a figure).

    The traces are event-driven: Brian stores each one's value at the synapse's
    last event (``lastupdate``) and decays it only when the next event reads it.
    Their value at any time t is that stored value decayed from ``lastupdate`` to t.
    """
    pre, post = [[40.0]], [[20.0, 50.0]]
    change, monitor = stdp_pairs(pre, post, 120 * ms, record=0)
    elapsed = np.asarray(monitor.t - monitor.lastupdate[0])
    decayed = {name: monitor.get_states([name])[name][:, 0] * np.exp(-elapsed / float(tau))
               for name, tau in (("pre", p.TAU_PRE), ("post1", p.TAU_POST1),
                                 ("post2", p.TAU_POST2))}
    return dict(t_ms=np.asarray(monitor.t / ms), w=np.asarray(monitor.w[0]), **decayed,
                pre_spikes=pre[0], post_spikes=post[0], change=float(change[0]))


def presentation(network, image, mechanisms=FULL_MODEL, seed=0):
    """Spikes of every population while the frozen ``network`` sees one ``image``
    (350 ms at the start intensity, then 150 ms of rest), for a raster.

    Returns a dict: for "input", "exc" and "inh", (times in ms, neuron indices);
    "n_e"; "counts", the spikes of each excitatory neuron."""
    use_runtime()
    settings = RunSettings(phase="testing", n_e=network.n_e, mechanisms=mechanisms)
    model = build_network(settings, network)
    groups = dict(input=model.input, exc=model.exc, inh=model.inh)
    monitors = {name: SpikeMonitor(group) for name, group in groups.items()}
    simulation = Network(model.objects, *monitors.values())
    brian_seed(seed)
    model.input.rate = input_rates(image[None])[0] * p.INTENSITY_START * Hz
    simulation.run(p.PRESENTATION_TIME, namespace={})
    model.input.rate = 0 * Hz
    simulation.run(p.REST_TIME, namespace={})
    spikes = {name: (np.asarray(m.t / ms), np.asarray(m.i)) for name, m in monitors.items()}
    return dict(spikes, n_e=network.n_e,
                counts=np.bincount(spikes["exc"][1], minlength=network.n_e))


def ablation(settings, train, labelling, test):
    """Train with ``settings`` (its ``mechanisms`` say what is switched off) on
    ``train`` = (images, labels), assign classes on ``labelling``, test on ``test``,
    through the pipeline, in a temporary folder. Same seed, same initial weights
    and delays for every variant. Returns weights, theta and scores.

    A variant may fall silent (``SilentNetworkError``): that is one of the things
    an ablation can show. Training then stops and the network of the last complete
    chunk is labelled and tested; ``fell_silent`` gives the error message. If the
    frozen network is silent too, the accuracy is None.
    """
    outcome = dict(mechanisms=settings.mechanisms.name, fell_silent=None, accuracy=None)
    with tempfile.TemporaryDirectory() as folder:
        try:
            network = pipeline.train(settings, folder, *train, command="ablation")
        except SilentNetworkError as error:
            outcome["fell_silent"] = str(error)
            network = _last_checkpoint(settings, folder)
        outcome.update(weights=network.weights, theta=network.theta,
                       trained_images=network.metadata["images_seen"],
                       theta_mean_mV=float(np.mean(network.theta) * 1000),
                       **{k: network.metadata.get(k) for k in (
                           "training_spikes_per_presentation",
                           "training_presentations_per_image")})
        try:
            pipeline.label(settings, folder, *labelling)
            (scores,), tested = pipeline.test(settings, folder, *test)
        except SilentNetworkError as error:
            outcome["frozen_silent"] = str(error)
            return outcome
        assignments = storage.load_network(folder).assignments
    outcome.update(
        accuracy=scores["accuracy"],
        assigned_classes=int(len(set(assignments[assignments >= 0].tolist()))),
        silent_neurons=int(np.sum(assignments < 0)),
        spikes_per_image=float(tested.counts.sum(axis=1).mean()),
        active_neurons_per_image=float((tested.counts > 0).sum(axis=1).mean()),
        test_presentations_per_image=float(tested.presentations.mean()))
    return outcome


def _last_checkpoint(settings, folder):
    """The network of the last complete chunk of a training that fell silent
    (the initial network if none was complete), saved as the folder's network."""
    checkpoint = storage.load_checkpoint(folder)
    if checkpoint is None:
        network, done = TrainedNetwork.untrained(settings.n_e, settings.seed, settings.rule), 0
    else:
        network, done = checkpoint[0], checkpoint[1]["done"]
    network.metadata = dict(images_seen=done)
    storage.save_network(folder, network)
    return network


# How a user's picture of an MNIST digit may look: dark ink on white, as saved (28 x 28),
# enlarged smoothly (a screenshot, a scan), blurred on grey paper with faint noise (a
# photograph), or written again with a pen of another width.
PAPER, PAPER_NOISE = 200, 4.0       # grey paper (of 255) and its noise (SD, grey levels)
BLUR = 1.0                          # Gaussian blur of a photographed picture (its pixels)
PEN_WIDTHS = {"thin": -4, "medium": 0, "thick": 8}    # stroke edge moved (280-pixel picture)


def _enlarged(digit, side, how):
    return Image.fromarray(255 - digit).resize((side, side), how)


def _photographed(digit, side, how, k):
    """Enlarged, blurred by BLUR pixels, on grey paper with faint noise (seeded by k)."""
    picture = np.asarray(_enlarged(digit, side, how).filter(ImageFilter.GaussianBlur(BLUR)),
                         dtype=float)
    noise = np.random.default_rng(k).normal(0, PAPER_NOISE, picture.shape)
    return Image.fromarray(np.clip(picture * PAPER / 255 + noise, 0, 255).astype(np.uint8))


def _pen(digit, width):
    """The digit's strokes (``images.INK_EDGE`` of its ink or more, at 280 x 280) made
    thinner (width < 0) or thicker by ``width`` pixels on each side: the same digit
    with another pen."""
    ink = 255 - np.asarray(_enlarged(digit, 280, Image.BICUBIC), dtype=float)
    strokes = ink >= pictures.INK_EDGE * ink.max()
    if width:
        grow = ndimage.binary_dilation if width > 0 else ndimage.binary_erosion
        strokes = grow(strokes, structure=_disk(abs(width)))
    return Image.fromarray(np.where(strokes, 0, 255).astype(np.uint8))


def _disk(radius):
    rows, cols = np.indices((2 * radius + 1, 2 * radius + 1)) - radius
    return rows ** 2 + cols ** 2 <= radius ** 2


PICTURE_FORMS = {
    "28 x 28": lambda digit, k: Image.fromarray(255 - digit),
    "96 x 96 (bicubic)": lambda digit, k: _enlarged(digit, 96, Image.BICUBIC),
    "280 x 280 (bilinear)": lambda digit, k: _enlarged(digit, 280, Image.BILINEAR),
    "96 x 96, blurred, grey paper": lambda digit, k: _photographed(digit, 96, Image.BICUBIC, k),
    "280 x 280, blurred, grey paper": lambda digit, k: _photographed(digit, 280, Image.BILINEAR,
                                                                     k),
    **{f"pen, {name} (280 x 280)": (lambda digit, k, width=width: _pen(digit, width))
       for name, width in PEN_WIDTHS.items()},
}
FONT_FOLDERS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts")


def as_pictures(digits, folder, form):
    """``digits`` (n, 28, 28) written as dark-on-white PNG files in ``folder`` (in
    ``PICTURE_FORMS[form]``) and read back with ``images.read``: the conversions."""
    read = []
    for k, digit in enumerate(digits):
        path = os.path.join(folder, f"{k}.png")
        PICTURE_FORMS[form](digit, k).save(path)
        read.append(pictures.read(path))
    return read


def machine_fonts():
    """The TrueType fonts installed on this machine (sorted paths)."""
    found = set()
    for folder in FONT_FOLDERS:
        found.update(glob.glob(os.path.join(os.path.expanduser(folder), "**", "*.ttf"),
                               recursive=True))
    return sorted(found)


def typed_digits(font_path, side=120):
    """The digits 0-9 typed in the font at ``font_path``: ten pictures, dark on white."""
    font = ImageFont.truetype(font_path, size=side * 3 // 4)
    typed = []
    for digit in range(10):
        picture = Image.new("L", (side, side), 255)
        ImageDraw.Draw(picture).text((side / 2, side / 2), str(digit), fill=0, font=font,
                                     anchor="mm")
        typed.append(picture)
    return typed


def nearest_digits(digits, train_images, train_labels, k=5):
    """The class most of the ``k`` nearest training images (Euclidean, on the pixels)
    give each of ``digits`` (n, 28, 28): a reading that needs no spiking network."""
    queries = digits.reshape(len(digits), -1).astype(np.float32)
    known = train_images.reshape(len(train_images), -1).astype(np.float32)
    distances = ((queries ** 2).sum(axis=1)[:, None] - 2 * queries @ known.T
                 + (known ** 2).sum(axis=1)[None, :])
    nearest = train_labels[np.argsort(distances, axis=1)[:, :k]]
    return np.array([np.bincount(votes, minlength=p.N_CLASSES).argmax() for votes in nearest])


def shape(digits):
    """(n, 5): height and width of the inked box (pixels), centre of the ink (row,
    column) and amount of ink (in full pixels) of each of ``digits`` (n, 28, 28)."""
    digits = np.asarray(digits, dtype=float)
    ink = digits.sum(axis=(1, 2))
    found = []
    for axis in (2, 1):                     # rows (summed over columns), then columns
        inked = digits.sum(axis=axis) > 0
        first, last = inked.argmax(axis=1), inked.shape[1] - inked[:, ::-1].argmax(axis=1)
        found.append(last - first)
    positions = np.arange(digits.shape[1])
    found.append((digits.sum(axis=2) * positions).sum(axis=1) / ink)
    found.append((digits.sum(axis=1) * positions).sum(axis=1) / ink)
    return np.stack([*found, ink / 255], axis=1)
