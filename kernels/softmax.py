"""softmax and log_softmax along one axis, forward and backward.

The input is addressed as (outer, K, inner) with K the softmax axis; a program owns BLOCK_O
(outer, inner) slices. When a slice fits in one tile (K <= BLOCK_K) it is read once and kept in
registers: 1 read + 1 write. Longer slices take an online pass that keeps a running max and a
running sum of exp(x - max) per lane (rescaled when the max grows), then a second pass that
writes: 2 reads + 1 write, the second read mostly from L2.

Forward, with m = max_k x_k and s = sum_k exp(x_k - m):
    softmax_k = exp(x_k - m) / s        log_softmax_k = (x_k - m) - log(s)
Backward, with y the forward's output and g the upstream gradient:
    softmax:     gx_k = y_k * (g_k - sum_j g_j y_j)
    log_softmax: gx_k = g_k - exp(y_k) * sum_j g_j
(from d softmax_k / d x_j = y_k (delta_kj - y_j), and d log_softmax_k / d x_j = delta_kj - y_j).
A NaN stays in its slice; a slice of all -inf gives NaN, as PyTorch.
"""

from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from ._common import ACC_DTYPE, TL_DTYPE, tmax, tsum
from ._launch import (
    Kernel,
    Tuning,
    cdiv,
    collapse,
    elem_strides,
    next_pow2,
    no_negative_strides,
    xp,
)

__all__ = ["softmax", "softmax_grad", "TUNING"]

# Longest slice kept in registers, tile size, step along K when streaming, warps.
TUNING = Tuning({"single_max": 8192, "tile": 4096, "block_k": 1024, "num_warps": 8},
                interpreted={"single_max": 1 << 12, "tile": 1 << 14, "block_k": 1 << 12,
                             "num_warps": 4})


@triton.jit
def _offsets(outs, ks, inner, stride_o, stride_i, stride_k):
    # int64: k * stride_k passes 2**31 in big tensors even when both fit in 32 bits
    base = (outs // inner) * stride_o + (outs % inner) * stride_i
    return base[None, :] + ks.to(tl.int64)[:, None] * stride_k


@triton.jit
def _softmax_kernel(
    x_ptr, out_ptr, n_out, inner, K,
    stride_xo, stride_xi, stride_xk,
    LOG: tl.constexpr, ACC: tl.constexpr, SINGLE: tl.constexpr,
    BLOCK_O: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)
    outs = pid * BLOCK_O + tl.arange(0, BLOCK_O)
    o_mask = outs < n_out
    out_o = tl.cast(K, tl.int64) * inner  # the output is contiguous (outer, K, inner)
    if SINGLE:
        ks = tl.arange(0, BLOCK_K)
        mask = (ks < K)[:, None] & o_mask[None, :]
        x = tl.load(x_ptr + _offsets(outs, ks, inner, stride_xo, stride_xi, stride_xk),
                    mask=mask, other=float("-inf")).to(ACC)
        shifted = x - tmax(x, 0)[None, :]
        e = tl.exp(shifted)
        s = tsum(e, 0)
        if LOG:
            y = shifted - tl.log(s)[None, :]
        else:
            y = e / s[None, :]
        tl.store(out_ptr + _offsets(outs, ks, inner, out_o, 1, inner),
                 y.to(out_ptr.dtype.element_ty), mask=mask)
    else:
        m = tl.full([BLOCK_K, BLOCK_O], float("-inf"), ACC)
        s = tl.full([BLOCK_K, BLOCK_O], 0, ACC)
        for k0 in range(0, K, BLOCK_K):
            ks = k0 + tl.arange(0, BLOCK_K)
            mask = (ks < K)[:, None] & o_mask[None, :]
            x = tl.load(x_ptr + _offsets(outs, ks, inner, stride_xo, stride_xi, stride_xk),
                        mask=mask, other=float("-inf")).to(ACC)
            m_new = tl.maximum(m, x)
            m_safe = tl.where(m_new == float("-inf"), 0, m_new)  # no -inf - -inf
            s = s * tl.exp(m - m_safe) + tl.exp(x - m_safe)
            m = m_new
        row_max = tmax(m, 0)
        safe = tl.where(row_max == float("-inf"), 0, row_max)
        total = tsum(s * tl.exp(m - safe[None, :]), 0)
        log_total = tl.log(total)
        for k0 in range(0, K, BLOCK_K):
            ks = k0 + tl.arange(0, BLOCK_K)
            mask = (ks < K)[:, None] & o_mask[None, :]
            x = tl.load(x_ptr + _offsets(outs, ks, inner, stride_xo, stride_xi, stride_xk),
                        mask=mask, other=float("-inf")).to(ACC)
            shifted = x - row_max[None, :]
            if LOG:
                y = shifted - log_total[None, :]
            else:
                y = tl.exp(shifted) / total[None, :]
            tl.store(out_ptr + _offsets(outs, ks, inner, out_o, 1, inner),
                     y.to(out_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _softmax_grad_kernel(
    g_ptr, y_ptr, out_ptr, n_out, inner, K,
    stride_go, stride_gi, stride_gk, stride_yo, stride_yi, stride_yk,
    LOG: tl.constexpr, ACC: tl.constexpr, SINGLE: tl.constexpr,
    BLOCK_O: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)
    outs = pid * BLOCK_O + tl.arange(0, BLOCK_O)
    o_mask = outs < n_out
    out_o = tl.cast(K, tl.int64) * inner
    if SINGLE:
        ks = tl.arange(0, BLOCK_K)
        mask = (ks < K)[:, None] & o_mask[None, :]
        g = tl.load(g_ptr + _offsets(outs, ks, inner, stride_go, stride_gi, stride_gk),
                    mask=mask, other=0).to(ACC)
        y = tl.load(y_ptr + _offsets(outs, ks, inner, stride_yo, stride_yi, stride_yk),
                    mask=mask, other=0).to(ACC)
        if LOG:
            gx = g - tl.exp(y) * tsum(g, 0)[None, :]
        else:
            gx = y * (g - tsum(g * y, 0)[None, :])
        tl.store(out_ptr + _offsets(outs, ks, inner, out_o, 1, inner),
                 gx.to(out_ptr.dtype.element_ty), mask=mask)
    else:
        acc = tl.full([BLOCK_K, BLOCK_O], 0, ACC)
        for k0 in range(0, K, BLOCK_K):
            ks = k0 + tl.arange(0, BLOCK_K)
            mask = (ks < K)[:, None] & o_mask[None, :]
            g = tl.load(g_ptr + _offsets(outs, ks, inner, stride_go, stride_gi, stride_gk),
                        mask=mask, other=0).to(ACC)
            if LOG:
                acc += g
            else:
                y = tl.load(y_ptr + _offsets(outs, ks, inner, stride_yo, stride_yi, stride_yk),
                            mask=mask, other=0).to(ACC)
                acc += g * y
        total = tsum(acc, 0)
        for k0 in range(0, K, BLOCK_K):
            ks = k0 + tl.arange(0, BLOCK_K)
            mask = (ks < K)[:, None] & o_mask[None, :]
            g = tl.load(g_ptr + _offsets(outs, ks, inner, stride_go, stride_gi, stride_gk),
                        mask=mask, other=0).to(ACC)
            y = tl.load(y_ptr + _offsets(outs, ks, inner, stride_yo, stride_yi, stride_yk),
                        mask=mask, other=0).to(ACC)
            if LOG:
                gx = g - tl.exp(y) * total[None, :]
            else:
                gx = y * (g - total[None, :])
            tl.store(out_ptr + _offsets(outs, ks, inner, out_o, 1, inner),
                     gx.to(out_ptr.dtype.element_ty), mask=mask)


_softmax = Kernel(_softmax_kernel)
_softmax_grad = Kernel(_softmax_grad_kernel)


def _axis_strides(arr, axis):
    """(stride_outer, stride_inner, stride_k) when the dims before and after ``axis`` each
    collapse to one stride; None otherwise."""
    shape, strides = arr.shape, elem_strides(arr)
    before, (sb,) = collapse(shape[:axis], [strides[:axis]])
    after, (sa,) = collapse(shape[axis + 1:], [strides[axis + 1:]])
    if len(before) > 1 or len(after) > 1:
        return None
    return (sb[0] if sb else 0, sa[0] if sa else 0, strides[axis])


def _prepared(arr, axis):
    arr = no_negative_strides(arr)
    st = _axis_strides(arr, axis)
    if st is None:
        arr = xp.ascontiguousarray(arr)
        st = _axis_strides(arr, axis)
    return arr, st


def _geometry(shape, axis):
    K = shape[axis]
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    n_out = int(np.prod(shape, dtype=np.int64)) // K
    single = K <= TUNING["single_max"]
    block_k = next_pow2(K) if single else TUNING["block_k"]
    tile = TUNING["tile"]
    block_o = min(max(1, tile // block_k), next_pow2(n_out))
    return K, inner, n_out, single, block_o, block_k


def softmax(x, axis: int, log: bool):
    """softmax (or log_softmax) of ``x`` along ``axis``; float16 computes in float32."""
    out = xp.empty(x.shape, x.dtype)
    if x.size == 0:
        return out
    x, st = _prepared(x, axis)
    K, inner, n_out, single, block_o, block_k = _geometry(x.shape, axis)
    _softmax((cdiv(n_out, block_o),), x, out, n_out, inner, K, *st, log,
             TL_DTYPE[ACC_DTYPE[x.dtype]], single, block_o, block_k,
             num_warps=TUNING["num_warps"])
    return out


def softmax_grad(grad, y, axis: int, log: bool):
    """Gradient of softmax (or log_softmax) given the upstream ``grad`` and the output ``y``."""
    out = xp.empty(grad.shape, grad.dtype)
    if grad.size == 0:
        return out
    grad, sg = _prepared(grad, axis)
    y, sy = _prepared(y, axis)
    K, inner, n_out, single, block_o, block_k = _geometry(grad.shape, axis)
    _softmax_grad((cdiv(n_out, block_o),), grad, y, out, n_out, inner, K, *sg, *sy, log,
                  TL_DTYPE[ACC_DTYPE[grad.dtype]], single, block_o, block_k,
                  num_warps=TUNING["num_warps"])
    return out
