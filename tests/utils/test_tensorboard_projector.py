"""``SummaryWriter.add_embedding``: the same projector files as PyTorch's writer writes for the
same calls (the text files byte for byte, the sprites pixel for pixel), and a config that
TensorBoard's projector plugin parses."""

from __future__ import annotations

import contextlib
import io
import os

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.utils.tensorboard import SummaryWriter

pytest.importorskip("tensorboard", reason="PyTorch's writer needs the tensorboard package")
PIL_Image = pytest.importorskip("PIL.Image", reason="sprites are decoded with Pillow")

RNG = np.random.default_rng(3)
POINTS = RNG.standard_normal((6, 3))
# Values a little outside [0, 1], so that clipping shows.
PICTURES = RNG.uniform(-0.2, 1.2, size=(6, 3, 4, 5))
ODD_TAG = "a b/é%\"\\'\n\t:~_-.!*()\x01\x7f✓"


def _log_embeddings(m, w):
    """The same calls with gpugrad (m=gpugrad) or PyTorch (m=torch) values."""
    w.add_embedding(m.tensor(POINTS))
    w.add_embedding(m.tensor(POINTS, dtype=m.float32), metadata=list("abcdef"), global_step=3,
                    tag="labels")
    w.add_embedding(POINTS[:3], metadata=[["x", 1], ["y", 2.5], ["z", None]],
                    metadata_header=["name", "value"], global_step=3, tag="columns")
    w.add_embedding(m.tensor(POINTS[:2], dtype=m.float16), metadata=m.tensor([5, 6]),
                    global_step=123456, tag=ODD_TAG)
    w.add_embedding(m.tensor(POINTS[:2], dtype=m.bfloat16), tag="bf16")
    w.add_embedding(m.tensor([[1, 2], [3, 4]]), tag="ints")
    w.add_embedding(np.array([[True, False]]), tag="bools")
    for count in (1, 2, 5, 6):
        w.add_embedding(POINTS[:count], label_img=m.tensor(PICTURES[:count]),
                        tag=f"sprite_{count}")
    w.add_embedding(POINTS[:3], label_img=m.tensor(PICTURES[:3, :1], dtype=m.float32),
                    tag="grey_sprite", global_step=m.tensor(7))
    w.add_embedding(POINTS[:2], label_img=m.tensor((PICTURES[:2] * 200).clip(0, 255)).to(
        m.uint8), metadata=["p", "q"], tag="uint8_sprite")
    w.add_embedding(POINTS[:2], tag="labels", global_step=3)  # the same directory again


def _files(log_dir) -> dict:
    """{relative path: bytes} of every file but the event files."""
    out = {}
    for root, _, names in os.walk(log_dir):
        for name in names:
            if not name.startswith("events.out.tfevents."):
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    out[os.path.relpath(path, log_dir)] = f.read()
    return out


@pytest.fixture(scope="module")
def both_logs(tmp_path_factory):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    logs = []
    for m, writer_class in ((gpugrad, SummaryWriter), (torch, TorchWriter)):
        log_dir = tmp_path_factory.mktemp(m.__name__)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), writer_class(log_dir) as w:
            _log_embeddings(m, w)
        logs.append((_files(log_dir), printed.getvalue()))
    return logs


def test_same_files_as_torch(both_logs):
    (ours, ours_printed), (theirs, theirs_printed) = both_logs
    assert sorted(ours) == sorted(theirs)
    assert len(ours) == 24
    assert ours_printed == theirs_printed != ""
    for path, want in theirs.items():
        if path.endswith(".png"):
            assert _pixels(ours[path]).shape == _pixels(want).shape, path
            np.testing.assert_array_equal(_pixels(ours[path]), _pixels(want), err_msg=path)
        else:
            assert ours[path] == want, (path, ours[path], want)


def _pixels(png: bytes) -> np.ndarray:
    decoded = PIL_Image.open(io.BytesIO(png))
    decoded.load()
    return np.asarray(decoded)


def test_projector_plugin_reads_the_config(both_logs):
    from google.protobuf import text_format
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    (ours, _), _ = both_logs
    config = text_format.Parse(ours["projector_config.pbtxt"].decode("utf-8"), ProjectorConfig())
    names = [embedding.tensor_name for embedding in config.embeddings]
    assert names[:4] == ["default:00000", "labels:00003", "columns:00003",
                         ODD_TAG + ":123456"]
    odd = config.embeddings[3]
    assert odd.tensor_path == "123456/a b%2fé%25\"%5c'\n\t:~_-.!*()\x01\x7f✓/tensors.tsv"
    assert odd.tensor_path in ours and odd.metadata_path in ours
    sprite = config.embeddings[10]
    assert sprite.tensor_name == "sprite_6:00000"
    assert list(sprite.sprite.single_image_dim) == [5, 4]  # width, height
    # Six 4 x 5 pictures: a 2 x 3 grid on a square as wide as the grid.
    assert _pixels(ours[sprite.sprite.image_path]).shape == (15, 15, 3)
    assert ours["00000/default/tensors.tsv"].decode().splitlines()[0] == "\t".join(
        str(value) for value in POINTS[0])


def test_config_lists_this_writers_embeddings(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_embedding(POINTS, tag="first")
    with SummaryWriter(tmp_path) as w:
        w.add_embedding(POINTS, tag="second")
        w.close()
        w.add_embedding(POINTS, tag="third")  # after close: the same writer's list
    with open(tmp_path / "projector_config.pbtxt") as f:
        config = f.read()
    assert "first" not in config and config.count("embeddings {") == 2


def test_numpy_label_img(tmp_path):
    """NumPy pictures make the same sprite as a tensor of them (PyTorch's writer takes
    tensors only)."""
    with SummaryWriter(tmp_path) as w:
        w.add_embedding(POINTS, label_img=PICTURES, tag="numpy")
        w.add_embedding(POINTS, label_img=gpugrad.tensor(PICTURES), tag="tensor")
    files = _files(tmp_path)
    assert files["00000/numpy/sprite.png"] == files["00000/tensor/sprite.png"]


def _bad_calls(m):
    """(name, call on a writer, the exception PyTorch's writer raises)."""
    return [
        ("label count", lambda w: w.add_embedding(m.zeros(3, 2), metadata=["a"]),
         AssertionError),
        ("vector", lambda w: w.add_embedding(m.zeros(3)), AssertionError),
        ("3-d", lambda w: w.add_embedding(m.zeros(3, 2, 1)), AssertionError),
        ("header length", lambda w: w.add_embedding(m.zeros(2, 2), metadata=[[1, 2], [3, 4]],
                                                    metadata_header=["a"]), AssertionError),
        ("image count", lambda w: w.add_embedding(m.zeros(2, 2), label_img=m.zeros(3, 3, 2, 2)),
         AssertionError),
        ("tall images", lambda w: w.add_embedding(m.zeros(2, 2), label_img=m.zeros(2, 3, 5, 2)),
         ValueError),
        ("list", lambda w: w.add_embedding([[1.0, 2.0]]), NotImplementedError),
    ]


@pytest.mark.parametrize("index", range(len(_bad_calls(gpugrad))))
def test_bad_input_raises_as_torch(tmp_path, index):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    for m, writer in ((gpugrad, SummaryWriter), (torch, TorchWriter)):
        name, call, expected = _bad_calls(m)[index]
        with writer(tmp_path / m.__name__) as w, pytest.raises(expected):
            call(w)


def test_a_file_in_the_way(tmp_path):
    os.makedirs(tmp_path / "00000")
    (tmp_path / "00000" / "x").write_text("")
    with SummaryWriter(tmp_path) as w, pytest.raises(NotADirectoryError, match="is a file"):
        w.add_embedding(POINTS, tag="x")
