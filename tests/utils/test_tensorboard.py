"""``utils.tensorboard``: event files that TensorBoard's own reader reads back, holding the same
events as PyTorch's ``SummaryWriter`` writes for the same calls.

The oracle tests need the ``tensorboard`` package (in the ``test`` extra; PyTorch's writer needs
it too) and skip without it; the file layout and error tests do not (the checksums and the
record framing: test_tensorboard_format.py).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from tensorboard_oracle import event_files as _event_files
from tensorboard_oracle import raw_events as _raw_events
from tensorboard_oracle import read_records as _read_records

import gpugrad
from gpugrad.utils.tensorboard import SummaryWriter


def _tensorboard():
    return pytest.importorskip("tensorboard", reason="the oracle reader is the tensorboard package")


# --- files and directories ------------------------------------------------------------------------

def test_default_log_dir_and_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = int(time.time())
    with SummaryWriter(comment="_lr0.1", filename_suffix=".sfx") as w:
        log_dir = w.get_logdir()
        w.add_scalar("x", 1.0, 0)
    host = re.escape(socket.gethostname())
    assert re.fullmatch(r"runs/[A-Z][a-z]{2}\d\d_\d\d-\d\d-\d\d_" + host + r"_lr0\.1", log_dir)
    (name,) = os.listdir(tmp_path / log_dir)
    match = re.fullmatch(r"events\.out\.tfevents\.(\d{10})\." + host + r"\.(\d+)\.\d+\.sfx", name)
    assert match and int(match.group(2)) == os.getpid()
    assert before <= int(match.group(1)) <= time.time()


def test_log_dir_given_comment_ignored(tmp_path):
    w = SummaryWriter(tmp_path / "exp", comment="ignored")
    assert w.get_logdir() == tmp_path / "exp"
    w.close()
    assert len(_event_files(tmp_path / "exp")) == 1


def test_first_event_is_file_version_and_flush_writes(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=100, flush_secs=1000)
    (path,) = _event_files(tmp_path)
    first = _read_records(path)
    assert len(first) == 1 and b"brain.Event:2" in first[0]
    w.add_scalar("x", 1.0, 0)
    w.add_scalar("x", 2.0, 1)
    assert len(_read_records(path)) == 1  # queued
    w.flush()
    assert len(_read_records(path)) == 3
    w.close()
    w.close()  # a second close does nothing


def test_full_queue_is_written(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=3, flush_secs=1000)
    (path,) = _event_files(tmp_path)
    w.add_scalar("x", 1.0, 0)
    w.add_scalar("x", 2.0, 1)
    assert len(_read_records(path)) == 1
    w.add_scalar("x", 3.0, 2)
    assert len(_read_records(path)) == 4
    w.close()


def test_flush_secs_writes_in_the_background(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=100, flush_secs=0.05)
    (path,) = _event_files(tmp_path)
    w.add_scalar("x", 1.0, 0)
    deadline = time.time() + 10
    while len(_read_records(path)) < 2 and time.time() < deadline:
        time.sleep(0.02)
    assert len(_read_records(path)) == 2
    w.close()


def test_events_are_written_at_exit_without_close(tmp_path):
    program = (
        "from gpugrad.utils.tensorboard import SummaryWriter\n"
        f"w = SummaryWriter({str(tmp_path)!r}, max_queue=100, flush_secs=1000)\n"
        "w.add_scalar('x', 1.0, 0)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", "")}
    subprocess.run([sys.executable, "-c", program], check=True, env=env, timeout=120)
    (path,) = _event_files(tmp_path)
    assert len(_read_records(path)) == 2


def test_context_manager_closes_and_reuse_opens_a_new_file(tmp_path):
    with SummaryWriter(tmp_path, max_queue=100) as w:
        w.add_scalar("x", 1.0, 0)
    assert w.all_writers is None
    (path,) = _event_files(tmp_path)
    assert len(_read_records(path)) == 2
    w.add_scalar("x", 2.0, 1)  # as PyTorch: a new event file
    w.close()
    assert len(_event_files(tmp_path)) == 2


def test_add_scalars_layout(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalars("loss/train", {"a": 1.0, "b": 2.0}, 0)
        w.add_scalars("loss/train", {"a": 3.0}, 1)
    dirs = sorted(os.path.relpath(os.path.dirname(p), tmp_path) for p in _event_files(tmp_path))
    assert dirs == [".", "loss_train_a", "loss_train_b"]
    assert len(_read_records(_event_files(tmp_path / "loss_train_a")[0])) == 3


# --- errors ---------------------------------------------------------------------------------------

UNSUPPORTED = ["add_video", "add_onnx_graph", "add_graph", "add_mesh"]


@pytest.mark.parametrize("name", UNSUPPORTED)
def test_unsupported_methods_raise(tmp_path, name):
    with SummaryWriter(tmp_path) as w, pytest.raises(NotImplementedError, match=name):
        getattr(w, name)("tag", np.zeros((3, 4, 4)))


def test_every_torch_method_exists():
    _tensorboard()
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    public = {name for name in dir(TorchWriter) if not name.startswith("_")}
    assert set(UNSUPPORTED) <= public
    assert public <= set(dir(SummaryWriter))


def _bad_calls(m):
    """(name, call on a writer, the exception PyTorch's writer raises)."""
    return [
        ("int tag", lambda w: w.add_scalar(1, 2.0), TypeError),
        ("list tag", lambda w: w.add_scalar(["a"], 2.0), TypeError),
        ("vector scalar", lambda w: w.add_scalar("x", m.ones(2)), AssertionError),
        ("matrix scalar", lambda w: w.add_scalar("x", np.ones((2, 2))), AssertionError),
        ("list scalar", lambda w: w.add_scalar("x", [1.0]), NotImplementedError),
        ("string scalar", lambda w: w.add_scalar("x", "abc"), ValueError),
        ("string step", lambda w: w.add_scalar("x", 1.0, "a"), ValueError),
        ("string walltime", lambda w: w.add_scalar("x", 1.0, 0, "a"), TypeError),
        ("empty histogram", lambda w: w.add_histogram("h", m.ones(0)), ValueError),
        ("list histogram", lambda w: w.add_histogram("h", [1.0, 2.0]), NotImplementedError),
        ("int histogram tag", lambda w: w.add_histogram(3, np.ones(3)), TypeError),
        ("raw lengths", lambda w: w.add_histogram_raw("h", 0, 1, 2, 1, 1, [1, 2], [1]),
         ValueError),
        ("int text tag", lambda w: w.add_text(3, "x"), TypeError),
        ("int text", lambda w: w.add_text("t", 3), AttributeError),
        ("int scalars key", lambda w: w.add_scalars("m", {2: 1.0}), TypeError),
        ("list scalars", lambda w: w.add_scalars("m", [1.0]), AttributeError),
        ("list hparams", lambda w: w.add_hparams([1], {}), TypeError),
        ("hparam of a list", lambda w: w.add_hparams({"a": [1]}, {}), ValueError),
        ("hparam domain type", lambda w: w.add_hparams({"a": 1}, {}, {"a": ["x"]}), TypeError),
    ]


@pytest.mark.parametrize("index", range(len(_bad_calls(gpugrad))))
def test_bad_input_raises(tmp_path, index):
    name, call, expected = _bad_calls(gpugrad)[index]
    with SummaryWriter(tmp_path) as w, pytest.raises(expected):
        call(w)
    with SummaryWriter(tmp_path) as w:  # the writer still works afterwards
        w.add_scalar("ok", 1.0, 0)


@pytest.mark.parametrize("index", range(len(_bad_calls(torch))))
def test_bad_input_raises_as_torch(tmp_path, index):
    _tensorboard()
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    name, call, expected = _bad_calls(torch)[index]
    with TorchWriter(tmp_path) as w, pytest.raises(expected):
        call(w)


# --- the oracle: TensorBoard's reader, and PyTorch's writer for the same calls --------------------

RNG = np.random.default_rng(0)
NORMAL = RNG.standard_normal(1000)
SMALL_INTS = RNG.integers(-5, 6, size=(4, 5))


def _log_everything(m, w):
    """The same calls with gpugrad (m=gpugrad) or PyTorch (m=torch) values."""
    scalars = [
        1, 2.5, -0.0, 0.0, 1e300, float("nan"), float("inf"), True, np.float32(0.1),
        np.int64(7), np.float64(1 / 3), np.array(4.25), np.ones((1, 1)) * 3,
        m.tensor(0.1), m.tensor([0.2], dtype=m.float64), m.tensor([[5]]),
        m.tensor(1.1, dtype=m.bfloat16), m.tensor(2.2, dtype=m.float16),
        m.tensor(3.5, requires_grad=True) * 2,
    ]
    for step, value in enumerate(scalars):
        w.add_scalar("scalar", value, step)
        w.add_scalar("new_style", value, step, new_style=True)
        w.add_scalar("double", value, step, new_style=True, double_precision=True)
    w.add_scalar("walltime", 1.0, 3, walltime=1234.5)
    w.add_scalar("no_step", 1.0)
    w.add_scalar("negative_step", 1.0, -5)
    w.add_scalar("tensor_step", 1.0, m.tensor(9))
    w.add_scalar("unicode/tag é", 1.0, 0)
    w.add_scalar(b"bytes_tag", 1.0, 0)
    for name in ("float32", "float64"):
        w.add_histogram(f"normal_{name}", m.tensor(NORMAL, dtype=getattr(m, name)), 1)
    w.add_histogram("ints", m.tensor(SMALL_INTS), 2)
    w.add_histogram("numpy", NORMAL * 1e5, 3)
    w.add_histogram("constant", np.full(10, 2.0), 4)
    w.add_histogram("zeros", np.zeros(3), 4)
    w.add_histogram("scalar", 5.0, 4)
    w.add_histogram("bf16", m.tensor([0.5, 1.5, -2.0], dtype=m.bfloat16), 4)
    for bins in (10, "auto", "fd", np.linspace(-4, 4, 17)):
        w.add_histogram(f"bins_{bins if isinstance(bins, (int, str)) else 'array'}", NORMAL, 5,
                        bins=bins)
    for max_bins in (1, 7, 64, 5000):
        w.add_histogram(f"max_bins_{max_bins}", NORMAL, 6, max_bins=max_bins)
    w.add_histogram("max_bins_ints", SMALL_INTS, 6, bins=11, max_bins=3)
    w.add_histogram("walltime", NORMAL, 7, walltime=99.0)
    w.add_histogram_raw("raw", -1, 2.0, 4, 3.5, 6.25, [0.0, 1.0, 2.0], [1, 2, 1], 8)
    w.add_histogram_raw("raw_arrays", 0.0, 1.0, 3, 1.5, 1.25, np.array([0.5, 1.0]),
                        m.tensor([1.0, 2.0]), 8)
    w.add_text("text", "hello **world**", 0)
    w.add_text("text", "ünïcødé ✓\nsecond line", 1, walltime=5.0)
    w.add_text("empty", "", 2)
    w.add_scalars("run/loss", {"train": 0.5, "val": m.tensor(0.7)}, 0)
    w.add_scalars("run/loss", {"train": 0.4, "test": np.float32(0.9)}, 1, walltime=3.0)
    w.add_hparams(
        {"lr": 0.1, "opt": "adam", "flag": True, "layers": 3, "skip": None,
         "wd": m.tensor([1e-4], dtype=m.float64)},
        {"hparam/acc": 0.9, "hparam/loss": m.tensor(0.25, dtype=m.float64)},
        hparam_domain_discrete={"opt": ["adam", "sgd"], "layers": [1, 3]},
        run_name="trial", global_step=4,
    )


@pytest.fixture(scope="module")
def both_logs(tmp_path_factory):
    _tensorboard()
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    ours, theirs = tmp_path_factory.mktemp("gpugrad"), tmp_path_factory.mktemp("torch")
    with SummaryWriter(ours) as w:
        _log_everything(gpugrad, w)
    with TorchWriter(theirs) as w:
        _log_everything(torch, w)
    return ours, theirs


def test_same_events_as_torch(both_logs):
    ours, theirs = (_raw_events(d) for d in both_logs)
    assert sorted(ours) == sorted(theirs) == [".", "run_loss_test", "run_loss_train",
                                              "run_loss_val", "trial"]
    for sub_dir, expected in theirs.items():
        assert len(ours[sub_dir]) == len(expected), sub_dir
        for got, want in zip(ours[sub_dir], expected):
            assert got == want, (sub_dir, got, want)


def _accumulator(path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(path), size_guidance={"scalars": 0, "histograms": 0,
                                                    "tensors": 0})
    acc.Reload()
    return acc


def test_event_accumulator_reads_scalars_histograms_text(both_logs):
    acc = _accumulator(both_logs[0])
    tags = acc.Tags()
    assert {"scalar", "walltime", "no_step", "negative_step", "tensor_step", "unicode/tag é",
            "bytes_tag"} <= set(tags["scalars"])
    events = acc.Scalars("scalar")
    assert [e.step for e in events] == list(range(19))
    assert events[1].value == 2.5 and events[13].value == pytest.approx(0.1)
    assert events[4].value == float("inf")  # beyond float32: inf, as protobuf stores it
    (walltime,) = acc.Scalars("walltime")
    assert (walltime.wall_time, walltime.step, walltime.value) == (1234.5, 3, 1.0)
    assert acc.Scalars("negative_step")[0].step == -5
    assert acc.Scalars("tensor_step")[0].step == 9
    assert acc.Scalars("no_step")[0].step == 0

    (hist,) = acc.Histograms("normal_float64")
    h = hist.histogram_value
    assert hist.step == 1
    assert (h.min, h.max, h.num) == (NORMAL.min(), NORMAL.max(), 1000)
    assert h.sum == pytest.approx(NORMAL.sum()) and h.sum_squares == pytest.approx(NORMAL @ NORMAL)
    assert sum(h.bucket) == 1000 and len(h.bucket) == len(h.bucket_limit)
    assert list(h.bucket_limit) == sorted(h.bucket_limit)

    texts = acc.Tensors("text/text_summary")
    assert [t.step for t in texts] == [0, 1]
    assert texts[1].tensor_proto.string_val == ["ünïcødé ✓\nsecond line".encode()]
    assert texts[1].wall_time == 5.0
    assert acc.SummaryMetadata("text/text_summary").plugin_data.plugin_name == "text"

    new_style = acc.Tensors("double")
    assert new_style[10].tensor_proto.double_val == [1 / 3]


def test_add_scalars_and_hparams_read_back(both_logs):
    acc = _accumulator(both_logs[0] / "run_loss_train")
    second = acc.Scalars("run/loss")[1]
    assert (second.step, second.value, second.wall_time) == (1, pytest.approx(0.4), 3.0)
    trial = _accumulator(both_logs[0] / "trial")
    assert [e.value for e in trial.Scalars("hparam/acc")] == [pytest.approx(0.9)]
    assert trial.Scalars("hparam/loss")[0].step == 4

    from tensorboard.plugins.hparams import plugin_data_pb2

    content = trial.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    assert start.hparams["lr"].number_value == 0.1
    assert start.hparams["opt"].string_value == "adam"
    assert start.hparams["wd"].number_value == 1e-4
    assert "skip" not in start.hparams


def test_purge_step_as_torch(tmp_path):
    _tensorboard()
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    for writer, sub_dir in ((SummaryWriter, "ours"), (TorchWriter, "theirs")):
        with writer(tmp_path / sub_dir, purge_step=7) as w:
            w.add_scalar("x", 1.0, 7)
    ours, theirs = _raw_events(tmp_path / "ours"), _raw_events(tmp_path / "theirs")
    for events in (ours, theirs):
        for event in events["."]:
            event.wall_time = 0
    assert ours == theirs



@pytest.mark.gpu
def test_cuda_tensors_log_as_cpu_ones(tmp_path):
    def log(device, log_dir):
        with SummaryWriter(log_dir) as w:
            w.add_scalar("x", gpugrad.tensor(2.5, device=device), 0, walltime=1.0)
            w.add_scalar("y", gpugrad.tensor([1.5], dtype=gpugrad.bfloat16, device=device), 1,
                         walltime=1.0)
            w.add_histogram("h", gpugrad.tensor(NORMAL, device=device), 2, walltime=1.0)
            w.add_tensor("t", gpugrad.tensor([[1.5, -2.0]], dtype=gpugrad.bfloat16,
                                             device=device), 3, walltime=1.0)
            w.add_pr_curve("pr", gpugrad.tensor([1, 0, 1], device=device),
                           gpugrad.tensor([0.2, 0.6, 0.9], device=device), 4, walltime=1.0)
            w.add_audio("a", gpugrad.tensor([0.5, -0.25], device=device), 5, walltime=1.0)
            w.add_hparams({"wd": gpugrad.tensor(0.5, device=device)}, {"m": 1.0},
                          run_name="r", global_step=0)
        return [_read_records(p)[1:] for p in _event_files(log_dir)]  # after the file version

    assert log("cuda", tmp_path / "cuda") == log("cpu", tmp_path / "cpu")
