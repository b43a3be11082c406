"""Your own digits as the network sees MNIST: 28 x 28 grey, white ink on black.

``from_file`` reads a PNG, JPEG or any format Pillow reads, of any size, in colour
or grey, and converts it the way MNIST was made (LeCun et al.): the digit is
fitted into a 20 x 20 box (aspect ratio kept, anti-aliased) and placed in the
28 x 28 field so that its centre of mass is at the centre. Before that, what is
done exactly:

1. the picture is turned as its EXIF orientation says; transparency is laid over
   white; the picture becomes grey levels 0..255 (``grey_levels``: 16-bit and
   floating-point pictures are scaled, not clipped);
2. the background is the median of the border pixels: if it is light (above
   127) the picture is inverted, so that the ink is bright as in MNIST;
3. the background level is subtracted and the ink stretched to 0..255;
4. the ink's bounding box (pixels above 10% of the brightest) is cut out, resized
   to fit 20 x 20 and centred by mass in 28 x 28.

``as_batch`` accepts numpy arrays already in MNIST form (uint8 0..255 or float
0..1).
"""
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

SIDE, BOX = 28, 20          # MNIST: a 20 x 20 digit centred in 28 x 28
INK_THRESHOLD = 0.1         # of the brightest pixel: what counts as ink for the bounding box


def from_file(path):
    """The picture at ``path`` as an MNIST image (28, 28) uint8."""
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
    return from_picture(picture, name=str(path))


def from_picture(picture, name="image"):
    """A Pillow image as an MNIST image (28, 28) uint8."""
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        white = Image.new("RGBA", picture.size, "white")
        picture = Image.alpha_composite(white, picture.convert("RGBA"))
    ink = _ink(grey_levels(picture), name)
    return _centre_by_mass(_fit_box(ink))


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
    """Bright ink on a black background, 0..255."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = np.median(border)
    if background > 127:
        grey, background = 255 - grey, 255 - background
    ink = np.clip(grey - background, 0, None)
    if ink.max() < 1:
        raise ImageError(f"{name}: the image is blank (no ink on a uniform background)")
    return ink * 255 / ink.max()


def _fit_box(ink):
    """The ink's bounding box resized to fit BOX x BOX, aspect ratio kept."""
    rows, cols = np.nonzero(ink > INK_THRESHOLD * ink.max())
    cut = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    scale = BOX / max(cut.shape)
    size = (max(1, round(cut.shape[1] * scale)), max(1, round(cut.shape[0] * scale)))
    resized = Image.fromarray(cut.astype(np.float32), mode="F").resize(size, Image.LANCZOS)
    return np.clip(np.asarray(resized), 0, 255)


def _centre_by_mass(digit):
    """Place ``digit`` in SIDE x SIDE with its centre of mass at the centre."""
    rows, cols = np.indices(digit.shape)
    mass = digit.sum()
    centre = np.array([(rows * digit).sum(), (cols * digit).sum()]) / mass
    corner = np.round(SIDE / 2 - 0.5 - centre).astype(int)
    corner = np.clip(corner, 0, np.array([SIDE, SIDE]) - digit.shape)
    field = np.zeros((SIDE, SIDE))
    field[corner[0]:corner[0] + digit.shape[0], corner[1]:corner[1] + digit.shape[1]] = digit
    return np.round(field).astype(np.uint8)


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
