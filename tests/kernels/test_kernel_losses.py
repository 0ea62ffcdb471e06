"""Fused pointwise losses against PyTorch and the NumPy twins; the backward's in-place scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gpugrad.kernels import losses
from kernel_helpers import assert_close, device, host, layout


def _torch(name, x, y, weight=None, pos_weight=None, reduction="mean"):
    tx = torch.tensor(x.astype(np.float64), requires_grad=True)
    ty = torch.tensor(y.astype(np.float64))
    if name == "bce_with_logits":
        kw = {}
        if weight is not None:
            kw["weight"] = torch.tensor(weight.astype(np.float64))
        if pos_weight is not None:
            kw["pos_weight"] = torch.tensor(pos_weight.astype(np.float64))
        loss = F.binary_cross_entropy_with_logits(tx, ty, reduction=reduction, **kw)
    else:
        loss = (F.mse_loss if name == "mse" else F.l1_loss)(tx, ty, reduction=reduction)
    loss.backward(torch.ones_like(loss))
    return loss.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_pointwise_losses_match_torch(dtype, reduction):
    rng = np.random.default_rng(0)
    x = layout((rng.standard_normal((5, 7)) * 4).astype(dtype), "strided")
    y = rng.random((5, 7)).astype(dtype)
    y[0, :3] = [0.0, 1.0, 0.5]
    x[0, 3] = 30.0  # |x| large: softplus and sigmoid must not overflow
    x[0, 4] = -30.0
    weight = rng.uniform(0.5, 2, (7,)).astype(dtype)
    pos_weight = rng.uniform(0.5, 3, (5, 1)).astype(dtype)
    cases = [("bce_with_logits", None, None), ("bce_with_logits", weight, None),
             ("bce_with_logits", weight, pos_weight), ("bce_with_logits", None, pos_weight),
             ("mse", None, None), ("l1", None, None)]
    for name, w, pw in cases:
        if name == "bce_with_logits":
            loss, grad = losses.bce_with_logits(
                device(x), device(y), None if w is None else device(w),
                None if pw is None else device(pw), reduction, True)
        else:
            loss, grad = getattr(losses, name)(device(x), device(y), reduction, True)
        t_loss, t_grad = _torch(name, x, y, w, pw, reduction)
        assert host(loss).dtype == np.dtype(dtype) and host(loss).shape == t_loss.shape
        assert_close(loss, t_loss, dtype, err_msg=f"{name} loss")
        assert_close(grad, t_grad, dtype, err_msg=f"{name} grad")


def test_losses_match_twin_and_skip_grad(twin):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 6))
    y = rng.random((4, 6))
    for name in ("mse", "l1"):
        loss, grad = getattr(losses, name)(device(x), device(y), "mean", False)
        assert grad is None
        assert_close(loss, getattr(twin, name)(x, y, "mean", False)[0], "float64")
    loss, grad = losses.bce_with_logits(device(x), device(y), None, None, "sum", True)
    e_loss, e_grad = twin.bce_with_logits(x, y, None, None, "sum", True)
    assert_close(loss, e_loss, "float64")
    assert_close(grad, e_grad, "float64")


def test_empty_inputs(twin):
    x = np.zeros((0, 3))
    loss, grad = losses.mse(device(x), device(x), "mean", True)
    assert np.isnan(host(loss)) and host(grad).shape == (0, 3)
    loss, _ = losses.l1(device(x), device(x), "sum", True)
    assert host(loss) == 0


def test_scale_loss_grad_in_place():
    rng = np.random.default_rng(2)
    for dtype in ("float32", "float16", "float64"):
        g = device(rng.standard_normal((6, 5)).astype(dtype))
        before = host(g).copy()
        assert losses.scale_loss_grad(g, device(np.array(1.0, dtype))) is g
        np.testing.assert_array_equal(host(g), before)  # a 1 leaves the gradient untouched
        losses.scale_loss_grad(g, device(np.array(2.5, dtype)))
        assert_close(g, before.astype(np.float64) * 2.5, dtype)
        per_row = rng.standard_normal((6, 1)).astype(dtype)
        after = host(g).astype(np.float64) * per_row
        losses.scale_loss_grad(g, device(per_row))
        assert_close(g, after, dtype)
