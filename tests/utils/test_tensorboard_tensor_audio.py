"""``SummaryWriter.add_tensor`` and ``add_audio``: the same events as PyTorch's writer writes for
the same calls, read back by TensorBoard's reader."""

from __future__ import annotations

import contextlib
import io
import wave

import numpy as np
import pytest
import torch
from tensorboard_oracle import raw_events

import gpugrad
from gpugrad.utils.tensorboard import SummaryWriter

pytest.importorskip("tensorboard", reason="the oracle reader is the tensorboard package")

RNG = np.random.default_rng(4)
VALUES = np.array([[1.5, 2.0, -3.0], [0.0, 1e30, -7.25]])
NORMAL = RNG.standard_normal((3, 4, 5))
SOUND = np.sin(np.linspace(0, 40, 300)) * 0.8
DTYPES = ["float32", "float64", "float16", "bfloat16", "int8", "uint8", "int16", "int32",
          "int64", "bool"]


def _log(m, w):
    """The same calls with gpugrad (m=gpugrad) or PyTorch (m=torch) values."""
    for step, name in enumerate(DTYPES):
        dtype = getattr(m, name)
        source = VALUES if dtype.is_floating_point else np.array([[1, 2, -3], [0, 127, -128]])
        w.add_tensor(f"tensor_{name}", m.tensor(source).to(dtype), step)
    w.add_tensor("scalar", m.tensor(3.0), walltime=7.0)
    w.add_tensor("empty", m.zeros(0, 3))
    w.add_tensor("int64_extremes", m.tensor([2**63 - 1, -2**63, 2**40]))
    w.add_tensor("requires_grad", m.ones(2, requires_grad=True) * 2, 3)
    w.add_tensor("random", m.tensor(NORMAL, dtype=m.float32), 4)

    w.add_audio("sound", m.tensor(SOUND), 0)
    w.add_audio("float32_sound", m.tensor(SOUND, dtype=m.float32), 1, sample_rate=8000)
    w.add_audio("clipped", m.tensor([[0.0, 1.5, -2.0, 0.5, -0.5]]), 2)
    w.add_audio("numpy", SOUND[:10], 3, sample_rate=22050.5, walltime=5.0)
    w.add_audio("ints", m.tensor([1, 0, -1]), 4)


@pytest.fixture(scope="module")
def both_logs(tmp_path_factory):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    logs = []
    for m, writer_class in ((gpugrad, SummaryWriter), (torch, TorchWriter)):
        log_dir = tmp_path_factory.mktemp(m.__name__)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), writer_class(log_dir) as w:
            _log(m, w)
        logs.append((log_dir, raw_events(log_dir)["."], printed.getvalue()))
    return logs


def test_same_events_as_torch(both_logs):
    (_, ours, ours_printed), (_, theirs, theirs_printed) = both_logs
    assert len(ours) == len(theirs) == 21
    for got, want in zip(ours, theirs):
        assert got == want, (got, want)
    assert ours_printed == theirs_printed == (
        "warning: audio amplitude out of range, auto clipped.\n")


def test_reader_reads_tensors_and_audio(both_logs):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    acc = EventAccumulator(str(both_logs[0][0]), size_guidance={"tensors": 0, "audio": 0})
    acc.Reload()
    (event,) = acc.Tensors("tensor_float64")
    assert event.step == 1
    np.testing.assert_array_equal(tensor_util.make_ndarray(event.tensor_proto), VALUES)
    (event,) = acc.Tensors("tensor_int64")
    np.testing.assert_array_equal(tensor_util.make_ndarray(event.tensor_proto),
                                  [[1, 2, -3], [0, 127, -128]])
    assert acc.SummaryMetadata("tensor_int8").plugin_data.plugin_name == "tensor"

    (sound,) = acc.Audio("float32_sound")
    assert (sound.step, sound.sample_rate, sound.length_frames) == (1, 8000, 300)
    assert sound.content_type == "audio/wav"
    with wave.open(io.BytesIO(sound.encoded_audio_string)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    np.testing.assert_array_equal(pcm, (SOUND.astype(np.float32) * 32767).astype(np.int16))


def _bad_calls(m):
    """(name, call on a writer, the exception PyTorch's writer raises)."""
    return [
        ("numpy tensor", lambda w: w.add_tensor("t", np.ones(2)), AttributeError),
        ("int tensor tag", lambda w: w.add_tensor(1, m.ones(2)), TypeError),
        ("2-d audio", lambda w: w.add_audio("a", m.zeros(2, 3)), AssertionError),
        ("scalar audio", lambda w: w.add_audio("a", 0.3), AssertionError),
        ("empty audio", lambda w: w.add_audio("a", m.zeros(0)), ValueError),
        ("list audio", lambda w: w.add_audio("a", [0.1, 0.2]), NotImplementedError),
    ]


@pytest.mark.parametrize("index", range(len(_bad_calls(gpugrad))))
def test_bad_input_raises_as_torch(tmp_path, index):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    for m, writer in ((gpugrad, SummaryWriter), (torch, TorchWriter)):
        name, call, expected = _bad_calls(m)[index]
        with writer(tmp_path / m.__name__) as w, pytest.raises(expected):
            call(w)
