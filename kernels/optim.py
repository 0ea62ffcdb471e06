"""Optimizer steps: one launch updates every parameter of a param group (SGD, Adam, AdamW).

Multi-tensor launch: a small int64 table on the device holds, per tensor, the addresses of the
parameter, its gradient and its state buffers, its element count and its first block; a block
map (int32, one entry per BLOCK elements of every tensor) tells each program which tensor it
works on. A program loads its tensor's addresses from the table, casts them to pointers and
updates BLOCK elements in place. So a group of any number of tensors is one launch, with no
copy into a flat buffer and no ownership of the parameters' memory.

The block map depends only on the tensors' sizes and is built once per group layout; the
address table is cached by the addresses themselves (CuPy's pool hands the same addresses to
the gradients of each step, so a training loop uploads it once). Tensors of different dtypes
go in separate launches.

Traffic per element: SGD reads p, g (and the momentum buffer) and writes p (and the buffer);
Adam reads p, g, m, v (and v_max) and writes p, m, v (and v_max): the minimum for the update.
Arithmetic in float32 for float16 tensors (float64 stays float64); hyperparameters travel as
float64 bits. The math is PyTorch's, operation for operation, as in the NumPy twins.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import triton
import triton.language as tl

from ._common import ACC_DTYPE, TL_DTYPE, f64, float_bits
from ._launch import FLOAT_DTYPES, Kernel, Tuning, cdiv, xp

__all__ = ["sgd_step", "adam_step", "supported", "TUNING"]

TUNING = Tuning({"block": 1024, "num_warps": 4}, interpreted={"block": 1 << 14})
_COLUMNS = 7  # per tensor: param, grad, state0, state1, state2, numel, first block


@triton.jit
def _locate(table_ptr, block_map_ptr, BLOCK: tl.constexpr):
    """This program's tensor row in the table, and its element offsets and mask."""
    pid = tl.program_id(0)
    row = table_ptr + tl.load(block_map_ptr + pid).to(tl.int64) * 7
    numel = tl.load(row + 5)
    offs = (pid - tl.load(row + 6)) * BLOCK + tl.arange(0, BLOCK).to(tl.int64)
    return row, offs, offs < numel


@triton.jit
def _pointer(row, column, DTYPE: tl.constexpr):
    return tl.load(row + column).to(tl.pointer_type(DTYPE))


@triton.jit
def _sgd_kernel(
    table_ptr, block_map_ptr, lr_bits, momentum_bits, dampening_bits, weight_decay_bits,
    HAS_MOMENTUM: tl.constexpr, FIRST: tl.constexpr, NESTEROV: tl.constexpr,
    HAS_WEIGHT_DECAY: tl.constexpr, MAXIMIZE: tl.constexpr,
    DTYPE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr,
):
    # d = (-)g (+ wd * p); buf = d on the first step, else momentum * buf + (1 - dampening) * d;
    # d = d + momentum * buf (nesterov) or buf; p -= lr * d
    row, offs, mask = _locate(table_ptr, block_map_ptr, BLOCK)
    p_ptr = _pointer(row, 0, DTYPE)
    p = tl.load(p_ptr + offs, mask=mask).to(ACC)
    d = tl.load(_pointer(row, 1, DTYPE) + offs, mask=mask).to(ACC)
    if MAXIMIZE:
        d = -d
    if HAS_WEIGHT_DECAY:
        d = d + tl.cast(f64(weight_decay_bits), ACC) * p
    if HAS_MOMENTUM:
        momentum = tl.cast(f64(momentum_bits), ACC)
        buf_ptr = _pointer(row, 2, DTYPE)
        if FIRST:
            buf = d
        else:
            buf = tl.load(buf_ptr + offs, mask=mask).to(ACC)
            buf = buf * momentum + (1 - tl.cast(f64(dampening_bits), ACC)) * d
        tl.store(buf_ptr + offs, buf.to(DTYPE), mask=mask)
        if NESTEROV:
            d = d + momentum * buf
        else:
            d = buf
    p = p - tl.cast(f64(lr_bits), ACC) * d
    tl.store(p_ptr + offs, p.to(DTYPE), mask=mask)


@triton.jit
def _adam_kernel(
    table_ptr, block_map_ptr, lr_bits, beta1_bits, beta2_bits, eps_bits, weight_decay_bits,
    step_size_bits, bias_correction2_sqrt_bits,
    AMSGRAD: tl.constexpr, MAXIMIZE: tl.constexpr, HAS_WEIGHT_DECAY: tl.constexpr,
    DECOUPLED: tl.constexpr, DTYPE: tl.constexpr, ACC: tl.constexpr, BLOCK: tl.constexpr,
):
    # g = (-)g; AdamW: p *= 1 - lr * wd, Adam: g += wd * p
    # m += (1 - beta1) (g - m);  v = beta2 v + (1 - beta2) g^2;  amsgrad: v = v_max = max(v_max, v)
    # p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    row, offs, mask = _locate(table_ptr, block_map_ptr, BLOCK)
    p_ptr = _pointer(row, 0, DTYPE)
    m_ptr = _pointer(row, 2, DTYPE)
    v_ptr = _pointer(row, 3, DTYPE)
    p = tl.load(p_ptr + offs, mask=mask).to(ACC)
    g = tl.load(_pointer(row, 1, DTYPE) + offs, mask=mask).to(ACC)
    m = tl.load(m_ptr + offs, mask=mask).to(ACC)
    v = tl.load(v_ptr + offs, mask=mask).to(ACC)
    lr = tl.cast(f64(lr_bits), ACC)
    beta1 = tl.cast(f64(beta1_bits), ACC)
    beta2 = tl.cast(f64(beta2_bits), ACC)
    if MAXIMIZE:
        g = -g
    if HAS_WEIGHT_DECAY:
        weight_decay = tl.cast(f64(weight_decay_bits), ACC)
        if DECOUPLED:
            p = p * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * p
    m = m + (1 - beta1) * (g - m)
    v = v * beta2 + (1 - beta2) * (g * g)
    tl.store(m_ptr + offs, m.to(DTYPE), mask=mask)
    tl.store(v_ptr + offs, v.to(DTYPE), mask=mask)
    if AMSGRAD:
        v_max_ptr = _pointer(row, 4, DTYPE)
        v = tl.maximum(tl.load(v_max_ptr + offs, mask=mask).to(ACC), v)
        tl.store(v_max_ptr + offs, v.to(DTYPE), mask=mask)
    denom = tl.sqrt(v) / tl.cast(f64(bias_correction2_sqrt_bits), ACC) + tl.cast(f64(eps_bits), ACC)
    p = p - tl.cast(f64(step_size_bits), ACC) * (m / denom)
    tl.store(p_ptr + offs, p.to(DTYPE), mask=mask)


_sgd = Kernel(_sgd_kernel)
_adam = Kernel(_adam_kernel)

_block_maps: OrderedDict = OrderedDict()
_tables: OrderedDict = OrderedDict()
_CACHE_SIZE = 16


def _address(arr) -> int:
    return int(arr.ctypes.data) if isinstance(arr, np.ndarray) else int(arr.data.ptr)


def _cached(cache, key, build):
    value = cache.get(key)
    if value is None:
        value = build()
        cache[key] = value
        if len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return value


def _tables_for(columns):
    """(device table, device block map, number of blocks) for tensors given as per-tensor
    tuples (param, grad, state0, state1, state2), unused state None."""
    block = TUNING["block"]
    sizes = tuple(int(c[0].size) for c in columns)
    blocks = [cdiv(n, block) for n in sizes]
    firsts = np.concatenate([[0], np.cumsum(blocks)[:-1]]).astype(np.int64)

    def build_map():
        return xp.asarray(np.repeat(np.arange(len(sizes), dtype=np.int32), blocks))

    block_map = _cached(_block_maps, (sizes, block), build_map)
    addresses = tuple(_address(a) if a is not None else 0 for c in columns for a in c)

    def build_table():
        table = np.zeros((len(columns), _COLUMNS), np.int64)
        table[:, :5] = np.array(addresses, np.int64).reshape(len(columns), 5)
        table[:, 5] = sizes
        table[:, 6] = firsts
        return xp.asarray(table)

    # the address table is keyed by the addresses: equal addresses, equal table
    table = _cached(_tables, (addresses, sizes, block), build_table)
    return table, block_map, int(sum(blocks))


def _by_dtype(indices, params):
    groups: dict = {}
    for i in indices:
        if params[i].size:
            groups.setdefault(params[i].dtype, []).append(i)
    return groups.items()


def supported(params, grads, *states) -> bool:
    """Whether the kernels take these lists: floating-point parameters, every parameter and
    state buffer contiguous, gradients of the parameters' dtypes (made contiguous if needed)."""
    for i, (p, g) in enumerate(zip(params, grads)):
        if p.dtype not in FLOAT_DTYPES or g.dtype != p.dtype or not p.flags.c_contiguous:
            return False
        for state in states:
            buf = None if state is None else state[i]
            if buf is not None and (buf.dtype != p.dtype or not buf.flags.c_contiguous):
                return False
    return True


def _contiguous(grads):
    return [g if g.flags.c_contiguous else xp.ascontiguousarray(g) for g in grads]


def sgd_step(params, grads, momentum_buffers, *, lr: float, momentum: float, dampening: float,
             nesterov: bool, weight_decay: float, maximize: bool) -> None:
    """SGD as ``torch.optim.SGD``, in place; a None momentum buffer is created (in the list)."""
    grads = _contiguous(grads)
    first = [bool(momentum) and momentum_buffers[i] is None for i in range(len(params))]
    if momentum:
        for i, p in enumerate(params):
            if first[i]:
                momentum_buffers[i] = xp.empty_like(p)
    for is_first in (True, False):
        chosen = [i for i in range(len(params)) if first[i] == is_first]
        for dtype, idx in _by_dtype(chosen, params):
            columns = [(params[i], grads[i], momentum_buffers[i] if momentum else None, None,
                        None) for i in idx]
            table, block_map, n_blocks = _tables_for(columns)
            _sgd((n_blocks,), table, block_map, float_bits(lr), float_bits(momentum),
                 float_bits(dampening), float_bits(weight_decay), bool(momentum), is_first,
                 nesterov, bool(weight_decay), maximize, TL_DTYPE[dtype],
                 TL_DTYPE[ACC_DTYPE[dtype]], TUNING["block"], num_warps=TUNING["num_warps"])


def adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, *, step: int, lr: float,
              beta1: float, beta2: float, eps: float, weight_decay: float, amsgrad: bool,
              maximize: bool, decoupled_weight_decay: bool) -> None:
    """Adam or AdamW (``decoupled_weight_decay``) as PyTorch computes them, in place."""
    grads = _contiguous(grads)
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = math.sqrt(1 - beta2**step)
    step_size = lr / bias_correction1
    for dtype, idx in _by_dtype(range(len(params)), params):
        columns = [(params[i], grads[i], exp_avgs[i], exp_avg_sqs[i],
                    max_exp_avg_sqs[i] if amsgrad else None) for i in idx]
        table, block_map, n_blocks = _tables_for(columns)
        _adam((n_blocks,), table, block_map, float_bits(lr), float_bits(beta1), float_bits(beta2),
              float_bits(eps), float_bits(weight_decay), float_bits(step_size),
              float_bits(bias_correction2_sqrt), amsgrad, maximize, bool(weight_decay),
              decoupled_weight_decay, TL_DTYPE[dtype], TL_DTYPE[ACC_DTYPE[dtype]],
              TUNING["block"], num_warps=TUNING["num_warps"])
