"""Classifying your own digits: the MNIST-style conversion, the Python API and the
classify command."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from diehl_cook import images, pipeline
from diehl_cook.classifier import Classifier
from diehl_cook.errors import ImageError
from diehl_cook.network import TrainedNetwork
from diehl_cook.storage import save_network

from conftest import CHUNK
from test_scripts import env, refused, script  # noqa: F401  (env is a fixture)


def photographed(digit, path, size=(300, 200), scale=5, at=(20, 40)):
    """``digit`` (MNIST, white on black) as a user's picture: dark ink on a light,
    slightly coloured background, enlarged, off-centre, in RGB."""
    big = Image.fromarray(255 - digit).resize((28 * scale, 28 * scale), Image.BICUBIC)
    canvas = Image.new("RGB", size, (240, 235, 220))
    canvas.paste(Image.merge("RGB", [big, big, big]), at)
    canvas.save(path)
    return path


def centre_of_mass(image):
    rows, cols = np.indices(image.shape)
    return np.array([(rows * image).sum(), (cols * image).sum()]) / image.sum()


def test_a_picture_is_converted_the_mnist_way(train_set, tmp_path):
    for k in range(5):
        digit = train_set[0][k]
        seen = images.from_file(photographed(digit, tmp_path / f"{k}.png"))
        assert seen.shape == (28, 28) and seen.dtype == np.uint8
        assert seen.max() == 255 and seen[0].max() == 0 and seen[:, 0].max() == 0   # white on black
        assert np.allclose(centre_of_mass(seen.astype(float)), 14.0, atol=0.6)
        rows, cols = np.nonzero(seen > 25)
        assert max(np.ptp(rows), np.ptp(cols)) + 1 <= 21                              # fits 20 x 20
        assert np.corrcoef(seen.ravel(), digit.ravel())[0, 1] > 0.4                   # same digit


def test_mnist_digits_as_pictures_come_back_as_they_were(train_set):
    """A digit saved as a dark-on-white picture of 28 x 28 comes back pixel for pixel
    (the box and the centre of mass are MNIST's own; with the field's middle, 13.5,
    as the centre, most digits came back shifted by a pixel). The few that differ
    (about 8%) are one grey level off: their brightest pixel is below 255, and the
    ink is stretched to 255. Enlarged 10 times smoothly (bilinear), a digit comes
    back with the same ink and strokes as crisp as MNIST's: made bi-level and
    anti-aliased down as MNIST's were (resampling the enlarged grey levels kept 40%
    of the full-ink pixels)."""
    digits = train_set[0][:40]
    same = [np.array_equal(images.from_picture(Image.fromarray(255 - d)), d) for d in digits]
    assert np.mean(same) >= 0.9
    originals = digits[:10].astype(int)
    enlarged = np.array([images.from_picture(Image.fromarray(255 - d).resize((280, 280),
                                                                           Image.BILINEAR))
                         for d in digits[:10]], dtype=int)
    assert abs(enlarged.sum() / originals.sum() - 1) < 0.05
    assert np.sum(enlarged >= 250) >= 0.8 * np.sum(originals >= 250)
    assert np.abs(enlarged - originals).mean() < 8


def test_paper_texture_and_specks_do_not_widen_the_crop(train_set, tmp_path):
    """A digit on grey, noisy paper with dust: the noise and the specks are removed,
    so the digit keeps its size instead of shrinking into a box around the picture."""
    digit = train_set[0][1]
    clean = Image.fromarray(255 - digit).resize((140, 140), Image.BICUBIC)
    paper = np.asarray(clean, dtype=float) * 0.8 + 30 + \
        np.random.default_rng(0).normal(0, 12, (140, 140))
    paper[5:8, 120:123] = 0                             # a dark speck in a corner
    converted = images.read_picture(Image.fromarray(paper.clip(0, 255).astype(np.uint8)))
    expected = images.from_picture(clean)
    assert converted.doubts == []
    assert np.corrcoef(converted.image.ravel(), expected.ravel())[0, 1] > 0.9
    rows, _ = np.nonzero(converted.image)
    assert np.ptp(rows) + 1 >= 18                       # not shrunk


def test_two_digits_or_only_noise_raise_doubts(train_set):
    two = np.concatenate([train_set[0][0], train_set[0][1]], axis=1)
    assert "more than one digit" in " ".join(images.read_picture(Image.fromarray(255 - two)).doubts)
    noise = np.random.default_rng(1).normal(128, 40, (60, 60)).clip(0, 255).astype(np.uint8)
    assert images.read_picture(Image.fromarray(noise)).doubts
    one = images.read_picture(Image.fromarray(255 - train_set[0][0]))
    assert one.doubts == []


def test_dark_background_and_transparency_are_understood(train_set, tmp_path):
    digit = train_set[0][0]
    Image.fromarray(digit).resize((56, 56)).save(tmp_path / "dark.png")
    ink = Image.new("RGBA", (56, 56), (0, 0, 0, 0))
    ink.putalpha(Image.fromarray(digit).resize((56, 56)))
    ink.save(tmp_path / "transparent.png")
    dark = images.from_file(tmp_path / "dark.png")
    transparent = images.from_file(tmp_path / "transparent.png")
    assert np.corrcoef(dark.ravel(), transparent.ravel())[0, 1] > 0.95
    assert dark[0].max() == 0 and dark.max() == 255


def test_pictures_of_every_depth_and_mode_read_as_they_look(train_set, tmp_path):
    """The same dark digit on white, saved as 8-bit grey, 16-bit grey, float TIFF
    (0..1), palette, CMYK and rotated by its EXIF orientation, gives one image."""
    digit = train_set[0][0]
    big = np.asarray(Image.fromarray(255 - digit).resize((140, 140), Image.BICUBIC))
    grey = Image.fromarray(big)
    expected = images.from_picture(grey)
    assert expected.max() == 255 and 50 < (expected > 0).sum() < 400
    pictures = {
        "16-bit.png": Image.fromarray(big.astype(np.uint16) * 257),
        "float.tiff": Image.fromarray(big.astype(np.float32) / 255),
        "palette.png": grey.convert("P"),
        "cmyk.jpg": grey.convert("CMYK"),
    }
    for name, picture in pictures.items():
        picture.save(tmp_path / name)
        converted = images.from_file(tmp_path / name)
        assert np.abs(converted.astype(int) - expected).mean() < 3, name
    rotated = grey.rotate(90, expand=True)          # stored sideways, EXIF says turn it back
    exif = Image.Exif()
    exif[0x0112] = 6                                # orientation: turn 90 degrees clockwise to view
    rotated.save(tmp_path / "rotated.jpg", exif=exif)
    converted = images.from_file(tmp_path / "rotated.jpg")
    assert np.abs(converted.astype(int) - expected).mean() < 3


def test_a_picture_too_large_is_refused(tmp_path, monkeypatch):
    Image.new("L", (400, 400), 255).save(tmp_path / "huge.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)    # so that 400 x 400 is "too large"
    with pytest.raises(ImageError, match="too large"):
        images.from_file(tmp_path / "huge.png")


def test_blank_unreadable_and_missing_images_are_refused(tmp_path):
    Image.new("L", (40, 40), 255).save(tmp_path / "blank.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageError, match="blank"):
        images.from_file(tmp_path / "blank.png")
    with pytest.raises(ImageError, match="not an image"):
        images.from_file(tmp_path / "text.png")
    with pytest.raises(ImageError, match="no such file"):
        images.from_file(tmp_path / "none.png")


def test_an_answer_says_when_it_is_weak():
    """margin = (first - second) / first; a close second, few spikes and retries are
    each named; a clear answer has no doubt."""
    from diehl_cook.classifier import Classification
    scores = np.array([[4.0, 1.0, np.nan, 0, 0, 0, 0, 0, 0, 0],      # clear
                       [0, 0, 0, 2.0, 0, 0, 0, 0, 1.9, 0],             # close second: 8
                       [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])                # silent
    counts = np.array([[30, 0], [20, 5], [0, 0]])
    answer = Classification(np.array([0, 3, 0]), scores, counts, np.array([1, 1, 3]))
    assert np.allclose(answer.margins, [0.75, 0.05, 0.0])
    assert answer.doubts(0) == []
    assert answer.doubts(1) == ["close second: 8 (1.90 against 2.00)"]
    assert "few spikes (0)" in answer.doubts(2)
    assert "faint: shown 3 times at rising intensity" in answer.doubts(2)


def test_arrays_in_mnist_form_are_accepted_as_uint8_or_floats():
    image = np.arange(784).reshape(28, 28) % 256
    assert images.as_batch(image.astype(np.uint8)).shape == (1, 28, 28)
    assert np.array_equal(images.as_batch(image.astype(np.uint8).ravel())[0], image)
    floats = np.stack([image / 255.0] * 3)
    assert np.array_equal(images.as_batch(floats), np.stack([image] * 3).astype(np.uint8))
    assert images.as_batch(floats.reshape(3, 784)).shape == (3, 28, 28)
    with pytest.raises(ImageError, match="28 x 28"):
        images.as_batch(np.zeros((5, 30, 30)))
    with pytest.raises(ImageError, match="floats in 0..1"):
        images.as_batch(np.full((28, 28), 3.0))


@pytest.mark.compile
def test_one_image_one_answer_in_any_batch_and_order(settings, train_set, tmp_path):
    """The API draws each image's input from the image itself: the same picture gets
    the same spikes, scores and digit at any position of any batch, repeated or not,
    and the compiled program is reused from batch to batch."""
    batch, labels = train_set[0][:CHUNK], train_set[1][:CHUNK]
    pipeline.train(settings, tmp_path, batch, labels)
    pipeline.label(settings, tmp_path, batch, labels)
    classifier = Classifier.load(tmp_path, chunk_size=settings.chunk_size,
                                 build_dir=settings.build_dir)
    answer = classifier.classify(batch[:6] / 255.0)
    assert answer.scores.shape == (6, 10) and answer.counts.sum() > 0
    engine = classifier._engine
    again = classifier.classify(np.stack([batch[3], batch[0], batch[0], batch[3], batch[0]]))
    assert classifier._engine is engine
    for k, image in enumerate([3, 0, 0, 3, 0]):
        assert np.array_equal(again.counts[k], answer.counts[image])
        assert again.digits[k] == answer.digits[image]
        assert np.array_equal(again.scores[k], answer.scores[image], equal_nan=True)
    alone = classifier.classify(batch[5])
    assert np.array_equal(alone.counts[0], answer.counts[5])
    # different pictures get draws of their own (not one shared stream)
    assert classifier.image_seed(batch[0]) != classifier.image_seed(batch[1])
    # another draw of the same pictures: other spikes, and the same again when repeated
    second = classifier.classify(batch[:6], draw=1)
    assert not np.array_equal(second.counts, answer.counts)
    assert np.array_equal(classifier.classify(batch[:6], draw=1).counts, second.counts)
    assert np.array_equal(classifier.classify(batch[:6], draw=0).counts, answer.counts)
    classifier.close()


@pytest.mark.compile
def test_classify_command_end_to_end(settings, train_set, tmp_path, env):  # noqa: F811
    batch, labels = train_set[0][:CHUNK], train_set[1][:CHUNK]
    folder = tmp_path / "net"
    pipeline.train(settings, folder, batch, labels)
    pipeline.label(settings, folder, batch, labels)
    picture = photographed(train_set[0][0], tmp_path / "mine.png")
    done = script("classify.py", picture, "--mnist-test", 0, "--weights", folder,
                  "--plot", tmp_path / "figures", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{picture}: ") and "class scores 0-9" in lines[0]
    assert any(line.startswith("MNIST test image 0 (label 7): ") for line in lines)
    assert sorted(os.listdir(tmp_path / "figures")) == ["MNIST_test_image_0__label_7_.png",
                                                        "mine.png"]
    two = np.concatenate([train_set[0][0], train_set[0][1]], axis=1)
    Image.fromarray(255 - two).save(tmp_path / "two.png")
    done = script("classify.py", tmp_path / "two.png", "--weights", folder,
                  "--refuse-below", 0.5, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"{tmp_path / 'two.png'}: refused")
    assert lines[1].startswith("  refused: 2 separate marks of ink (more than one digit?)")
    # One blank picture does not stop the others; --json - is all standard output holds.
    Image.new("L", (40, 40), 255).save(tmp_path / "blank.png")
    done = script("classify.py", tmp_path / "blank.png", picture, "--weights", folder,
                  "--json", "-", env=env)
    assert done.returncode == 2 and "1 of 2 pictures could not be classified" in done.stderr
    answers = json.loads(done.stdout)["answers"]
    assert [answer["image"] for answer in answers] == [str(picture), str(tmp_path / "blank.png")]
    assert isinstance(answers[0]["network_digit"], int) and len(answers[0]["class_scores"]) == 10
    assert answers[1]["digit"] is None and "blank" in answers[1]["error"]
    assert f"{picture}: " in done.stderr        # the answers themselves, on standard error


def test_classify_command_errors_exit_2(tmp_path, env):  # noqa: F811
    wrong = refused("classify.py", "--mnist-test", 0, "--refuse-below", 2, env=env)
    assert wrong.returncode == 2 and "--refuse-below must be a margin from 0 to 1" in wrong.stderr
    Image.new("L", (40, 40), 255).save(tmp_path / "blank.png")
    blank = refused("classify.py", tmp_path / "blank.png", env=env)
    assert blank.returncode == 2 and "blank" in blank.stderr
    unreadable = tmp_path / "bad.jpg"
    unreadable.write_bytes(b"\xff\xd8 truncated")
    assert "not an image" in refused("classify.py", unreadable, env=env).stderr
    folder = tmp_path / "net"
    save_network(folder, TrainedNetwork(np.ones((784, 10)), np.zeros(10)))
    np.save(folder / "weights.npy", np.ones((784, 12)))   # weights of another size
    mismatch = refused("classify.py", "--mnist-test", 0, "--weights", folder, env=env)
    assert mismatch.returncode == 2 and "(784, 10)" in mismatch.stderr
    nothing = refused("classify.py", env=env)
    assert nothing.returncode == 2 and "nothing to classify" in nothing.stderr


def test_the_picture_forms_of_pictures_py_read_back_as_their_digits(train_set, tmp_path):
    """Every form ``pictures.py`` measures (enlarged, photographed on grey paper, pens
    of three widths) reads back close to the MNIST digit it was made from, and the
    thin and thick pens carry less and more ink than the medium one."""
    from diehl_cook import experiments
    digits = train_set[0][:5]
    ink = {}
    for form in experiments.PICTURE_FORMS:
        read = experiments.as_pictures(digits, tmp_path, form)
        converted = np.array([conversion.image for conversion in read], dtype=int)
        assert all(conversion.doubts == [] for conversion in read), form
        assert np.abs(converted - digits).mean() < (16 if "pen" in form else 9), form
        ink[form] = converted.sum()
    pens = [ink[f"pen, {width} (280 x 280)"] for width in ("thin", "medium", "thick")]
    assert pens[0] < pens[1] < pens[2]


def test_nearest_digits_and_shape_measure_what_they_say(train_set):
    """The nearest-neighbour reading gives a training image its own label and a
    shifted copy of it the same; ``shape`` gives a drawn box its size, centre and ink."""
    from diehl_cook import experiments
    images, labels = train_set
    read = experiments.nearest_digits(images[:20], images, labels, k=1)
    assert np.array_equal(read, labels[:20])
    box = np.zeros((1, 28, 28))
    box[0, 4:10, 6:9] = 255                     # 6 rows x 3 columns of full ink
    height, width, row, col, ink = experiments.shape(box)[0]
    assert (height, width, row, col, ink) == (6, 3, 6.5, 7.0, 18.0)
