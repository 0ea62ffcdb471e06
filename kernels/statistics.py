"""Reductions that keep more than one running value: max/min with their indices, the variance
(mean, then squared deviations) and logsumexp (max, then the shifted sum of exponentials).

They share the planning of ``reduction.py``: the input addressed as out[o] over k, a program
owning BLOCK_O outputs and walking K with a [BLOCK_K, BLOCK_O] tile of per-lane accumulators.
Traffic: the input is read once for max/min with indices, twice for var and logsumexp (the
second pass mostly from L2), and the outputs written once.
"""

from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from ._common import (
    ACC_DTYPE,
    argmax_combine,
    argmin_combine,
    f64,
    fdiv,
    float_bits,
    nan_max,
    tmax,
    tsum,
)
from ._launch import Kernel, cdiv, no_negative_strides, xp
from .reduction import (
    TUNING,
    axes_of,
    blocks,
    contiguous_plan,
    kept_shape,
    plan_for,
    tile_offsets,
    tl_dtype,
)

__all__ = ["arg_reduce", "var", "logsumexp"]

_INT64 = np.dtype(np.int64)


@triton.jit
def _arg_reduce_kernel(
    x_ptr, values_ptr, index_ptr, n_out, inner, K,
    stride_o, stride_i, stride_k,
    IS_MAX: tl.constexpr, FILL: tl.constexpr, CMP: tl.constexpr, BLOCK_O: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    # Compared in CMP: float32 for the half types (exact; the interpreter holds bfloat16 as raw
    # bits, which compare wrong), the storage dtype otherwise.
    pid = tl.program_id(0).to(tl.int64)
    outs = pid * BLOCK_O + tl.arange(0, BLOCK_O)
    o_mask = outs < n_out
    best = tl.full([BLOCK_K, BLOCK_O], FILL, CMP)
    best_k = tl.full([BLOCK_K, BLOCK_O], K, tl.int64)  # past every real index: real ones win ties
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K).to(tl.int64)
        mask = (ks < K)[:, None] & o_mask[None, :]
        offs = tile_offsets(outs, ks, inner, stride_o, stride_i, stride_k)
        x = tl.load(x_ptr + offs, mask=mask, other=FILL).to(CMP)
        k_tile = tl.broadcast_to(ks[:, None], [BLOCK_K, BLOCK_O])
        if IS_MAX:
            best, best_k = argmax_combine(best, best_k, x, k_tile)
        else:
            best, best_k = argmin_combine(best, best_k, x, k_tile)
    if IS_MAX:
        value, index = tl.reduce((best, best_k), 0, argmax_combine)
    else:
        value, index = tl.reduce((best, best_k), 0, argmin_combine)
    tl.store(values_ptr + outs, value.to(values_ptr.dtype.element_ty), mask=o_mask)
    tl.store(index_ptr + outs, index, mask=o_mask)


@triton.jit
def _var_kernel(
    x_ptr, out_ptr, n_out, inner, K, dof_bits,
    stride_o, stride_i, stride_k,
    ACC: tl.constexpr, BLOCK_O: tl.constexpr, BLOCK_K: tl.constexpr,
):
    # Two passes: the mean, then the sum of squared deviations from it (no cancellation, unlike
    # E[x^2] - E[x]^2). var = sum((x - mean)^2) / max(K - correction, 0).
    pid = tl.program_id(0).to(tl.int64)
    outs = pid * BLOCK_O + tl.arange(0, BLOCK_O)
    o_mask = outs < n_out
    total = tl.full([BLOCK_K, BLOCK_O], 0, ACC)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        mask = (ks < K)[:, None] & o_mask[None, :]
        offs = tile_offsets(outs, ks, inner, stride_o, stride_i, stride_k)
        total += tl.load(x_ptr + offs, mask=mask, other=0).to(ACC)
    mean = fdiv(tsum(total, 0), tl.cast(K, ACC))
    squares = tl.full([BLOCK_K, BLOCK_O], 0, ACC)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        mask = (ks < K)[:, None] & o_mask[None, :]
        offs = tile_offsets(outs, ks, inner, stride_o, stride_i, stride_k)
        d = tl.load(x_ptr + offs, mask=mask, other=0).to(ACC) - mean[None, :]
        squares += tl.where(mask, d * d, 0)
    dof = tl.cast(f64(dof_bits), ACC)
    result = fdiv(tsum(squares, 0), tl.full([BLOCK_O], 1, ACC) * dof)
    tl.store(out_ptr + outs, result.to(out_ptr.dtype.element_ty), mask=o_mask)


@triton.jit
def _logsumexp_kernel(
    x_ptr, out_ptr, n_out, inner, K,
    stride_o, stride_i, stride_k,
    ACC: tl.constexpr, BLOCK_O: tl.constexpr, BLOCK_K: tl.constexpr,
):
    # Two passes: m = max (0 where not finite, so all -inf gives -inf and +inf gives +inf),
    # then log(sum(exp(x - m))) + m, which cannot overflow.
    pid = tl.program_id(0).to(tl.int64)
    outs = pid * BLOCK_O + tl.arange(0, BLOCK_O)
    o_mask = outs < n_out
    top = tl.full([BLOCK_K, BLOCK_O], float("-inf"), ACC)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        mask = (ks < K)[:, None] & o_mask[None, :]
        offs = tile_offsets(outs, ks, inner, stride_o, stride_i, stride_k)
        top = nan_max(top, tl.load(x_ptr + offs, mask=mask, other=float("-inf")).to(ACC))
    m = tmax(top, 0)  # a NaN is ignored here and spreads through the sum below
    m = tl.where(tl.abs(m) < float("inf"), m, 0)
    total = tl.full([BLOCK_K, BLOCK_O], 0, ACC)
    for k0 in range(0, K, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        mask = (ks < K)[:, None] & o_mask[None, :]
        offs = tile_offsets(outs, ks, inner, stride_o, stride_i, stride_k)
        x = tl.load(x_ptr + offs, mask=mask, other=float("-inf")).to(ACC)
        total += tl.exp(x - m[None, :])
    result = tl.log(tsum(total, 0)) + m
    tl.store(out_ptr + outs, result.to(out_ptr.dtype.element_ty), mask=o_mask)


_arg_reduce = Kernel(_arg_reduce_kernel)
_var = Kernel(_var_kernel)
_logsumexp = Kernel(_logsumexp_kernel)


def arg_reduce(op: str, x, axis: int, keepdim: bool):
    """Values and int64 indices of the max (``op='max'``) or min along ``axis``; the first
    occurrence wins ties, and a NaN wins over numbers."""
    x = no_negative_strides(x)
    out_shape = kept_shape(x.shape, (axis,), keepdim)
    values = xp.empty(out_shape, x.dtype)
    index = xp.empty(out_shape, _INT64)
    if values.size == 0:
        return values, index
    plan = plan_for(x, (axis,))
    if plan is None:
        x, plan = contiguous_plan(x, (axis,))
    is_max = op == "max"
    if x.dtype.kind in "fV":  # V: bfloat16
        fill = float("-inf") if is_max else float("inf")
    else:
        info = np.iinfo(x.dtype)
        fill = int(info.min if is_max else info.max)
    block_o, block_k = blocks(plan)
    _arg_reduce((cdiv(plan.n_out, block_o),), x, values, index, plan.n_out, plan.inner, plan.K,
                *plan.args(), is_max, fill, tl_dtype(ACC_DTYPE.get(x.dtype, x.dtype)), block_o,
                block_k, num_warps=TUNING["num_warps"])
    return values, index


def var(x, axes, correction: float, keepdim: bool):
    """Variance over ``axes`` with ``correction``: inf or nan where correction >= count."""
    x = no_negative_strides(x)
    axes = axes_of(x, axes)
    out_shape = kept_shape(x.shape, axes, keepdim)
    count = math.prod(x.shape[i] for i in axes)
    if count == 0 or x.size == 0:
        return xp.full(out_shape, math.nan, x.dtype)
    out = xp.empty(out_shape, x.dtype)
    plan = plan_for(x, axes)
    if plan is None:
        x, plan = contiguous_plan(x, axes)
    block_o, block_k = blocks(plan)
    dof = max(count - correction, 0)
    _var((cdiv(plan.n_out, block_o),), x, out, plan.n_out, plan.inner, plan.K, float_bits(dof),
         *plan.args(), tl_dtype(ACC_DTYPE[x.dtype]), block_o, block_k,
         num_warps=TUNING["num_warps"])
    return out


def logsumexp(x, axes, keepdim: bool):
    """log(sum(exp(x))) over ``axes``, shifted by the max; -inf for an all -inf (or empty)
    slice."""
    x = no_negative_strides(x)
    axes = axes_of(x, axes)
    out_shape = kept_shape(x.shape, axes, keepdim)
    if x.size == 0:
        return xp.full(out_shape, -math.inf, x.dtype)
    out = xp.empty(out_shape, x.dtype)
    plan = plan_for(x, axes)
    if plan is None:
        x, plan = contiguous_plan(x, axes)
    block_o, block_k = blocks(plan)
    _logsumexp((cdiv(plan.n_out, block_o),), x, out, plan.n_out, plan.inner, plan.K,
               *plan.args(), tl_dtype(ACC_DTYPE[x.dtype]), block_o, block_k,
               num_warps=TUNING["num_warps"])
    return out
