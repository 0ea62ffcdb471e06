"""Reductions over any dims: sum, mean, prod, amax, amin, all, any, max/min with indices, var,
logsumexp, and ``sum_to_shape`` (the engine's reduction of broadcast gradients).

Every reduction is planned as ``out[o] = reduce_k x[o // inner * stride_o + o % inner * stride_i
+ k * stride_k]``: the kept dims collapse to at most two (outer, inner), the reduced dims to one
(K). That covers a reduction over the last dims (rows), over the first dims (columns, e.g. a
bias gradient), and over a middle run (outer, K, inner) with no copy and any strides. Reduced
dims that do not collapse to one (e.g. dims 0, 2, 3 of NCHW) are reduced run by run for the
associative ops; var and logsumexp copy such inputs to a contiguous layout first.

A program owns BLOCK_O outputs and walks K in steps of BLOCK_K with a [BLOCK_K, BLOCK_O] tile of
per-lane accumulators (float32 for float16), reduced across lanes once at the end. When there
are too few outputs to fill the GPU, K is split over programs that write partial results, and a
second launch of the same kernel reduces the partials (no atomics: results are deterministic).

Traffic model: x is read once (var and logsumexp: twice, the second pass mostly from L2), the
output written once; split partials add ``splits * outputs`` accumulator writes and reads.
"""

from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from ._common import (
    ACC_DTYPE,
    fdiv,
    mul,
    nan_max,
    nan_min,
    nan_tmax,
    nan_tmin,
    tsum,
)
from ._launch import (
    FLOAT_DTYPES,
    Kernel,
    Tuning,
    cdiv,
    collapse,
    elem_strides,
    next_pow2,
    no_negative_strides,
    num_sms,
    xp,
)

__all__ = ["reduce", "sum_to_shape", "total", "supports_reduce", "plan_for", "Plan",
           "TUNING"]

# Elements per tile, widest step along K, warps; bench/gpu_kernels.py sweeps these on a GPU.
# Interpreted, each program costs far more than its width, so tiles are wide.
TUNING = Tuning({"tile": 4096, "num_warps": 8, "max_block_k_contiguous": 1024,
                 "max_block_k_strided": 32, "programs_per_sm": 4},
                interpreted={"tile": 1 << 14, "num_warps": 4, "max_block_k_contiguous": 1 << 12,
                             "max_block_k_strided": 1 << 12})

_OPS = ("sum", "mean", "prod", "amax", "amin", "all", "any")
_SUM, _MEAN, _PROD, _AMAX, _AMIN, _ALL, _ANY = range(7)
_INT64 = np.dtype(np.int64)


@triton.jit
def tile_offsets(outs, ks, inner, stride_o, stride_i, stride_k):
    # int64: k * stride_k passes 2**31 in big tensors even when both fit in 32 bits
    base = (outs // inner) * stride_o + (outs % inner) * stride_i
    return base[None, :] + ks.to(tl.int64)[:, None] * stride_k


@triton.jit
def _reduce_kernel(
    x_ptr, out_ptr, n_out, inner, K, k_per_split, count,
    stride_o, stride_i, stride_k,
    OP: tl.constexpr, FILL: tl.constexpr, ACC: tl.constexpr,
    BLOCK_O: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_o = tl.program_id(0).to(tl.int64)
    pid_s = tl.program_id(1).to(tl.int64)
    outs = pid_o * BLOCK_O + tl.arange(0, BLOCK_O)
    o_mask = outs < n_out
    k_lo = pid_s * k_per_split
    k_hi = tl.minimum(K, k_lo + k_per_split)
    acc = tl.full([BLOCK_K, BLOCK_O], FILL, ACC)
    for k0 in range(k_lo, k_hi, BLOCK_K):
        ks = k0 + tl.arange(0, BLOCK_K)
        mask = (ks < k_hi)[:, None] & o_mask[None, :]
        offs = tile_offsets(outs, ks, inner, stride_o, stride_i, stride_k)
        x = tl.load(x_ptr + offs, mask=mask, other=FILL)
        if OP == 5 or OP == 6:  # all / any: truth values
            x = (x != 0).to(ACC)
        else:
            x = x.to(ACC)
        if OP == 0 or OP == 1:
            acc = acc + x
        elif OP == 2:
            acc = acc * x
        elif OP == 3 or OP == 6:
            acc = nan_max(acc, x)
        else:
            acc = nan_min(acc, x)
    if OP == 0 or OP == 1:
        result = tsum(acc, 0)
    elif OP == 2:
        result = tl.reduce(acc, 0, mul)
    elif OP == 3 or OP == 6:
        result = nan_tmax(acc, 0)
    else:
        result = nan_tmin(acc, 0)
    if OP == 1:
        result = fdiv(result, tl.cast(count, ACC))
    tl.store(out_ptr + pid_s * n_out + outs, result.to(out_ptr.dtype.element_ty), mask=o_mask)


_reduce = Kernel(_reduce_kernel)


# ---------------------------------------------------------------------------------- planning
class Plan:
    """x addressed as out[o] over k: o -> (o // inner, o % inner), strides for each."""

    __slots__ = ("n_out", "inner", "K", "stride_o", "stride_i", "stride_k")

    def __init__(self, n_out, inner, K, stride_o, stride_i, stride_k):
        self.n_out, self.inner, self.K = n_out, inner, K
        self.stride_o, self.stride_i, self.stride_k = stride_o, stride_i, stride_k

    def args(self):
        return self.stride_o, self.stride_i, self.stride_k


def plan_for(x, axes):
    """The plan for reducing ``axes`` of ``x``, or None when the reduced (or kept) dims do not
    collapse to one (two) strides."""
    shape, strides = x.shape, elem_strides(x)
    kept = [i for i in range(x.ndim) if i not in axes and shape[i] != 1]
    red = [i for i in axes if shape[i] != 1]
    kshape, (kst,) = collapse([shape[i] for i in kept], [[strides[i] for i in kept]])
    rshape, (rst,) = collapse([shape[i] for i in red], [[strides[i] for i in red]])
    if len(kshape) > 2 or len(rshape) > 1:
        return None
    K, stride_k = (rshape[0], rst[0]) if rshape else (1, 0)
    if len(kshape) == 2:
        return Plan(kshape[0] * kshape[1], kshape[1], K, kst[0], kst[1], stride_k)
    if len(kshape) == 1:
        return Plan(kshape[0], 1, K, kst[0], 0, stride_k)
    return Plan(1, 1, K, 0, 0, stride_k)


def contiguous_plan(x, axes):
    """Copy ``x`` with the kept dims first and the reduced dims last, contiguous."""
    kept = [i for i in range(x.ndim) if i not in axes]
    moved = xp.ascontiguousarray(x.transpose(kept + list(axes)))
    return moved, plan_for(moved, tuple(range(len(kept), x.ndim)))


def blocks(plan):
    """(BLOCK_O, BLOCK_K): along K up to a wide vector when K is contiguous, else a few rows of
    contiguous outputs; filling the tile with outputs when K is short."""
    tile = TUNING["tile"]
    cap = TUNING["max_block_k_contiguous"] if plan.stride_k == 1 else TUNING["max_block_k_strided"]
    block_k = min(next_pow2(plan.K), cap)
    block_o = min(max(1, tile // block_k), next_pow2(plan.n_out))
    return block_o, block_k


def axes_of(x, axes):
    return tuple(range(x.ndim)) if axes is None else tuple(axes)


def kept_shape(shape, axes, keepdim):
    if keepdim:
        return tuple(1 if i in axes else n for i, n in enumerate(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def _out_dtype(op, dtype):
    if op in ("all", "any"):
        return np.dtype(np.bool_)
    if op in ("sum", "prod") and dtype.kind in "biu":
        return _INT64
    return dtype


def _acc_dtype(op, dtype):
    if op in ("all", "any"):
        return np.dtype(np.int32)
    if dtype in ACC_DTYPE:
        return ACC_DTYPE[dtype]
    return _INT64 if op in ("sum", "prod") else dtype


def _fill(op, acc):
    # Float fills for float accumulators: the interpreter casts an int fill to bfloat16 as raw
    # bits (1 would load as a tiny subnormal), a float one by value.
    floating = acc.kind == "f"
    if op in ("sum", "mean", "any"):
        return 0.0 if floating and op != "any" else 0
    if op in ("prod", "all"):
        return 1.0 if floating and op != "all" else 1
    if floating:
        return float("-inf") if op == "amax" else float("inf")
    info = np.iinfo(acc)
    return int(info.min if op == "amax" else info.max)


def supports_reduce(op: str, x) -> bool:
    return op in _OPS and (x.dtype in FLOAT_DTYPES or (x.dtype.kind in "biu" and op != "mean"))


def _run_reduce(op, x, plan, out, count):
    """One planned reduction into the flat ``out`` (n_out elements), splitting K if needed."""
    acc = _acc_dtype(op, x.dtype)
    tl_acc = tl_dtype(acc)
    fill = _fill(op, acc)
    code = _OPS.index(op)
    block_o, block_k = blocks(plan)
    n_blocks = cdiv(plan.n_out, block_o)
    target = TUNING["programs_per_sm"] * num_sms()
    splits = 1
    if n_blocks < target and plan.K > 4 * block_k:
        splits = min(cdiv(target, n_blocks), cdiv(plan.K, 2 * block_k))
    k_per_split = cdiv(cdiv(plan.K, splits), block_k) * block_k
    splits = cdiv(plan.K, k_per_split)
    warps = TUNING["num_warps"]
    if splits == 1:
        _reduce((n_blocks, 1), x, out, plan.n_out, plan.inner, plan.K, plan.K, count,
                *plan.args(), code, fill, tl_acc, block_o, block_k, num_warps=warps)
        return
    partial = xp.empty((splits, plan.n_out), acc)
    first = {"mean": "sum"}.get(op, op)
    _reduce((n_blocks, splits), x, partial, plan.n_out, plan.inner, plan.K, k_per_split, count,
            *plan.args(), _OPS.index(first), fill, tl_acc, block_o, block_k, num_warps=warps)
    merge = Plan(plan.n_out, 1, splits, 1, 0, plan.n_out)
    second = {"all": "amin", "any": "amax"}.get(op, op)  # partials are already 0/1
    block_o, block_k = blocks(merge)
    _reduce((cdiv(plan.n_out, block_o), 1), partial, out, plan.n_out, 1, splits, splits, count,
            *merge.args(), _OPS.index(second), _fill(second, acc), tl_acc, block_o, block_k,
            num_warps=warps)


def tl_dtype(dtype):
    from ._common import TL_DTYPE

    return TL_DTYPE[np.dtype(dtype)]


# --------------------------------------------------------------------------------- launchers
def reduce(op: str, x, axes, keepdim: bool):
    """``op`` in sum, mean, prod, amax, amin, all, any over ``axes`` (None: all)."""
    x = no_negative_strides(x)
    if x.dtype.kind == "b" and op in ("amax", "amin"):
        op = "any" if op == "amax" else "all"
    axes = axes_of(x, axes)
    out_shape = kept_shape(x.shape, axes, keepdim)
    dtype = _out_dtype(op, x.dtype)
    count = math.prod(x.shape[i] for i in axes)
    if count == 0 or x.size == 0:
        empty = {"sum": 0, "mean": math.nan, "prod": 1, "all": True, "any": False}
        return xp.full(out_shape, empty.get(op, 0), dtype)
    out = xp.empty(out_shape, dtype)
    plan = plan_for(x, axes)
    if plan is not None:
        _run_reduce(op, x, plan, out, count)
        return out
    # reduce one run of adjacent dims at a time, innermost first; intermediates keep their dims
    # and the accumulation dtype (a mean sums until the last stage divides by the full count)
    runs = _runs(axes)
    staged = x
    for i, run in enumerate(reversed(runs)):
        if i == len(runs) - 1:
            stage_op, target = op, out
        else:
            stage_op = "sum" if op == "mean" else op
            inter = _acc_dtype(op, x.dtype) if op in ("sum", "mean", "prod") else dtype
            target = xp.empty(kept_shape(staged.shape, run, True), inter)
        stage_plan = plan_for(staged, run)
        if stage_plan is None:
            staged, stage_plan = contiguous_plan(staged, run)
        _run_reduce(stage_op, staged, stage_plan, target, count)
        staged = target
    return out


def _runs(axes):
    runs, run = [], [axes[0]]
    for a in axes[1:]:
        if a == run[-1] + 1:
            run.append(a)
        else:
            runs.append(tuple(run))
            run = [a]
    runs.append(tuple(run))
    return runs


def total(partials, count: int | None, dtype):
    """The sum of a 1-d array of partial sums (divided by ``count`` for a mean; nan if it is
    0), as a 0-d array of ``dtype``."""
    out = xp.empty((), dtype)
    if count == 0 or partials.size == 0:
        out[...] = math.nan if count is not None else 0
        return out
    op = "sum" if count is None else "mean"
    _run_reduce(op, partials, Plan(1, 1, partials.size, 0, 0, 1), out, count or 1)
    return out


def sum_to_shape(grad, shape):
    """Sum a broadcast gradient back to ``shape`` (the inverse of broadcasting)."""
    shape = tuple(shape)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
    )
    if not axes:
        return grad.reshape(shape)
    return reduce("sum", grad, axes, True).reshape(shape)
