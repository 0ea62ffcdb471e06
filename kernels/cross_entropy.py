"""Softmax cross-entropy: the loss and the gradient of the logits in one kernel, one row per
program, during forward. Two kernels, one per kind of target: class indices
(``_cross_entropy_index_kernel``) and probabilities (``_cross_entropy_probs_kernel``); an absent
weight, a sum instead of a mean, no gradient are ``None`` pointers, not flags.

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
from ._launch import Kernel, Tuning, next_pow2, no_negative_strides, xp

__all__ = ["cross_entropy", "cross_entropy_probs", "TUNING"]

TUNING = Tuning({"single_max": 16384, "block_c": 4096, "num_warps": 8, "single_warps": 16},
                interpreted={"single_max": 1 << 12, "num_warps": 4, "single_warps": 4})
_FINISH_BLOCK = 1024


@triton.jit
def _denominator_kernel(target_ptr, weight_ptr, denom_ptr, n_rows, n_classes, ignore_index,
                        ACC: tl.constexpr, BLOCK: tl.constexpr):
    # sum_i w[t_i] over rows whose target is kept (the count of kept rows without weights)
    total = tl.full([BLOCK], 0, ACC)
    for r0 in range(0, n_rows, BLOCK):
        rows = r0 + tl.arange(0, BLOCK)
        t = tl.load(target_ptr + rows, mask=rows < n_rows, other=ignore_index)
        kept = (t != ignore_index) & (t >= 0) & (t < n_classes)
        if weight_ptr is not None:
            w = tl.load(weight_ptr + t, mask=kept, other=0).to(ACC)
        else:
            w = kept.to(ACC)
        total += tl.where(kept, w, 0)
    tl.store(denom_ptr, tsum(total, 0))


@triton.jit
def _load_logits(x_row, cols, mask, stride_col, ACC: tl.constexpr):
    # -inf past the row: exp(-inf) = 0 adds nothing
    return tl.load(x_row + cols * stride_col, mask=mask, other=float("-inf")).to(ACC)


@triton.jit
def _class_weights(weight_ptr, cols, mask, ACC: tl.constexpr):
    # w_c (1 without weights), 0 past the row
    if weight_ptr is not None:
        v = tl.load(weight_ptr + cols, mask=mask, other=0).to(ACC)
    else:
        v = tl.where(mask, 1, 0).to(ACC)
    return v


@triton.jit
def _smoothed_target(t_row, weight_ptr, cols, mask, stride_tcol, eps, C, ACC: tl.constexpr,
                     SMOOTH: tl.constexpr):
    # v = w q' with q' = (1 - eps) q + eps / C (0 past the row)
    q = tl.load(t_row + cols * stride_tcol, mask=mask, other=0).to(ACC)
    if SMOOTH:
        q = tl.where(mask, q * (1 - eps) + eps / C, 0)
    return _class_weights(weight_ptr, cols, mask, ACC) * q


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
def _cross_entropy_index_kernel(
    logits_ptr, target_ptr, weight_ptr, denom_ptr, loss_ptr, grad_ptr,
    n_rows, n_classes, stride_row, stride_col, ignore_index, smoothing_bits,
    SMOOTH: tl.constexpr, SINGLE: tl.constexpr, ACC: tl.constexpr, BLOCK_C: tl.constexpr,
):
    # class index t per row; denom_ptr: the mean's sum of kept weights (None for a sum)
    row = tl.program_id(0).to(tl.int64)
    x_row = logits_ptr + row * stride_row
    eps = tl.cast(f64(smoothing_bits), ACC)
    C = tl.cast(n_classes, ACC)
    t = tl.load(target_ptr + row)
    keep = t != ignore_index
    if denom_ptr is not None:
        scale = tl.where(keep, 1 / tl.load(denom_ptr), 0)
    else:
        scale = tl.where(keep, 1, 0).to(ACC)

    # pass 1: max, sum of exp; with smoothing also W = sum w and sum w (x - m)
    m = tl.full([], float("-inf"), ACC)
    s = tl.full([], 0, ACC)
    v_sum = tl.full([], 0, ACC)
    dev = tl.full([], 0, ACC)
    if SINGLE:  # the whole row in registers: read once
        cols = tl.arange(0, BLOCK_C)
        mask = cols < n_classes
        x = _load_logits(x_row, cols, mask, stride_col, ACC)
        v = _class_weights(weight_ptr, cols, mask, ACC)
        m, s, v_sum, dev = _chunk_stats(m, s, v_sum, dev, x, v, mask, SMOOTH)
    else:
        for c0 in range(0, n_classes, BLOCK_C):
            cols = c0 + tl.arange(0, BLOCK_C)
            mask = cols < n_classes
            xc = _load_logits(x_row, cols, mask, stride_col, ACC)
            vc = _class_weights(weight_ptr, cols, mask, ACC)
            m, s, v_sum, dev = _chunk_stats(m, s, v_sum, dev, xc, vc, mask, SMOOTH)
    m = tl.where(m == float("-inf"), 0, m)
    log_s = tl.log(s)  # lse = m + log_s

    valid = keep & (t >= 0) & (t < n_classes)  # the op layer checked: this guards memory
    t_safe = tl.where(valid, t, 0)
    x_t = tl.where(valid, tl.load(x_row + t_safe * stride_col).to(ACC), float("nan"))
    if weight_ptr is not None:
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

    # pass 2: d loss / d x_j = (p_j * a - (1-eps) w_t [j == t] - eps/C w_j) * scale
    if grad_ptr is not None:
        g_row = grad_ptr + row * n_classes
        if SINGLE:
            b = tl.where(cols == t, (1 - eps) * w_t, 0)
            if SMOOTH:
                b += eps / C * v
            g = (tl.exp((x - m) - log_s) * a - b) * scale
            tl.store(g_row + cols, g.to(grad_ptr.dtype.element_ty), mask=mask)
        else:
            for c0 in range(0, n_classes, BLOCK_C):
                cols = c0 + tl.arange(0, BLOCK_C)
                mask = cols < n_classes
                xc = _load_logits(x_row, cols, mask, stride_col, ACC)
                b = tl.where(cols == t, (1 - eps) * w_t, 0)
                if SMOOTH:
                    b += eps / C * _class_weights(weight_ptr, cols, mask, ACC)
                g = (tl.exp((xc - m) - log_s) * a - b) * scale
                tl.store(g_row + cols, g.to(grad_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _cross_entropy_probs_kernel(
    logits_ptr, target_ptr, weight_ptr, loss_ptr, grad_ptr,
    n_rows, n_classes, stride_row, stride_col, stride_trow, stride_tcol, smoothing_bits,
    scale_bits,
    SMOOTH: tl.constexpr, SINGLE: tl.constexpr, ACC: tl.constexpr, BLOCK_C: tl.constexpr,
):
    # class probabilities q per row; scale: the mean's 1/N (1 for a sum) on the gradient
    row = tl.program_id(0).to(tl.int64)
    x_row = logits_ptr + row * stride_row
    t_row = target_ptr + row * stride_trow
    eps = tl.cast(f64(smoothing_bits), ACC)
    C = tl.cast(n_classes, ACC)
    scale = tl.cast(f64(scale_bits), ACC)

    # pass 1: max, sum of exp, T = sum w q' and X - T m = sum w q' (x - m)
    m = tl.full([], float("-inf"), ACC)
    s = tl.full([], 0, ACC)
    v_sum = tl.full([], 0, ACC)
    dev = tl.full([], 0, ACC)
    if SINGLE:  # the whole row in registers: read once
        cols = tl.arange(0, BLOCK_C)
        mask = cols < n_classes
        x = _load_logits(x_row, cols, mask, stride_col, ACC)
        v = _smoothed_target(t_row, weight_ptr, cols, mask, stride_tcol, eps, C, ACC, SMOOTH)
        m, s, v_sum, dev = _chunk_stats(m, s, v_sum, dev, x, v, mask, True)
    else:
        for c0 in range(0, n_classes, BLOCK_C):
            cols = c0 + tl.arange(0, BLOCK_C)
            mask = cols < n_classes
            xc = _load_logits(x_row, cols, mask, stride_col, ACC)
            vc = _smoothed_target(t_row, weight_ptr, cols, mask, stride_tcol, eps, C, ACC,
                                  SMOOTH)
            m, s, v_sum, dev = _chunk_stats(m, s, v_sum, dev, xc, vc, mask, True)
    m = tl.where(m == float("-inf"), 0, m)
    log_s = tl.log(s)  # lse = m + log_s
    loss = v_sum * log_s - dev  # T lse - X
    tl.store(loss_ptr + row, loss.to(loss_ptr.dtype.element_ty))

    # pass 2: d loss / d x_j = (p_j * T - w_j q'_j) * scale
    if grad_ptr is not None:
        g_row = grad_ptr + row * n_classes
        if SINGLE:
            g = (tl.exp((x - m) - log_s) * v_sum - v) * scale
            tl.store(g_row + cols, g.to(grad_ptr.dtype.element_ty), mask=mask)
        else:
            for c0 in range(0, n_classes, BLOCK_C):
                cols = c0 + tl.arange(0, BLOCK_C)
                mask = cols < n_classes
                xc = _load_logits(x_row, cols, mask, stride_col, ACC)
                vc = _smoothed_target(t_row, weight_ptr, cols, mask, stride_tcol, eps, C, ACC,
                                      SMOOTH)
                g = (tl.exp((xc - m) - log_s) * v_sum - vc) * scale
                tl.store(g_row + cols, g.to(grad_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _finish_kernel(row_loss_ptr, denom_ptr, out_ptr, n_rows, count, ACC: tl.constexpr,
                   BLOCK: tl.constexpr):
    # the sum of the row losses in a fixed order, over count (N for a mean of probabilities,
    # else 1), over the device denominator if there is one (a mean of class indices)
    total = tl.full([BLOCK], 0, ACC)
    for r0 in range(0, n_rows, BLOCK):
        rows = r0 + tl.arange(0, BLOCK)
        total += tl.load(row_loss_ptr + rows, mask=rows < n_rows, other=0)
    loss = tsum(total, 0) / tl.cast(count, ACC)
    if denom_ptr is not None:
        loss = loss / tl.load(denom_ptr)  # 0/0 = nan when no row counts, as PyTorch
    tl.store(out_ptr, loss.to(out_ptr.dtype.element_ty))


_denominator = Kernel(_denominator_kernel)
_cross_entropy_index = Kernel(_cross_entropy_index_kernel)
_cross_entropy_probs = Kernel(_cross_entropy_probs_kernel)
_finish = Kernel(_finish_kernel)


def _row_tiling(c: int):
    """Rows in registers (one read of the logits) or streamed in chunks: ``(single, block_c,
    num_warps)``."""
    single = c <= TUNING["single_max"]
    block_c = next_pow2(c) if single else TUNING["block_c"]
    warps = TUNING["single_warps"] if single and block_c >= 8192 else TUNING["num_warps"]
    return single, block_c, warps


def cross_entropy(logits, target, weight, ignore_index: int, label_smoothing: float,
                  reduction: str, need_grad: bool):
    """Softmax cross-entropy on ``logits`` (N, C) of class indices ``target`` (N,) int64;
    ``weight`` (C,) or None. Returns ``(loss, grad_logits or None)``."""
    logits = no_negative_strides(logits)
    n, c = logits.shape
    dtype = logits.dtype
    acc = ACC_DTYPE[dtype]
    tl_acc = TL_DTYPE[acc]
    target = xp.ascontiguousarray(target)
    if weight is not None:
        weight = xp.ascontiguousarray(weight)
    grad = xp.empty((n, c), dtype) if need_grad else None
    row_loss = xp.empty(n, dtype if reduction == "none" else acc)
    denom = xp.empty((), acc) if reduction == "mean" else None
    if n == 0:
        return _empty_loss(reduction, dtype, row_loss), grad
    if denom is not None:
        _denominator((1,), target, weight, denom, n, c, ignore_index, tl_acc, _FINISH_BLOCK,
                     num_warps=4)
    single, block_c, warps = _row_tiling(c)
    stride_row, stride_col = (s // logits.dtype.itemsize for s in logits.strides)
    _cross_entropy_index((n,), logits, target, weight, denom, row_loss, grad, n, c, stride_row,
                         stride_col, ignore_index, float_bits(label_smoothing),
                         label_smoothing > 0, single, tl_acc, block_c, num_warps=warps)
    return _total(row_loss, denom, 1, reduction, dtype, tl_acc), grad


def cross_entropy_probs(logits, target, weight, label_smoothing: float, reduction: str,
                        need_grad: bool):
    """Softmax cross-entropy on ``logits`` (N, C) of class probabilities ``target`` (N, C), the
    logits' dtype; ``weight`` (C,) or None. Returns ``(loss, grad_logits or None)``."""
    logits = no_negative_strides(logits)
    target = no_negative_strides(target)
    n, c = logits.shape
    dtype = logits.dtype
    acc = ACC_DTYPE[dtype]
    tl_acc = TL_DTYPE[acc]
    if weight is not None:
        weight = xp.ascontiguousarray(weight)
    grad = xp.empty((n, c), dtype) if need_grad else None
    row_loss = xp.empty(n, dtype if reduction == "none" else acc)
    if n == 0:
        return _empty_loss(reduction, dtype, row_loss), grad
    mean = reduction == "mean"
    single, block_c, warps = _row_tiling(c)
    stride_row, stride_col = (s // logits.dtype.itemsize for s in logits.strides)
    stride_trow, stride_tcol = (s // target.dtype.itemsize for s in target.strides)
    _cross_entropy_probs((n,), logits, target, weight, row_loss, grad, n, c, stride_row,
                         stride_col, stride_trow, stride_tcol, float_bits(label_smoothing),
                         float_bits(1.0 / n if mean else 1.0), label_smoothing > 0, single,
                         tl_acc, block_c, num_warps=warps)
    return _total(row_loss, None, n if mean else 1, reduction, dtype, tl_acc), grad


def _total(row_loss, denom, count: int, reduction: str, dtype, tl_acc):
    """The row losses as they are (``none``), or summed over ``count`` (and ``denom``)."""
    if reduction == "none":
        return row_loss
    loss = xp.empty((), dtype)
    _finish((1,), row_loss, denom, loss, row_loss.size, count, tl_acc, _FINISH_BLOCK,
            num_warps=4)
    return loss


def _empty_loss(reduction, dtype, row_loss):
    if reduction == "none":
        return row_loss
    return xp.full((), np.nan if reduction == "mean" else 0, dtype)
