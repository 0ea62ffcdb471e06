"""The fused cross-entropy kernel against PyTorch (loss and gradient) and the NumPy twin."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gpugrad.kernels import cross_entropy as ce
from kernel_helpers import assert_close, device, host, layout


@pytest.fixture(params=["registers", "streaming"])
def path(request, monkeypatch):
    """Rows kept in registers, or streamed in chunks with the online max and sum."""
    if request.param == "streaming":
        monkeypatch.setitem(ce.TUNING, "single_max", 4)
        monkeypatch.setitem(ce.TUNING, "block_c", 4)
    return request.param


def _torch(logits, target, weight, ignore_index, smoothing, reduction):
    x = torch.tensor(logits.astype(np.float64), requires_grad=True)
    t = torch.tensor(target if target.dtype.kind == "i" else target.astype(np.float64))
    w = None if weight is None else torch.tensor(weight.astype(np.float64))
    loss = F.cross_entropy(x, t, weight=w, ignore_index=ignore_index, label_smoothing=smoothing,
                           reduction=reduction)
    loss.backward(torch.ones_like(loss))
    return loss.detach().numpy(), x.grad.numpy()


def _kernel(logits, target, weight, smoothing, reduction, on=None):
    """The kernel for the target's kind (``on``: the twin instead), on the device."""
    put = (lambda a: a) if on is not None else device
    w = None if weight is None else put(weight)
    if target.dtype.kind in "fV":  # V: bfloat16 probabilities
        fn = (on or ce).cross_entropy_probs
        return fn(put(logits), put(target), w, smoothing, reduction, True)
    return (on or ce).cross_entropy(put(logits), put(target), w, -100, smoothing, reduction, True)


def _case(rng, n, c, dtype, probs, weighted, ignore):
    logits = layout((rng.standard_normal((n, c)) * 2).astype(dtype), "strided")
    if probs:
        p = rng.random((n, c))
        target = (p / p.sum(1, keepdims=True)).astype(dtype)
    else:
        target = rng.integers(0, c, n).astype(np.int64)
        if ignore:
            target[::3] = -100
    weight = rng.uniform(0.5, 2.0, c).astype(dtype) if weighted else None
    return logits, target, weight


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("probs", [False, True])
def test_matches_torch(path, dtype, probs):
    rng = np.random.default_rng(0)
    for reduction in ("mean", "sum", "none"):
        for weighted in (False, True):
            for smoothing in (0.0, 0.2):
                logits, target, weight = _case(rng, 7, 13, dtype, probs, weighted, True)
                loss, grad = _kernel(logits, target, weight, smoothing, reduction)
                t_loss, t_grad = _torch(logits, target, weight, -100, smoothing, reduction)
                what = f"{reduction} weighted={weighted} smoothing={smoothing}"
                assert host(loss).dtype == np.dtype(dtype) and host(loss).shape == t_loss.shape
                assert host(grad).dtype == np.dtype(dtype)
                assert_close(loss, t_loss, dtype, err_msg=what)
                assert_close(grad, t_grad, dtype, err_msg=what)


def test_matches_twin(twin, path):
    rng = np.random.default_rng(1)
    for probs in (False, True):
        logits, target, weight = _case(rng, 9, 6, "float64", probs, True, True)
        for reduction in ("mean", "none"):
            loss, grad = _kernel(logits, target, weight, 0.1, reduction)
            e_loss, e_grad = _kernel(logits, target, weight, 0.1, reduction, on=twin)
            assert_close(loss, e_loss, "float64")
            assert_close(grad, e_grad, "float64")


def test_no_grad_and_custom_ignore_index(path):
    rng = np.random.default_rng(2)
    logits, target, _ = _case(rng, 6, 5, "float32", False, False, False)
    target[1] = 3
    loss, grad = ce.cross_entropy(device(logits), device(target), None, 3, 0.0, "mean", False)
    assert grad is None
    assert_close(loss, _torch(logits, target, None, 3, 0.0, "mean")[0], "float32")


def test_extreme_logits_stay_in_their_row(path):
    logits = np.array([[1e4, -1e4, 0.0, 1e4 - 1],
                       [-1e4, -1e4, -1e4, 1e4],
                       [-np.inf, 0.0, 1.0, -np.inf],
                       [np.nan, 0.0, 1.0, 2.0],
                       [0.5, 0.25, -0.5, 1.0]], np.float32)
    target = np.array([3, 0, 2, 1, 0], np.int64)
    loss, grad = ce.cross_entropy(device(logits), device(target), None, -100, 0.0, "none", True)
    t_loss, t_grad = _torch(logits, target, None, -100, 0.0, "none")
    assert_close(loss, t_loss, "float32")
    assert_close(grad, t_grad, "float32")
    assert np.isfinite(host(grad)[[0, 1, 2, 4]]).all()


def test_all_rows_ignored_give_nan_mean_and_zero_grad(path):
    logits = np.ones((3, 4), np.float32)
    target = np.full(3, -100, np.int64)
    loss, grad = ce.cross_entropy(device(logits), device(target), None, -100, 0.0, "mean", True)
    assert np.isnan(host(loss))
    assert not host(grad).any()
    empty, grad = ce.cross_entropy(device(np.ones((0, 4), np.float32)),
                                   device(np.zeros(0, np.int64)), None, -100, 0.0, "sum", True)
    assert host(empty) == 0 and host(grad).shape == (0, 4)
