"""``SummaryWriter.add_image``, ``add_images`` and ``add_figure``: the same Summary.Image fields
and, decoded, the same pixels as PyTorch's writer gives for the same calls (the PNG bytes
themselves may differ: both encoders choose their own filters and compression)."""

from __future__ import annotations

import io
import os
import warnings

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.utils.tensorboard import SummaryWriter
from gpugrad.utils.tensorboard.image import encode_png

PIL_Image = pytest.importorskip("PIL.Image", reason="PNGs are decoded with Pillow")

RNG = np.random.default_rng(1)
# Values a little outside [0, 1], so that clipping shows.
UNIT = RNG.uniform(-0.2, 1.2, size=(17, 3, 5, 6))
BYTES = RNG.integers(0, 256, size=(17, 3, 5, 6), dtype=np.uint8)
# Room for boxes and their labels.
LARGE = RNG.uniform(0, 1, size=(4, 40, 60))
BOXES = np.array([[2, 3, 30, 35], [10.5, 0, 59, 12.25], [-5, 20, 70, 50]])


def _calls(m):
    """(method, args, kwargs) with gpugrad (m=gpugrad) or PyTorch (m=torch) values."""
    chw = UNIT[0]
    return [
        ("add_image", (m.tensor(chw, dtype=m.float32),), {}),
        ("add_image", (m.tensor(chw, dtype=m.float64),), {}),
        ("add_image", (m.tensor(chw, dtype=m.float16),), {}),
        ("add_image", (m.tensor(chw, dtype=m.bfloat16),), {}),
        ("add_image", (m.tensor(BYTES[0]),), {}),
        ("add_image", (m.tensor(chw > 0.5),), {}),
        ("add_image", (m.tensor(BYTES[0].astype(np.int64)),), {}),  # not uint8: times 255
        ("add_image", (chw,), {}),
        ("add_image", (BYTES[0],), {}),
        ("add_image", (chw.astype(np.float32) * 0 + np.float32(1 / 255 * 7.5),), {}),
        ("add_image", (m.tensor(chw[:1]),), {}),  # grey
        ("add_image", (np.concatenate([chw, chw[:1]]),), {}),  # RGBA
        ("add_image", (m.tensor(chw.transpose(1, 2, 0)),), {"dataformats": "HWC"}),
        ("add_image", (chw[:1].transpose(1, 2, 0),), {"dataformats": "HWC"}),
        ("add_image", (BYTES[0, :2].transpose(1, 2, 0),), {"dataformats": "HWC"}),  # grey+alpha
        ("add_image", (chw.transpose(2, 1, 0),), {"dataformats": "WHC"}),
        ("add_image", (chw,), {"dataformats": "chw"}),
        ("add_image", (chw,), {"dataformats": "CHX"}),  # a missing letter: the last axis
        ("add_image", (m.tensor(chw[0]),), {"dataformats": "HW"}),
        ("add_image", (BYTES[0, 0].T,), {"dataformats": "WH"}),
        ("add_image", (m.tensor(UNIT[:2]),), {"dataformats": "NCHW"}),
        ("add_images", (m.tensor(UNIT[:1]),), {}),
        ("add_images", (m.tensor(UNIT[:3]),), {}),
        ("add_images", (m.tensor(UNIT[:8]),), {}),
        ("add_images", (m.tensor(UNIT[:9]),), {}),  # a second, partly empty row
        ("add_images", (UNIT,), {}),
        ("add_images", (m.tensor(BYTES[:5]),), {}),
        ("add_images", (m.tensor(UNIT[:4, :1]),), {}),  # grey batch
        ("add_images", (UNIT[:10].transpose(0, 2, 3, 1),), {"dataformats": "NHWC"}),
        ("add_images", (BYTES[:3].transpose(2, 0, 3, 1),), {"dataformats": "HNWC"}),
        ("add_images", (m.tensor(UNIT[0]),), {"dataformats": "CHW"}),
        ("add_image_with_boxes", (m.tensor(LARGE[:3]), m.tensor(BOXES)), {}),
        ("add_image_with_boxes", (LARGE[:3], BOXES[:2]), {"labels": ["cat", "dög ✓"]}),
        ("add_image_with_boxes", (m.tensor(LARGE), m.tensor(BOXES[:1], dtype=m.float32)),
         {"labels": "one"}),  # RGBA, a single label
        ("add_image_with_boxes", (m.tensor(LARGE[:1]), BOXES), {"labels": ["too", "few"]}),
        ("add_image_with_boxes", (m.tensor(LARGE[:3].transpose(1, 2, 0)), BOXES),
         {"dataformats": "HWC", "rescale": 2}),
        ("add_image_with_boxes", (m.tensor(LARGE[:3]), m.tensor(BOXES).to(m.int64)),
         {"rescale": 0.5, "labels": ["a", "b", "c"]}),
        ("add_image_with_boxes", (m.tensor(BYTES[0]), m.zeros(0, 4)), {}),
    ]


def _log(m, writer_class, log_dir):
    with warnings.catch_warnings(), writer_class(log_dir) as w:
        warnings.simplefilter("ignore")  # PyTorch's writer: bfloat16 and bool casts
        for step, (method, args, kwargs) in enumerate(_calls(m)):
            getattr(w, method)(f"image_{step}", *args, global_step=step, walltime=100.0 + step,
                               **kwargs)


def _images(log_dir) -> list:
    """[(event step, wall time, tag, Summary.Image)] as TensorBoard's reader reads them."""
    from tensorboard.backend.event_processing import event_file_loader
    from tensorboard.compat.proto import event_pb2

    (name,) = [n for n in os.listdir(log_dir) if n.startswith("events.out.tfevents.")]
    out = []
    for record in event_file_loader.RawEventFileLoader(os.path.join(log_dir, name)).Load():
        event = event_pb2.Event.FromString(record)
        for value in event.summary.value:
            assert value.WhichOneof("value") == "image"
            out.append((event.step, event.wall_time, value.tag, value.image))
    return out


def _pixels(png: bytes) -> np.ndarray:
    decoded = PIL_Image.open(io.BytesIO(png))
    decoded.load()
    return np.asarray(decoded)


@pytest.fixture(scope="module")
def both_images(tmp_path_factory):
    pytest.importorskip("tensorboard", reason="the oracle reader is the tensorboard package")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    ours, theirs = tmp_path_factory.mktemp("gpugrad"), tmp_path_factory.mktemp("torch")
    _log(gpugrad, SummaryWriter, ours)
    _log(torch, TorchWriter, theirs)
    return _images(ours), _images(theirs)


@pytest.mark.parametrize("index", range(len(_calls(gpugrad))))
def test_same_image_as_torch(both_images, index):
    ours, theirs = both_images
    assert len(ours) == len(theirs) == len(_calls(gpugrad))
    (step, wall_time, tag, got), (*want_head, want) = ours[index], theirs[index]
    assert (step, wall_time, tag) == tuple(want_head)
    assert (got.height, got.width, got.colorspace) == (want.height, want.width, want.colorspace)
    got_pixels, want_pixels = _pixels(got.encoded_image_string), _pixels(
        want.encoded_image_string)
    assert got_pixels.dtype == want_pixels.dtype == np.uint8
    assert got_pixels.shape == want_pixels.shape
    # add_image_with_boxes's rescale resizes the picture, not the size the summary gives.
    rescale = _calls(gpugrad)[index][2].get("rescale", 1)
    assert got_pixels.shape == (int(got.height * rescale), int(got.width * rescale),
                                got.colorspace)
    np.testing.assert_array_equal(got_pixels, want_pixels)


def test_grid_layout(tmp_path):
    """Nine images: a row of eight, then one on a black rest of the row."""
    batch = np.zeros((9, 1, 2, 3), np.uint8)
    batch[:, 0] = np.arange(1, 10, dtype=np.uint8)[:, None, None]
    with SummaryWriter(tmp_path) as w:
        w.add_images("grid", batch)
    (_, _, _, image), = _images(tmp_path)
    pixels = _pixels(image.encoded_image_string)
    assert pixels.shape == (4, 24, 3)
    expected = np.zeros((4, 24), np.uint8)
    expected[:2] = np.repeat(np.arange(1, 9), 3)
    expected[2:, :3] = 9
    np.testing.assert_array_equal(pixels, np.stack([expected] * 3, axis=2))


def test_boxes_and_labels_are_drawn(tmp_path):
    grey = np.full((3, 40, 60), 0.5)
    with SummaryWriter(tmp_path) as w:
        w.add_image_with_boxes("plain", grey, np.array([[2, 3, 30, 35]]))
        w.add_image_with_boxes("labelled", grey, np.array([[2, 3, 30, 35]]), labels=["cat"])
    plain, labelled = (_pixels(image.encoded_image_string) for *_, image in _images(tmp_path))
    red = (plain == [255, 0, 0]).all(axis=2)
    # A two-pixel outline: its edges, and nothing far inside or outside.
    assert red[3:36, 2].all() and red[35, 2:31].all() and not red[10:30, 10:25].any()
    assert not red[:, 35:].any()
    changed = (plain != labelled).any(axis=2)
    assert changed.sum() > 50 and not changed[:20].any()  # in the box's lower-left corner


@pytest.mark.parametrize("channels, mode", [(2, "LA"), (3, "RGB"), (4, "RGBA")])
def test_png_round_trip(channels, mode):
    pixels = RNG.integers(0, 256, size=(7, 5, channels), dtype=np.uint8)
    decoded = PIL_Image.open(io.BytesIO(encode_png(pixels)))
    assert decoded.mode == mode
    np.testing.assert_array_equal(np.asarray(decoded), pixels)


def _bad_calls(m):
    """(name, call on a writer, the exception PyTorch's writer raises)."""
    return [
        ("repeated letter", lambda w: w.add_image("i", np.zeros((3, 4, 4)), dataformats="CHH"),
         AssertionError),
        ("format too short", lambda w: w.add_image("i", np.zeros((3, 4, 4)), dataformats="HW"),
         AssertionError),
        ("default CHW on HW", lambda w: w.add_image("i", m.zeros(4, 4)), AssertionError),
        ("batch of RGBA", lambda w: w.add_images("i", np.zeros((2, 4, 4, 4))), AssertionError),
        ("batch of 2 channels", lambda w: w.add_images("i", m.zeros(2, 2, 4, 4)),
         AssertionError),
        ("one-letter format", lambda w: w.add_image("i", np.zeros(4), dataformats="H"),
         AttributeError),
        ("five letters", lambda w: w.add_images("i", np.zeros((1,) * 5), dataformats="NCHWT"),
         AttributeError),
        ("5 channels", lambda w: w.add_image("i", np.zeros((5, 4, 4))), TypeError),
        ("empty batch", lambda w: w.add_images("i", np.zeros((0, 3, 4, 4))), ZeroDivisionError),
        ("empty image", lambda w: w.add_image("i", np.zeros((3, 0, 4))), ValueError),
        ("list image", lambda w: w.add_image("i", [[0.0]]), NotImplementedError),
        ("int tag", lambda w: w.add_image(1, np.zeros((3, 4, 4))), TypeError),
        ("one box as a vector", lambda w: w.add_image_with_boxes(
            "b", np.zeros((3, 4, 4)), m.tensor([1, 1, 2, 2])), IndexError),
        ("label not a string", lambda w: w.add_image_with_boxes(
            "b", np.zeros((3, 4, 4)), m.tensor([[1, 1, 2, 2]]), labels=[3]), TypeError),
        ("list boxes", lambda w: w.add_image_with_boxes("b", np.zeros((3, 4, 4)), [[1, 1, 2, 2]]),
         NotImplementedError),
    ]


@pytest.mark.parametrize("index", range(len(_bad_calls(gpugrad))))
def test_bad_input_raises(tmp_path, index):
    name, call, expected = _bad_calls(gpugrad)[index]
    with SummaryWriter(tmp_path) as w, pytest.raises(expected):
        call(w)


@pytest.mark.parametrize("index", range(len(_bad_calls(gpugrad))))
def test_bad_input_raises_as_torch(tmp_path, index):
    pytest.importorskip("tensorboard", reason="PyTorch's writer needs the tensorboard package")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    name, call, expected = _bad_calls(torch)[index]
    with TorchWriter(tmp_path) as w, pytest.raises(expected):
        call(w)


# --- matplotlib figures ---------------------------------------------------------------------------

def _figure(plt, y=(1, 0, 1)):
    figure = plt.figure(figsize=(3, 2), dpi=50)
    figure.add_subplot().plot([0, 1, 2], y)
    return figure


@pytest.mark.parametrize("as_list", [False, True])
def test_add_figure_as_torch(tmp_path, as_list):
    pytest.importorskip("tensorboard", reason="the oracle reader is the tensorboard package")
    plt = pytest.importorskip("matplotlib.pyplot")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    results = []
    for name, writer_class in (("ours", SummaryWriter), ("torch", TorchWriter)):
        figures = [_figure(plt), _figure(plt, (0, 1, 0))] if as_list else _figure(plt)
        with writer_class(tmp_path / name) as w:
            w.add_figure("figure", figures, global_step=3)
        for figure in figures if as_list else [figures]:
            assert not plt.fignum_exists(figure.number)  # closed
        (entry,) = _images(tmp_path / name)
        results.append(entry)
    (step, _, tag, got), (want_step, _, want_tag, want) = results
    assert (step, tag) == (want_step, want_tag) == (3, "figure")
    assert (got.height, got.width, got.colorspace) == (want.height, want.width, want.colorspace)
    # One figure is 150 x 100 pixels; a list of two, a grid of them side by side.
    assert (got.height, got.width) == ((100, 300) if as_list else (100, 150))
    got_pixels, want_pixels = (_pixels(i.encoded_image_string) for i in (got, want))
    assert got_pixels.shape == want_pixels.shape == (got.height, got.width, 3)


def test_add_figure_close_false_keeps_the_figure(tmp_path):
    plt = pytest.importorskip("matplotlib.pyplot")
    figure = _figure(plt)
    with SummaryWriter(tmp_path) as w:
        w.add_figure("figure", figure, close=False)
    assert plt.fignum_exists(figure.number)
    plt.close(figure)
