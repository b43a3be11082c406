"""MNIST: finding, checking, loading and (with internet) downloading it.

The four files are read with python-mnist from a directory given by
``--mnist-dir``, else the ``MNIST_DIR`` environment variable, else ``data/mnist``
(relative to the current directory). Files may be gzipped (``*.gz``) or raw IDX.
"""
import gzip
import hashlib
import os
import shutil
import struct
import urllib.request

import numpy as np
from mnist import MNIST

from . import paths
from .errors import MnistError, SettingsError

DEFAULT_MNIST_DIR = os.path.join("data", "mnist")
FILES = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}   # SHA-256 of the uncompressed files
MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"
SIZES = {"training": 60000, "testing": 10000}


def mnist_dir(path=None):
    """The MNIST directory: ``path`` if given, else $MNIST_DIR, else data/mnist."""
    return path or os.environ.get("MNIST_DIR") or DEFAULT_MNIST_DIR


def _find(directory):
    """Whether the directory holds the gzipped or the raw files; raises if neither."""
    for gz in (True, False):
        if all(os.path.isfile(os.path.join(directory, n + (".gz" if gz else ""))) for n in FILES):
            return gz
    missing = [n for n in FILES if not any(
        os.path.isfile(os.path.join(directory, n + ext)) for ext in (".gz", ""))]
    raise MnistError(
        f"MNIST not found in '{os.path.abspath(directory)}': missing {', '.join(missing)} "
        f"(gzipped '.gz' or raw). Give the folder with --mnist-dir or MNIST_DIR, or fetch "
        f"the files with: {paths.how_to_run('download')} --mnist-dir {directory}")


def load(split, path=None, limit=None, start=0):
    """Images (n, 28, 28) uint8 and labels (n,) int64 of ``split`` ("training" or
    "testing"): ``limit`` of them (default: all) from image ``start`` on. Only those
    are decoded (python-mnist's batches), so a few images load in a fraction of the
    time of a whole set."""
    if split not in SIZES:
        raise SettingsError(f"split must be 'training' or 'testing', not {split!r}")
    total = SIZES[split]
    count = total - start if limit is None else limit
    if not (0 <= start < total and 0 < count <= total - start):
        raise SettingsError(f"asked for {count} {split} images from image {start}; there are "
                            f"{total} (--examples must be from 1 to {total})")
    directory = mnist_dir(path)
    reader = MNIST(directory, gz=_find(directory), return_type="numpy")
    names = {"training": (reader.train_img_fname, reader.train_lbl_fname),
             "testing": (reader.test_img_fname, reader.test_lbl_fname)}[split]
    files = [os.path.join(directory, name) for name in names]
    try:
        sizes = [_idx_count(reader, file) for file in files]
        images, labels = reader.load(*files, batch=[start, count])
    except (ValueError, OSError, EOFError, struct.error, gzip.BadGzipFile) as error:
        raise MnistError(f"MNIST {split} files in '{os.path.abspath(directory)}' are corrupt "
                         f"({error}). Check them with: {paths.how_to_run('download')} "
                         f"--verify --mnist-dir {directory}") from error
    if sizes != [total, total]:
        raise MnistError(f"MNIST {split} set in '{directory}' has {sizes[0]} images and "
                         f"{sizes[1]} labels; expected {total} of each.")
    if (len(images) != count or len(labels) != count
            or any(len(image) != 28 * 28 for image in images)):
        raise MnistError(f"MNIST {split} files in '{os.path.abspath(directory)}' end before "
                         f"image {start + count} (truncated: their headers announce {total}). "
                         f"Check them with: {paths.how_to_run('download')} --verify "
                         f"--mnist-dir {directory}")
    images = np.asarray(images, dtype=np.uint8).reshape(-1, 28, 28)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        wrong = labels[(labels < 0) | (labels > 9)]
        raise MnistError(f"MNIST {split} labels in '{directory}' hold values outside 0-9 "
                         f"({len(wrong)} of them, e.g. {wrong[0]}): these are not MNIST's "
                         f"labels. Check the files with: {paths.how_to_run('download')} "
                         f"--verify --mnist-dir {directory}")
    return images, labels


def _idx_count(reader, file):
    """The number of items an IDX file's header announces (after its magic number)."""
    with reader.opener(file, "rb") as f:
        return struct.unpack(">II", f.read(8))[1]


def _sha256_of(path):
    opener = gzip.open if path.endswith(".gz") else open
    digest = hashlib.sha256()
    with opener(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path=None):
    """Check the SHA-256 of each (uncompressed) file; raises ``MnistError`` on a mismatch."""
    directory = mnist_dir(path)
    gz = _find(directory)
    for name, expected in FILES.items():
        file = os.path.join(directory, name + (".gz" if gz else ""))
        try:
            actual = _sha256_of(file)
        except (OSError, EOFError, gzip.BadGzipFile) as error:
            raise MnistError(f"cannot read {file}: {error}") from error
        if actual != expected:
            raise MnistError(f"{file} is corrupt: SHA-256 {actual}, expected {expected}")


def download(path=None, mirror=MIRROR):
    """Download the four gzipped files into the MNIST directory and verify them."""
    if not mirror.startswith(("https://", "http://", "file://")):
        raise SettingsError(f"--mirror must be an http://, https:// or file:// address "
                            f"(got {mirror!r})")
    mirror = mirror if mirror.endswith("/") else mirror + "/"
    directory = mnist_dir(path)
    os.makedirs(directory, exist_ok=True)
    for name in FILES:
        target = os.path.join(directory, name + ".gz")
        if os.path.isfile(target):
            continue
        partial = target + ".part"
        try:
            with urllib.request.urlopen(mirror + name + ".gz", timeout=60) as response, \
                    open(partial, "wb") as out:
                shutil.copyfileobj(response, out)
        except (OSError, ValueError) as error:      # URLError is an OSError
            if os.path.exists(partial):
                os.unlink(partial)
            raise MnistError(f"could not download {mirror}{name}.gz ({error}); the files "
                             f"already downloaded are kept in {directory}") from None
        os.replace(partial, target)
    verify(directory)
    return directory
