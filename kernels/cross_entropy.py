"""Softmax cross-entropy: the loss and the gradient of the logits in one kernel, one row per
program, during forward.

Math for one row x (C logits), lse = log(sum_c exp(x_c)), p = softmax(x) = exp(x - lse),
eps = label_smoothing, w the class weights (1 without ``weight``), W = sum_c w_c:

  class index t:   loss = (1-eps) * w_t * (lse - x_t) + eps/C * (W * lse - sum_c w_c x_c)
                   d loss / d x_j = (1-eps) * w_t * (p_j - [j == t]) + eps/C * (W * p_j - w_j)
                                  = p_j * a - (1-eps) * w_t * [j == t] - eps/C * w_j,
                   with a = (1-eps) * w_t + eps/C * W          (d lse / d x_j = p_j)
  probabilities q: q' = (1-eps) * q + eps/C, T = sum_c w_c q'_c, X = sum_c w_c q'_c x_c
                   loss = T * lse - X,    d loss / d x_j = p_j * T - w_j q'_j

Rows whose target is ``ignore_index`` contribute 0 to the loss and the gradient. The mean
divides by sum_i w_{t_i} over the kept rows (class indices; a first tiny kernel sums it on the
device, so no host sync) or by N (probabilities); the gradient is scaled accordingly. The last
kernel sums the row losses (deterministic order) for "mean"/"sum".

Pass structure per row: pass 1 walks the row once with an online max and sum of exp (rescaled
when the max grows), gathering the smoothing/probability sums; pass 2 writes the gradient. A row
of up to SINGLE_MAX classes stays in registers: 1 read of the logits + 1 write of the gradient.
Longer rows read the logits twice (the second mostly from L2). Probability targets add one (or
two) reads of the (N, C) target. Offsets are int64. Memory: the gradient (N, C) in the logits'
dtype plus N float32 row losses: the backward only scales this gradient (nothing when the
upstream gradient is 1), so forward+backward costs one fused pass.
"""

from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from ._common import ACC_DTYPE, TL_DTYPE, f64, float_bits, tmax, tsum
from ._launch import Kernel, is_interpret, next_pow2, no_negative_strides, xp

__all__ = ["cross_entropy", "TUNING"]

if is_interpret():
    TUNING = {"single_max": 1 << 12, "block_c": 1 << 12, "num_warps": 4, "single_warps": 4}
else:
    TUNING = {"single_max": 16384, "block_c": 4096, "num_warps": 8, "single_warps": 16}
_FINISH_BLOCK = 1024


@triton.jit
def _denominator_kernel(target_ptr, weight_ptr, denom_ptr, n_rows, n_classes, ignore_index,
                        HAS_WEIGHT: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    # sum_i w[t_i] over rows whose target is kept (the count of kept rows without weights)
    total = tl.full([BLOCK], 0, ACC)
    for r0 in range(0, n_rows, BLOCK):
        rows = r0 + tl.arange(0, BLOCK)
        t = tl.load(target_ptr + rows, mask=rows < n_rows, other=ignore_index)
        kept = (t != ignore_index) & (t >= 0) & (t < n_classes)
        if HAS_WEIGHT:
            w = tl.load(weight_ptr + t, mask=kept, other=0).to(ACC)
        else:
            w = kept.to(ACC)
        total += tl.where(kept, w, 0)
    tl.store(denom_ptr, tsum(total, 0))


@triton.jit
def _load_chunk(x_row, t_row, weight_ptr, cols, mask, stride_col, stride_tcol, eps, C,
                ACC: tl.constexpr, PROBS: tl.constexpr, HAS_WEIGHT: tl.constexpr,
                SMOOTH: tl.constexpr):
    # logits (-inf past the row) and the weights v of the weighted sums (0 past the row):
    # v = w q' with probabilities, v = w with class indices
    x = tl.load(x_row + cols * stride_col, mask=mask, other=float("-inf")).to(ACC)
    if HAS_WEIGHT:
        v = tl.load(weight_ptr + cols, mask=mask, other=0).to(ACC)
    else:
        v = tl.where(mask, 1, 0).to(ACC)
    if PROBS:
        q = tl.load(t_row + cols * stride_tcol, mask=mask, other=0).to(ACC)
        if SMOOTH:
            q = tl.where(mask, q * (1 - eps) + eps / C, 0)
        v = v * q
    return x, v


@triton.jit
def _chunk_stats(m, s, v_sum, dev, x, v, mask, WEIGHTED: tl.constexpr):
    # Online over chunks, relative to the running max m (taken as 0 while it is -inf):
    # s = sum exp(x - m), v_sum = sum v, dev = sum v (x - m); s and dev move with m when it grows.
    # Sums of deviations keep the precision that lse - x loses when |x| is large.
    m_new = tl.maximum(m, tmax(x, 0))
    m_old = tl.where(m == float("-inf"), 0, m)
    m_safe = tl.where(m_new == float("-inf"), 0, m_new)
    # s is 0 while m is -inf; rescaling it by exp(0 - m_safe) would overflow (0 * inf = nan)
    # once every logit so far is below about -88 in float32
    s = tl.where(m == float("-inf"), 0, s * tl.exp(m_old - m_safe)) + tsum(tl.exp(x - m_safe), 0)
    if WEIGHTED:
        dev = dev - v_sum * (m_safe - m_old) + tsum(tl.where(mask, v * (x - m_safe), 0), 0)
        v_sum += tsum(v, 0)
    return m_new, s, v_sum, dev


@triton.jit
def _chunk_grad(x, v, cols, m, log_s, a, t, w_t, eps, C, scale,
                PROBS: tl.constexpr, SMOOTH: tl.constexpr):
    # d loss / d x_j = (p_j * a - b_j) * scale, p_j = exp(x_j - m - log s)
    p = tl.exp((x - m) - log_s)
    if PROBS:
        b = v
    else:
        b = tl.where(cols == t, (1 - eps) * w_t, 0)
        if SMOOTH:
            b += eps / C * v
    return (p * a - b) * scale


@triton.jit
def _cross_entropy_kernel(
    logits_ptr, target_ptr, weight_ptr, denom_ptr, loss_ptr, grad_ptr,
    n_rows, n_classes, stride_row, stride_col, stride_trow, stride_tcol,
    ignore_index, smoothing_bits,
    PROBS: tl.constexpr, HAS_WEIGHT: tl.constexpr, SMOOTH: tl.constexpr,
    MEAN: tl.constexpr, NEED_GRAD: tl.constexpr, SINGLE: tl.constexpr,
    ACC: tl.constexpr, BLOCK_C: tl.constexpr,
):
    row = tl.program_id(0).to(tl.int64)
    x_row = logits_ptr + row * stride_row
    t_row = target_ptr + row * stride_trow
    eps = tl.cast(f64(smoothing_bits), ACC)
    C = tl.cast(n_classes, ACC)
    if PROBS:
        t = 0
        keep = True
        if MEAN:
            scale = 1 / tl.cast(n_rows, ACC)
        else:
            scale = tl.full([], 1, ACC)
    else:
        t = tl.load(target_ptr + row)
        keep = t != ignore_index
        if MEAN:
            scale = tl.where(keep, 1 / tl.load(denom_ptr), 0)
        else:
            scale = tl.where(keep, 1, 0).to(ACC)

    # pass 1: max, sum of exp, and the weighted sums (W and sum w (x - m), or T and X - T m)
    m = tl.full([], float("-inf"), ACC)
    s = tl.full([], 0, ACC)
    v_sum = tl.full([], 0, ACC)
    dev = tl.full([], 0, ACC)
    if SINGLE:  # the whole row in registers: read once
        cols = tl.arange(0, BLOCK_C)
        mask = cols < n_classes
        x, v = _load_chunk(x_row, t_row, weight_ptr, cols, mask, stride_col, stride_tcol, eps,
                           C, ACC, PROBS, HAS_WEIGHT, SMOOTH)
        m, s, v_sum, dev = _chunk_stats(m, s, v_sum, dev, x, v, mask, PROBS or SMOOTH)
    else:
        for c0 in range(0, n_classes, BLOCK_C):
            cols = c0 + tl.arange(0, BLOCK_C)
            mask = cols < n_classes
            xc, vc = _load_chunk(x_row, t_row, weight_ptr, cols, mask, stride_col, stride_tcol,
                                 eps, C, ACC, PROBS, HAS_WEIGHT, SMOOTH)
            m, s, v_sum, dev = _chunk_stats(m, s, v_sum, dev, xc, vc, mask, PROBS or SMOOTH)
    m = tl.where(m == float("-inf"), 0, m)
    log_s = tl.log(s)  # lse = m + log_s

    if PROBS:
        loss = v_sum * log_s - dev  # T lse - X
        a = v_sum
        w_t = tl.full([], 0, ACC)
    else:
        valid = keep & (t >= 0) & (t < n_classes)  # the op layer checked: this guards memory
        t_safe = tl.where(valid, t, 0)
        x_t = tl.where(valid, tl.load(x_row + t_safe * stride_col).to(ACC), float("nan"))
        if HAS_WEIGHT:
            w_t = tl.load(weight_ptr + t_safe).to(ACC)
        else:
            w_t = tl.full([], 1, ACC)
        loss = (1 - eps) * w_t * ((m - x_t) + log_s)
        a = (1 - eps) * w_t
        if SMOOTH:
            loss += eps / C * (v_sum * log_s - dev)  # W lse - sum w x
            a += eps / C * v_sum
        loss = tl.where(keep, loss, 0)
    tl.store(loss_ptr + row, loss.to(loss_ptr.dtype.element_ty))

    # pass 2: the gradient of the logits
    if NEED_GRAD:
        g_row = grad_ptr + row * n_classes
        if SINGLE:
            g = _chunk_grad(x, v, cols, m, log_s, a, t, w_t, eps, C, scale, PROBS, SMOOTH)
            tl.store(g_row + cols, g.to(grad_ptr.dtype.element_ty), mask=mask)
        else:
            for c0 in range(0, n_classes, BLOCK_C):
                cols = c0 + tl.arange(0, BLOCK_C)
                mask = cols < n_classes
                xc, vc = _load_chunk(x_row, t_row, weight_ptr, cols, mask, stride_col,
                                     stride_tcol, eps, C, ACC, PROBS, HAS_WEIGHT, SMOOTH)
                g = _chunk_grad(xc, vc, cols, m, log_s, a, t, w_t, eps, C, scale, PROBS, SMOOTH)
                tl.store(g_row + cols, g.to(grad_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _finish_kernel(row_loss_ptr, denom_ptr, out_ptr, n_rows, MEAN: tl.constexpr,
                   PROBS: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr):
    # the sum of the row losses in a fixed order, then the mean's division
    total = tl.full([BLOCK], 0, ACC)
    for r0 in range(0, n_rows, BLOCK):
        rows = r0 + tl.arange(0, BLOCK)
        total += tl.load(row_loss_ptr + rows, mask=rows < n_rows, other=0)
    loss = tsum(total, 0)
    if MEAN:
        if PROBS:
            loss = loss / tl.cast(n_rows, ACC)
        else:
            loss = loss / tl.load(denom_ptr)  # 0/0 = nan when no row counts, as PyTorch
    tl.store(out_ptr, loss.to(out_ptr.dtype.element_ty))


_denominator = Kernel(_denominator_kernel)
_cross_entropy = Kernel(_cross_entropy_kernel)
_finish = Kernel(_finish_kernel)


def cross_entropy(logits, target, weight, ignore_index: int, label_smoothing: float,
                  reduction: str, need_grad: bool):
    """Softmax cross-entropy on ``logits`` (N, C); ``target`` (N,) int64 class indices or (N, C)
    probabilities; ``weight`` (C,) or None. Returns ``(loss, grad_logits or None)``."""
    logits = no_negative_strides(logits)
    n, c = logits.shape
    dtype = logits.dtype
    acc = ACC_DTYPE[dtype]
    tl_acc = TL_DTYPE[acc]
    probs = target.dtype.kind in "fV"  # float (or bfloat16) probabilities, not class indices
    if probs:
        target = no_negative_strides(target)
        stride_t = tuple(s // target.dtype.itemsize for s in target.strides)
    else:
        target = xp.ascontiguousarray(target)
        stride_t = (0, 0)
    if weight is not None:
        weight = xp.ascontiguousarray(weight)
    mean = reduction == "mean"
    grad = xp.empty((n, c), dtype) if need_grad else None
    row_loss = xp.empty(n, dtype if reduction == "none" else acc)
    denom = xp.empty((), acc) if mean and not probs else None
    if n == 0:
        return _empty_loss(reduction, dtype, row_loss), grad
    if denom is not None:
        _denominator((1,), target, weight, denom, n, c, ignore_index, weight is not None,
                     tl_acc, _FINISH_BLOCK, num_warps=4)
    single = c <= TUNING["single_max"]
    block_c = next_pow2(c) if single else TUNING["block_c"]
    warps = TUNING["single_warps"] if single and block_c >= 8192 else TUNING["num_warps"]
    stride_row, stride_col = (s // logits.dtype.itemsize for s in logits.strides)
    _cross_entropy((n,), logits, target, weight, denom, row_loss, grad, n, c, stride_row,
                   stride_col, *stride_t, ignore_index, float_bits(label_smoothing), probs,
                   weight is not None, label_smoothing > 0, mean, need_grad, single, tl_acc,
                   block_c, num_warps=warps)
    if reduction == "none":
        return row_loss, grad
    loss = xp.empty((), dtype)
    _finish((1,), row_loss, denom, loss, n, mean, probs, tl_acc, _FINISH_BLOCK, num_warps=4)
    return loss, grad


def _empty_loss(reduction, dtype, row_loss):
    if reduction == "none":
        return row_loss
    return xp.full((), np.nan if reduction == "mean" else 0, dtype)
