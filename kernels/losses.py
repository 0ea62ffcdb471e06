"""Pointwise losses fused with their gradient: BCE with logits, MSE, L1; and the backward's scale.

For "mean"/"sum" each runs as one pass of their own kernel, ``_loss_sum_kernel``: it reads the
inputs once and writes the gradient of ``x`` (already divided by n for a mean) and one partial
loss sum per program; a small second launch adds the partials (``reduction.total``). Traffic:
reads of x, y (and weight, pos_weight, broadcast from cache) + one write of the gradient, against
the 3 reads and 2 writes of a separate loss then gradient. For "none" the loss and the gradient
are two elementwise outputs (``elementwise.launch``). x and y are read flat: inputs of another
layout, or broadcast against each other, are first copied to the broadcast shape.

BCE with logits, with pw = pos_weight (1 without), lw = 1 + (pw - 1) * y, w = weight (1 without),
and softplus(-x) = max(-x, 0) + log1p(exp(-|x|)) (no overflow for any x):
    loss = w * ((1 - y) * x + lw * softplus(-x))
    d loss / dx = w * ((1 - y) - lw * sigmoid(-x)),    sigmoid(-x) = 1 / (1 + exp(x))
(from d softplus(-x) / dx = -sigmoid(-x)); sigmoid(-x) is taken from e = exp(-|x|) as e / (1 + e)
for x >= 0 and 1 / (1 + e) otherwise, so it never overflows either.
MSE: (x - y)^2, gradient 2 (x - y). L1: |x - y|, gradient sign(x - y).
Every loss and gradient function takes (x, y, w, pw), the absent ones as None.
"""

from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from . import binary_math as bm
from . import elementwise as ew
from . import reduction
from ._common import ACC_DTYPE, TL_DTYPE, f64, float_bits, tsum
from ._launch import Kernel, Tuning, cdiv, next_pow2, xp
from ._math import log1p

__all__ = ["bce_with_logits", "mse", "l1", "scale_loss_grad", "TUNING"]


@triton.jit
def _bce_loss(x, y, w, pw):
    e = tl.exp(-tl.abs(x))
    softplus_neg = tl.maximum(-x, 0) + log1p(e)
    if pw is not None:
        softplus_neg = (1 + (pw - 1) * y) * softplus_neg
    loss = (1 - y) * x + softplus_neg
    if w is not None:
        loss = loss * w
    return loss


@triton.jit
def _bce_grad(x, y, w, pw):
    e = tl.exp(-tl.abs(x))
    sigmoid_neg = tl.where(x >= 0, e, 1) / (1 + e)
    if pw is not None:
        sigmoid_neg = (1 + (pw - 1) * y) * sigmoid_neg
    grad = (1 - y) - sigmoid_neg
    if w is not None:
        grad = grad * w
    return grad


@triton.jit
def _mse_loss(x, y, w, pw):
    d = x - y
    return d * d


@triton.jit
def _mse_grad(x, y, w, pw):
    return 2 * (x - y)


@triton.jit
def _l1_loss(x, y, w, pw):
    return tl.abs(x - y)


@triton.jit
def _l1_grad(x, y, w, pw):
    d = x - y
    return tl.where(d > 0, 1, tl.where(d < 0, -1, d)).to(d.dtype)  # sign, nan stays nan


@triton.jit
def _loss_sum_kernel(
    x_ptr, y_ptr, w_ptr, pw_ptr, partial_ptr, grad_ptr, n, inner, grad_scale_bits,
    LOSS: tl.constexpr, GRAD: tl.constexpr, W_KIND: tl.constexpr, PW_KIND: tl.constexpr,
    COMPUTE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr,
):
    # this program's partial sum of the loss, and the gradient of x times the mean's 1/n (or 1)
    pid = tl.program_id(0).to(tl.int64)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask).to(COMPUTE)
    y = tl.load(y_ptr + offs, mask=mask).to(COMPUTE)
    w = ew.flat_operand(w_ptr, offs, mask, inner, W_KIND, COMPUTE)
    pw = ew.flat_operand(pw_ptr, offs, mask, inner, PW_KIND, COMPUTE)
    loss = tl.where(mask, LOSS(x, y, w, pw), 0).to(ACC)
    tl.store(partial_ptr + pid, tsum(loss, 0))
    if grad_ptr is not None:
        g = GRAD(x, y, w, pw) * tl.cast(f64(grad_scale_bits), COMPUTE)
        tl.store(grad_ptr + offs, g.to(grad_ptr.dtype.element_ty), mask=mask)


_loss_sum = Kernel(_loss_sum_kernel)
TUNING = Tuning({"block": 2048, "num_warps": 4}, interpreted={"block": 1 << 16})


def _pointwise_loss(loss_fn, grad_fn, x, y, weight, pos_weight, reduction_: str,
                    need_grad: bool):
    dtype = x.dtype
    inputs = (x, y, weight, pos_weight)
    shape = np.broadcast_shapes(*(a.shape for a in inputs if a is not None))
    n = int(np.prod(shape, dtype=np.int64))
    if reduction_ == "none":
        fns = (loss_fn, grad_fn) if need_grad else (loss_fn,)
        outs = ew.launch(fns, inputs, dtype, (dtype,) * len(fns), shape)
        return outs[0], outs[1] if need_grad else None
    grad = xp.empty(shape, dtype) if need_grad else None
    acc = ACC_DTYPE[dtype]
    if n == 0:
        return reduction.total(xp.zeros(0, acc), 0 if reduction_ == "mean" else None,
                               dtype), grad
    x, y = (a if a.shape == shape and a.flags.c_contiguous
            else xp.ascontiguousarray(xp.broadcast_to(a, shape)) for a in (x, y))
    kinds, (weight, pos_weight), inner = _weights(weight, pos_weight, shape)
    block = min(next_pow2(n), TUNING["block"])
    grid = (cdiv(n, block),)
    partials = xp.empty(grid[0], acc)
    scale = 1.0 / n if reduction_ == "mean" else 1.0
    _loss_sum(grid, x, y, weight, pos_weight, partials, grad, n, inner, float_bits(scale),
              loss_fn, grad_fn, *kinds, ew.COMPUTE[dtype], TL_DTYPE[acc], block,
              num_warps=TUNING["num_warps"])
    return reduction.total(partials, n if reduction_ == "mean" else None, dtype), grad


def _weights(weight, pos_weight, shape):
    """How the kernel reads ``weight`` and ``pos_weight`` (absent, flat, a row, a column, one
    value; copied to the loss's shape when neither fits)."""
    found = ew.flat_kinds((weight, pos_weight), shape, True)
    if found is None:
        weight, pos_weight = (
            None if a is None else xp.ascontiguousarray(xp.broadcast_to(a, shape))
            for a in (weight, pos_weight))
        found = ew.flat_kinds((weight, pos_weight), shape, True)
    return found


def bce_with_logits(x, y, weight, pos_weight, reduction: str, need_grad: bool):
    """Binary cross-entropy on logits; ``weight``/``pos_weight`` broadcastable or None."""
    return _pointwise_loss(_bce_loss, _bce_grad, x, y, weight, pos_weight, reduction, need_grad)


def mse(x, y, reduction: str, need_grad: bool):
    """Mean squared error; the gradient of ``y`` is the negative of the returned one."""
    return _pointwise_loss(_mse_loss, _mse_grad, x, y, None, None, reduction, need_grad)


def l1(x, y, reduction: str, need_grad: bool):
    """Mean absolute error; the gradient of ``y`` is the negative of the returned one."""
    return _pointwise_loss(_l1_loss, _l1_grad, x, y, None, None, reduction, need_grad)


# -------------------------------------------------------------------------- backward's scale
@triton.jit
def _scale_by_scalar_kernel(grad_ptr, scale_ptr, n, ACC: tl.constexpr, BLOCK: tl.constexpr):
    # grad *= s in place, where s is a device scalar: read on the device, no host sync. (After
    # loss.backward() the op layer does not launch this at all: the engine's all-ones seed.)
    s = tl.load(scale_ptr).to(ACC)
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    g = tl.load(grad_ptr + offs, mask=mask).to(ACC)
    tl.store(grad_ptr + offs, (g * s).to(grad_ptr.dtype.element_ty), mask=mask)  # 1 rounding


_scale_by_scalar = Kernel(_scale_by_scalar_kernel)
_SCALE_BLOCK = 4096


def scale_loss_grad(grad_input, grad_output):
    """``grad_input * grad_output`` in place (``grad_output`` broadcasts: 0-d for mean/sum, the
    loss's shape with trailing 1s for none); returns ``grad_input``."""
    if grad_input.size == 0:
        return grad_input
    if not grad_input.flags.c_contiguous:
        grad_input *= grad_output
        return grad_input
    if grad_output.ndim == 0:
        scale = grad_output if grad_output.dtype == grad_input.dtype else grad_output.astype(
            grad_input.dtype)
        _scale_by_scalar((cdiv(grad_input.size, _SCALE_BLOCK),), grad_input, scale,
                         grad_input.size, TL_DTYPE[ACC_DTYPE[grad_input.dtype]], _SCALE_BLOCK,
                         num_warps=4)
        return grad_input
    ew.launch((bm.BINARY["mul"][0],), (grad_input, grad_output), grad_input.dtype,
              (grad_input.dtype,), grad_input.shape, outs=[grad_input])
    return grad_input
