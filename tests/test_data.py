"""Finding, loading and checking MNIST."""
import gzip
import os
import shutil

import numpy as np
import pytest

from diehl_cook import data
from diehl_cook.errors import SettingsError


def test_missing_files_are_named(tmp_path):
    with pytest.raises(data.MnistError, match="train-images-idx3-ubyte.*(download_mnist|diehl-cook download)"):
        data.load("training", str(tmp_path))


def test_directory_comes_from_argument_then_environment_then_default(monkeypatch):
    monkeypatch.setenv("MNIST_DIR", "/from/env")
    assert data.mnist_dir("/given") == "/given"
    assert data.mnist_dir() == "/from/env"
    monkeypatch.delenv("MNIST_DIR")
    assert data.mnist_dir() == os.path.join("data", "mnist")


def test_loads_gzip_with_expected_shapes(mnist_path):
    images, labels = data.load("testing", mnist_path, limit=50)
    assert images.shape == (50, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (50,) and set(labels) <= set(range(10))
    assert labels[:5].tolist() == [7, 2, 1, 0, 4]


def test_loads_raw_idx_too(mnist_path, tmp_path):
    for name in data.FILES:
        with gzip.open(os.path.join(mnist_path, name + ".gz")) as src, \
                open(tmp_path / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    images, labels = data.load("testing", str(tmp_path), limit=3)
    assert labels.tolist() == [7, 2, 1]
    data.verify(str(tmp_path))


def test_checksums_of_the_real_files_pass(mnist_path):
    data.verify(mnist_path)


def test_corrupt_file_is_reported(mnist_path, tmp_path):
    for name in data.FILES:
        shutil.copy(os.path.join(mnist_path, name + ".gz"), tmp_path)
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(b"\x00\x00\x08\x01\x00\x00\x27\x10" + bytes(50))   # 10000 labels promised, 50 given
    with pytest.raises(data.MnistError):
        data.load("testing", str(tmp_path))
    with pytest.raises(data.MnistError, match="SHA-256"):
        data.verify(str(tmp_path))


def test_a_truncated_image_file_is_reported_for_any_slice(mnist_path, tmp_path):
    """The header promises 10,000 images, the file holds 100: asking for images beyond
    them says so (before: a numpy traceback, or a message about the header)."""
    for name in data.FILES:
        shutil.copy(os.path.join(mnist_path, name + ".gz"), tmp_path)
    with gzip.open(os.path.join(mnist_path, "t10k-images-idx3-ubyte.gz")) as f:
        head = f.read(16 + 100 * 28 * 28)
    with gzip.open(tmp_path / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(head)
    assert data.load("testing", str(tmp_path), limit=100)[0].shape == (100, 28, 28)
    for start, limit in ((0, 200), (50, 100), (5000, 10)):
        with pytest.raises(data.MnistError, match=f"end before image {start + limit} .truncated"):
            data.load("testing", str(tmp_path), limit=limit, start=start)


def test_limit_beyond_the_set_is_refused(mnist_path):
    with pytest.raises(SettingsError, match="10000"):
        data.load("testing", mnist_path, limit=10001)


def test_a_slice_is_that_part_of_the_whole_set(mnist_path):
    images, labels = data.load("testing", mnist_path)
    part_images, part_labels = data.load("testing", mnist_path, limit=7, start=9990)
    assert np.array_equal(part_images, images[9990:9997])
    assert np.array_equal(part_labels, labels[9990:9997])
    first_images, _ = data.load("testing", mnist_path, limit=3)
    assert np.array_equal(first_images, images[:3])
    with pytest.raises(SettingsError, match="from image 9999"):
        data.load("testing", mnist_path, limit=2, start=9999)


def test_labels_outside_0_to_9_are_refused(mnist_path, tmp_path):
    for name in data.FILES:
        shutil.copy(os.path.join(mnist_path, name + ".gz"), tmp_path)
    with gzip.open(os.path.join(mnist_path, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = bytearray(f.read())
    labels[8 + 5] = 200                     # the header is 8 bytes
    with gzip.open(tmp_path / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(bytes(labels))
    with pytest.raises(data.MnistError, match="outside 0-9 .1 of them, e.g. 200"):
        data.load("testing", str(tmp_path))
