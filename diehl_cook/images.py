"""Your own digits as the network sees MNIST: 28 x 28 grey, white ink on black.

``read`` takes a PNG, JPEG or any format Pillow reads, of any size, in colour or
grey, and converts it the way MNIST was made (LeCun et al.): the digit is fitted
into a 20 x 20 box (aspect ratio kept, anti-aliased) and placed in the 28 x 28
field by its centre of mass. What is done exactly:

1. the picture is turned as its EXIF orientation says; transparency is laid over
   white; the picture becomes grey levels 0..255 (``grey_levels``: 16-bit and
   floating-point pictures are scaled, not clipped);
2. the background is the median of the border pixels: if it is light (above
   127) the picture is inverted, so that the ink is bright as in MNIST;
3. the background level and its noise (``NOISE_SIGMAS`` robust standard
   deviations of the border: paper texture, a grey photo background) are
   subtracted, and the ink stretched to 0..255;
4. marks of ink smaller than ``SPECK`` of the ink are removed (dust, texture);
5. the box around all remaining ink is cut out and resized to fit 20 x 20; a digit
   larger than that is first made bi-level (ink where it reaches half the
   brightest: ``INK_EDGE``), as NIST's scans that MNIST was made from were, and
   anti-aliased down (area averages); then it is
   placed so that its centre of mass is at ``CENTRE`` to the nearest pixel, as in
   MNIST (measured over the 10,000 test images: mean row 13.99, column 14.01, all
   within 13.5..14.5; the field's middle, 13.5, put most digits a pixel off and
   cost accuracy).

``read`` also says what makes a picture doubtful as one digit (``Conversion``):
more than one large mark of ink (two digits?), ink that fills the whole picture
(texture, no digit?). ``as_batch`` accepts numpy arrays already in MNIST form
(uint8 0..255 or float 0..1).
"""
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from scipy import ndimage

from .errors import ImageError

SIDE, BOX = 28, 20          # MNIST: a 20 x 20 digit placed in 28 x 28
CENTRE = 14.0               # MNIST's centre of mass (row and column), measured
NOISE_SIGMAS = 3.0          # background noise removed: this many robust SDs of the border
INK_LEVEL = 0.02            # of the brightest ink: a mark's pixels (with their faint edge)
SPECK = 0.02                # marks with less than this share of the ink are removed
SECOND_MARK = 0.3           # a second mark with this share of the largest one's ink: doubtful
WHOLE_PICTURE = 0.95        # ink spanning this share of both sides: doubtful
INK_EDGE = 0.5              # of the brightest ink: where a stroke ends (bi-level strokes)
SHARP = 8                   # bi-level strokes drawn at this many times BOX or more


@dataclass
class Conversion:
    """A picture as an MNIST image, and what makes it doubtful as one digit."""
    image: np.ndarray                       # (28, 28) uint8
    doubts: list = field(default_factory=list)


def read(path):
    """The picture at ``path`` as a ``Conversion`` (MNIST image and doubts)."""
    try:
        with Image.open(path) as picture:
            picture = ImageOps.exif_transpose(picture)
            picture.load()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except Image.DecompressionBombError as error:
        raise ImageError(f"{path}: the picture is too large to read safely ({error}); "
                         f"scale it down first") from None
    except (UnidentifiedImageError, OSError) as error:
        raise ImageError(f"{path}: not an image Pillow can read ({error})") from error
    return read_picture(picture, name=str(path))


def from_file(path):
    """The picture at ``path`` as an MNIST image (28, 28) uint8 (see ``read``)."""
    return read(path).image


def from_picture(picture, name="image"):
    """A Pillow image as an MNIST image (28, 28) uint8 (see ``read_picture``)."""
    return read_picture(picture, name).image


def read_picture(picture, name="image"):
    """A Pillow image as a ``Conversion``: the steps of this module's docstring."""
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        white = Image.new("RGBA", picture.size, "white")
        picture = Image.alpha_composite(white, picture.convert("RGBA"))
    ink, doubts = _marks(_ink(grey_levels(picture), name))
    return Conversion(_centre_by_mass(_fit_box(ink)), doubts)


def grey_levels(picture):
    """A Pillow image as grey levels 0..255 (float), as it looks on a screen.

    8-bit pictures (grey, colour, palette, CMYK) go through Pillow's conversion to
    "L". Pictures of more than 8 bits per pixel would be clipped by it to solid
    white: 16-bit integers are scaled from 0..65535, floats from 0..1 (or, beyond 1,
    by their brightest value)."""
    if picture.mode == "F" or picture.mode.startswith("I"):
        values = np.clip(np.asarray(picture, dtype=float), 0, None)
        brightest = values.max()
        if picture.mode == "F":
            full = 1.0 if brightest <= 1 else brightest
        else:
            full = 255.0 if brightest <= 255 else 65535.0 if brightest <= 65535 else brightest
        return values * 255 / full
    return np.asarray(picture.convert("L"), dtype=float)


def _ink(grey, name):
    """Bright ink on a black background, 0..255, without the background's noise."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = np.median(border)
    if background > 127:
        grey, border, background = 255 - grey, 255 - border, 255 - background
    noise = 1.4826 * np.median(np.abs(border - background))     # robust SD
    ink = np.clip(grey - background - NOISE_SIGMAS * noise, 0, None)
    if ink.max() < 1:
        raise ImageError(f"{name}: the image is blank (no ink on a uniform background)")
    return ink * 255 / ink.max()


def _marks(ink):
    """``ink`` without specks, and the doubts its marks raise."""
    around = np.ones((3, 3), dtype=bool)
    labelled, count = ndimage.label(ink > INK_LEVEL * ink.max(), structure=around)
    masses = ndimage.sum(ink, labelled, np.arange(1, count + 1))
    kept = np.isin(labelled, np.flatnonzero(masses >= SPECK * masses.sum()) + 1)
    # a mark keeps the faint pixels that touch it (the anti-aliased edge of a stroke)
    ink = np.where(ndimage.binary_dilation(kept, structure=around), ink, 0)
    doubts = []
    large = np.sum(masses >= SECOND_MARK * masses.max())
    if large > 1:
        doubts.append(f"{large} separate marks of ink (more than one digit?)")
    rows, cols = np.nonzero(ink)
    if np.ptp(rows) + 1 >= WHOLE_PICTURE * ink.shape[0] and \
            np.ptp(cols) + 1 >= WHOLE_PICTURE * ink.shape[1]:
        doubts.append("the ink fills the whole picture (a textured background, no digit?)")
    return ink, doubts


def _fit_box(ink):
    """The box around the ink resized to fit BOX x BOX, aspect ratio kept.

    A digit larger than the box is drawn again the way MNIST's were made from NIST's
    bi-level scans: its strokes are made bi-level (ink where it reaches ``INK_EDGE``
    of the brightest, the edge of a blurred or anti-aliased stroke), at ``SHARP``
    times the box or more, and then area-averaged down to the box, which gives
    MNIST's crisp strokes with a one-pixel grey edge. Resampling the picture's own
    grey levels instead softens the strokes twice (the picture's blur or enlargement,
    then the reduction): for MNIST test digits enlarged to 96 or 280 pixels it kept
    only 20-55% of MNIST's full-ink pixels and lost 1.5 to 2.5 points of accuracy
    (docs/own-digits.md). A digit at MNIST's size or smaller keeps its grey levels."""
    rows, cols = np.nonzero(ink)
    cut = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    if max(cut.shape) <= BOX:
        return _resized(cut, BOX / max(cut.shape), Image.LANCZOS)
    sharp = max(SHARP * BOX / max(cut.shape), 1.0)
    strokes = _resized(cut, sharp, Image.BICUBIC) >= INK_EDGE * cut.max()
    rows, cols = np.nonzero(strokes)
    strokes = strokes[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    return _resized(strokes * 255.0, BOX / max(strokes.shape), Image.BOX)


def _resized(image, scale, how):
    """``image`` (float) scaled by ``scale`` with Pillow's filter ``how``, 0..255."""
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    resized = Image.fromarray(image.astype(np.float32), mode="F").resize(size, how)
    return np.clip(np.asarray(resized), 0, 255)


def _centre_by_mass(digit):
    """Place ``digit`` in SIDE x SIDE with its centre of mass at CENTRE."""
    rows, cols = np.indices(digit.shape)
    mass = digit.sum()
    centre = np.array([(rows * digit).sum(), (cols * digit).sum()]) / mass
    corner = np.round(CENTRE - centre).astype(int)
    corner = np.clip(corner, 0, np.array([SIDE, SIDE]) - digit.shape)
    canvas = np.zeros((SIDE, SIDE))
    canvas[corner[0]:corner[0] + digit.shape[0], corner[1]:corner[1] + digit.shape[1]] = digit
    return np.round(canvas).astype(np.uint8)


def as_batch(images):
    """Images in MNIST form as a uint8 array (n, 28, 28).

    ``images``: one image (28, 28) or (784,), or a batch (n, 28, 28) or (n, 784);
    uint8 (0..255) or float (0..1)."""
    array = np.asarray(images)
    if array.ndim in (1, 2) and array.size == SIDE * SIDE:
        array = array.reshape(1, SIDE, SIDE)
    if array.ndim == 2 and array.shape[1] == SIDE * SIDE:
        array = array.reshape(-1, SIDE, SIDE)
    if array.ndim != 3 or array.shape[1:] != (SIDE, SIDE) or len(array) == 0:
        raise ImageError(f"expected images of 28 x 28 (or 784) pixels, got an array of "
                         f"shape {np.shape(images)}")
    if array.dtype == np.uint8:
        return array
    if not np.issubdtype(array.dtype, np.floating) or not np.all(np.isfinite(array)) \
            or array.min() < 0 or array.max() > 1:
        raise ImageError(f"images must be uint8 (0..255) or floats in 0..1 (got {array.dtype}, "
                         f"values {np.nanmin(array):g} to {np.nanmax(array):g})")
    return np.round(array * 255).astype(np.uint8)
