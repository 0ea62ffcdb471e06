"""``SummaryWriter.add_pr_curve`` and ``add_pr_curve_raw``: the same events as PyTorch's writer
writes for the same calls, read back by TensorBoard's reader and its pr_curves plugin."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tensorboard_oracle import raw_events

import gpugrad
from gpugrad.utils.tensorboard import SummaryWriter
from gpugrad.utils.tensorboard.pr_curve import pr_curve

pytest.importorskip("tensorboard", reason="the oracle reader is the tensorboard package")

RNG = np.random.default_rng(2)
LABELS = RNG.integers(0, 2, 200)
# Some predictions exactly on a threshold, and a few outside [0, 1] (in no bucket).
PREDICTIONS = np.concatenate([RNG.uniform(0, 1, 190), [0.0, 1.0, 0.5, 0.25, 1 / 126, 0.75,
                                                        -0.1, 1.2, 0.999, 0.001]])
WEIGHTS = RNG.uniform(0, 3, 200)


def _log_pr_curves(m, w):
    """The same calls with gpugrad (m=gpugrad) or PyTorch (m=torch) values."""
    labels, predictions = m.tensor(LABELS), m.tensor(PREDICTIONS, dtype=m.float32)
    w.add_pr_curve("float32", labels, predictions, 0)
    w.add_pr_curve("float64", labels, m.tensor(PREDICTIONS, dtype=m.float64), 1)
    w.add_pr_curve("bool_labels", m.tensor(LABELS > 0), predictions, 2)
    w.add_pr_curve("numpy", LABELS, PREDICTIONS, 3, walltime=12.5)
    for num_thresholds in (1, 2, 10, 126, 127, 128, 500):
        w.add_pr_curve(f"thresholds_{num_thresholds}", labels, predictions, 4,
                       num_thresholds=num_thresholds)
    w.add_pr_curve("weights", labels, predictions, 5, weights=WEIGHTS)
    w.add_pr_curve("weights_list", labels[:3], predictions[:3], 5, weights=[1.0, 2.0, 0.5])
    w.add_pr_curve("weight_scalar", labels, predictions, 5, weights=2.0)
    w.add_pr_curve("matrix", labels.reshape(10, 20), predictions.reshape(10, 20), 6)
    w.add_pr_curve("all_negative", m.zeros(5), m.tensor([0.1, 0.2, 0.3, 0.4, 0.5]), 7)
    w.add_pr_curve("empty", m.zeros(0), m.zeros(0), 8)
    w.add_pr_curve("no_step", labels, predictions)
    counts = ([10, 8, 3], [5, 2, 0], [0, 3, 5], [0, 2, 7], [0.66, 0.8, 1.0], [1.0, 0.8, 0.3])
    w.add_pr_curve_raw("raw_lists", *counts, global_step=9, num_thresholds=3)
    w.add_pr_curve_raw("raw_tensors", *(m.tensor(c) for c in counts), global_step=10,
                       num_thresholds=3, walltime=3.0)
    w.add_pr_curve_raw("raw_arrays", *(np.array(c, np.float32) for c in counts), 11,
                       num_thresholds=300, weights=5)
    w.add_pr_curve_raw("raw_default_thresholds", *counts)


@pytest.fixture(scope="module")
def both_logs(tmp_path_factory):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    ours, theirs = tmp_path_factory.mktemp("gpugrad"), tmp_path_factory.mktemp("torch")
    with SummaryWriter(ours) as w:
        _log_pr_curves(gpugrad, w)
    with TorchWriter(theirs) as w:
        _log_pr_curves(torch, w)
    return raw_events(ours)["."], raw_events(theirs)["."]


def test_same_events_as_torch(both_logs):
    ours, theirs = both_logs
    assert len(ours) == len(theirs) == 23
    for got, want in zip(ours, theirs):
        assert got == want, (got, want)


def test_pr_curves_plugin_reads_them(both_logs):
    from tensorboard.plugins.pr_curve import metadata
    from tensorboard.util import tensor_util

    by_tag = {event.summary.value[0].tag: (event, event.summary.value[0])
              for event in both_logs[0][1:]}
    event, value = by_tag["thresholds_10"]
    assert value.metadata.plugin_data.plugin_name == metadata.PLUGIN_NAME
    assert metadata.parse_plugin_metadata(value.metadata.plugin_data.content).num_thresholds == 10
    curve = tensor_util.make_ndarray(value.tensor)
    assert curve.shape == (6, 10) and curve.dtype == np.float32
    true_pos, false_pos, true_neg, false_neg, precision, recall = curve
    # The lowest threshold takes every prediction in [0, 1] as positive.
    in_range = (PREDICTIONS >= 0) & (PREDICTIONS <= 1)
    assert true_pos[0] == (LABELS[in_range] == 1).sum()
    assert false_pos[0] == (LABELS[in_range] == 0).sum()
    assert true_neg[0] == false_neg[0] == 0
    np.testing.assert_allclose(precision, true_pos / np.maximum(true_pos + false_pos, 1e-7),
                               rtol=1e-6)
    np.testing.assert_allclose(recall, true_pos / true_pos[0], rtol=1e-6)
    assert np.all(np.diff(true_pos) <= 0) and np.all(np.diff(false_pos) <= 0)

    # At most 127 thresholds, in the data and the metadata.
    _, value = by_tag["thresholds_500"]
    assert metadata.parse_plugin_metadata(value.metadata.plugin_data.content).num_thresholds == 127
    assert tensor_util.make_ndarray(value.tensor).shape == (6, 127)
    # The raw curve is kept as given, whatever num_thresholds says.
    _, value = by_tag["raw_arrays"]
    assert metadata.parse_plugin_metadata(value.metadata.plugin_data.content).num_thresholds == 127
    np.testing.assert_allclose(tensor_util.make_ndarray(value.tensor)[4], [0.66, 0.8, 1.0],
                               rtol=1e-7)


def test_weighted_counts():
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.util import tensor_util

    summary = summary_pb2.Summary.FromString(pr_curve(
        "w", np.array([1, 0, 1]), np.array([0.2, 0.6, 0.9]), num_thresholds=3,
        weights=np.array([2.0, 1.0, 0.5])))
    curve = tensor_util.make_ndarray(summary.value[0].tensor)
    # Thresholds 0, 0.5, 1: buckets floor(p * 2) = 0, 1, 1.
    np.testing.assert_allclose(curve[:4], [[2.5, 0.5, 0.0], [1.0, 1.0, 0.0],
                                           [0.0, 0.0, 1.0], [0.0, 2.0, 2.5]])


def test_tensor_weights(tmp_path):
    """A tensor of weights counts as the same array would (PyTorch's writer fails on one)."""
    labels, predictions = gpugrad.tensor(LABELS), gpugrad.tensor(PREDICTIONS)
    with SummaryWriter(tmp_path) as w:
        w.add_pr_curve("w", labels, predictions, 0, weights=WEIGHTS, walltime=1.0)
        w.add_pr_curve("w", labels, predictions, 0, weights=gpugrad.tensor(WEIGHTS),
                       walltime=1.0)
    _, from_array, from_tensor = raw_events(tmp_path)["."]
    assert from_array == from_tensor


def _bad_calls(m):
    """(name, call on a writer, the exception PyTorch's writer raises)."""
    return [
        ("list predictions", lambda w: w.add_pr_curve("p", m.tensor([1, 0]), [0.1, 0.2]),
         NotImplementedError),
        ("list labels", lambda w: w.add_pr_curve("p", [1, 0], m.tensor([0.1, 0.2])),
         NotImplementedError),
        ("zero thresholds", lambda w: w.add_pr_curve("p", m.tensor([1]), m.tensor([0.5]),
                                                     num_thresholds=0), ValueError),
        ("int tag", lambda w: w.add_pr_curve(1, m.tensor([1]), m.tensor([0.5])), TypeError),
        ("shapes", lambda w: w.add_pr_curve("p", m.tensor([1, 0]), m.tensor([0.5, 0.1, 0.2])),
         ValueError),
        ("raw lengths", lambda w: w.add_pr_curve_raw("r", [1, 2], [1], [1], [1], [1], [1]),
         ValueError),
        ("raw scalars", lambda w: w.add_pr_curve_raw("r", 1, 1, 1, 1, 1, 1), IndexError),
    ]


@pytest.mark.parametrize("index", range(len(_bad_calls(gpugrad))))
def test_bad_input_raises_as_torch(tmp_path, index):
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    for m, writer in ((gpugrad, SummaryWriter), (torch, TorchWriter)):
        name, call, expected = _bad_calls(m)[index]
        with writer(tmp_path / m.__name__) as w, pytest.raises(expected):
            call(w)
