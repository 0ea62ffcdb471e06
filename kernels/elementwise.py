"""Elementwise kernels and their launcher ``launch``; the launcher of each op (unary, binary,
their fused gradients, comparisons, where, clamp) is in ``elementwise_ops.py``.

Two kernels serve them all, with up to four inputs (arrays, or Python scalars passed as kernel
arguments) and up to two outputs (fresh, contiguous, in the broadcast shape), the math passed in
as ``@triton.jit`` functions from ``unary_math.py`` and ``binary_math.py``: ``_flat_kernel`` when
every array operand is contiguous and of the output's shape (the common case: one flat index,
few arguments, the least host work per launch), ``_elementwise_kernel`` for broadcasting and
strided operands.

Traffic model: each input array is read once and each output written once; an operand broadcast
along a dim is read from cache after its first touch. A fused binary backward reads
``grad``, ``a``, ``b`` (and ``out`` where the formula needs it) once and writes both input
gradients in the same pass: e.g. mul moves 3 reads + 2 writes instead of 2 x (2 reads + 1 write).

Layout (general kernel): the launcher first merges the dims that every operand walks as one
(``collapse``, cached per layout), so a simply broadcast operand becomes rank 1 or 2 (a bias add
is (rows, C) against stride (0, 1)). Non-contiguous operands are read in place with their
strides, not copied first: a copy would cost a full extra read and write, where strided reads
cost only the uncoalesced part of the traffic. The kernel sees at most three outer
dims and one inner dim, and tiles them as [BLOCK_R rows, BLOCK_C inner elements]: the div/mod that
turns a row number into outer indices is paid once per row, not per element, and inner offsets
are ``col * stride`` (plain ``col`` when the inner stride is 1, so loads vectorize). Offsets are
int64. float16 and bfloat16 compute in float32; the result is rounded once on store.
"""

from __future__ import annotations

import math

import numpy as np
import triton
import triton.language as tl

from ._common import BFLOAT16, f64, float_bits, tsum
from ._launch import (
    Kernel,
    cdiv,
    collapse,
    elem_strides,
    is_interpret,
    next_pow2,
    no_negative_strides,
    xp,
)

__all__ = ["launch", "TUNING", "INTS"]

# Operand kinds (constexpr): how the kernel gets each input.
ABSENT, SCALAR_FLOAT, SCALAR_INT, INNER_CONTIGUOUS, STRIDED = 0, 1, 2, 3, 4

# Elements per program and warps; bench/gpu_kernels.py sweeps these on a GPU. Interpreted,
# each program costs far more than its width, so programs are wide.
TUNING = {"block": 1 << 16 if is_interpret() else 2048, "num_warps": 4}

_COMPUTE = {
    np.dtype(np.float16): tl.float32, BFLOAT16: tl.float32, np.dtype(np.float32): tl.float32,
    np.dtype(np.float64): tl.float64, np.dtype(np.int64): tl.int64,
    np.dtype(np.int32): tl.int32, np.dtype(np.int16): tl.int16, np.dtype(np.int8): tl.int8,
    np.dtype(np.uint8): tl.uint8, np.dtype(np.bool_): tl.int1,
}
INTS = tuple(np.dtype(d) for d in (np.int64, np.int32, np.int16, np.int8, np.uint8))


@triton.jit
def _outer_offsets(i0, i1, i2, stride_0, stride_1, stride_2, OUTER: tl.constexpr):
    if OUTER == 0:
        offs = i0 * 0
    elif OUTER == 1:
        offs = i0 * stride_0
    elif OUTER == 2:
        offs = i0 * stride_0 + i1 * stride_1
    else:
        offs = i0 * stride_0 + i1 * stride_1 + i2 * stride_2
    return offs


@triton.jit
def _operand(ptr, i0, i1, i2, cols, mask, stride_0, stride_1, stride_2, stride_c,
             KIND: tl.constexpr, OUTER: tl.constexpr, COMPUTE: tl.constexpr):
    if KIND == 0:  # ABSENT
        value = None
    elif KIND == 1:  # SCALAR_FLOAT: float64 bits in an integer (Triton would pass float32)
        value = tl.cast(f64(ptr), COMPUTE)
    elif KIND == 2:  # SCALAR_INT
        value = tl.cast(ptr, COMPUTE)
    else:
        offs = _outer_offsets(i0, i1, i2, stride_0, stride_1, stride_2, OUTER)[:, None]
        if KIND == 3:  # INNER_CONTIGUOUS
            offs = offs + cols[None, :]
        else:
            offs = offs + cols[None, :] * stride_c
        value = tl.load(ptr + offs, mask=mask)
        if ptr.dtype.element_ty.is_floating():
            value = value.to(COMPUTE)
    return value


@triton.jit
def _apply_and_store(out0_ptr, out1_ptr, out_offs, mask, pid, v0, v1, v2, v3, scale1_bits,
                     FN0: tl.constexpr, FN1: tl.constexpr, NIN: tl.constexpr,
                     COMPUTE: tl.constexpr, PARTIAL0: tl.constexpr, SCALE1: tl.constexpr):
    if NIN == 1:
        r0 = FN0(v0)
    elif NIN == 2:
        r0 = FN0(v0, v1)
    elif NIN == 3:
        r0 = FN0(v0, v1, v2)
    else:
        r0 = FN0(v0, v1, v2, v3)
    if PARTIAL0:  # this program's sum of FN0 (a loss before its reduction)
        r0 = tl.where(mask, r0, 0).to(out0_ptr.dtype.element_ty)
        tl.store(out0_ptr + pid, tsum(tsum(r0, 1), 0))
    else:
        tl.store(out0_ptr + out_offs, r0.to(out0_ptr.dtype.element_ty), mask=mask)
    if FN1 is not None:
        if NIN == 2:
            r1 = FN1(v0, v1)
        elif NIN == 3:
            r1 = FN1(v0, v1, v2)
        else:
            r1 = FN1(v0, v1, v2, v3)
        if SCALE1:  # e.g. a mean's 1/n on a loss gradient
            r1 = r1 * tl.cast(f64(scale1_bits), COMPUTE)
        tl.store(out1_ptr + out_offs, r1.to(out1_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _elementwise_kernel(
    out0_ptr, out1_ptr, in0, in1, in2, in3,
    n_rows, n_cols, size_1, size_2,
    stride_00, stride_01, stride_02, stride_0c, stride_10, stride_11, stride_12, stride_1c,
    stride_20, stride_21, stride_22, stride_2c, stride_30, stride_31, stride_32, stride_3c,
    scale1_bits,
    FN0: tl.constexpr, FN1: tl.constexpr, NIN: tl.constexpr,
    KIND0: tl.constexpr, KIND1: tl.constexpr, KIND2: tl.constexpr, KIND3: tl.constexpr,
    OUTER: tl.constexpr, COMPUTE: tl.constexpr, PARTIAL0: tl.constexpr, SCALE1: tl.constexpr,
    BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)
    n_col_blocks = (n_cols + BLOCK_C - 1) // BLOCK_C
    pid_r = pid // n_col_blocks
    pid_c = pid % n_col_blocks
    rows = pid_r * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    mask = (rows < n_rows)[:, None] & (cols < n_cols)[None, :]
    # outer indices of each row: paid per row, shared by every operand
    if OUTER == 3:
        i2 = rows % size_2
        i1 = (rows // size_2) % size_1
        i0 = rows // size_2 // size_1
    elif OUTER == 2:
        i2 = rows
        i1 = rows % size_1
        i0 = rows // size_1
    else:
        i2 = rows
        i1 = rows
        i0 = rows
    v0 = _operand(in0, i0, i1, i2, cols, mask, stride_00, stride_01, stride_02, stride_0c,
                  KIND0, OUTER, COMPUTE)
    v1 = _operand(in1, i0, i1, i2, cols, mask, stride_10, stride_11, stride_12, stride_1c,
                  KIND1, OUTER, COMPUTE)
    v2 = _operand(in2, i0, i1, i2, cols, mask, stride_20, stride_21, stride_22, stride_2c,
                  KIND2, OUTER, COMPUTE)
    v3 = _operand(in3, i0, i1, i2, cols, mask, stride_30, stride_31, stride_32, stride_3c,
                  KIND3, OUTER, COMPUTE)
    out_offs = rows[:, None] * n_cols + cols[None, :]  # outputs are contiguous
    _apply_and_store(out0_ptr, out1_ptr, out_offs, mask, pid, v0, v1, v2, v3, scale1_bits,
                     FN0, FN1, NIN, COMPUTE, PARTIAL0, SCALE1)


@triton.jit
def _flat_operand(ptr, offs, mask, KIND: tl.constexpr, COMPUTE: tl.constexpr):
    if KIND == 0:  # ABSENT
        value = None
    elif KIND == 1:  # SCALAR_FLOAT
        value = tl.cast(f64(ptr), COMPUTE)
    elif KIND == 2:  # SCALAR_INT
        value = tl.cast(ptr, COMPUTE)
    else:
        value = tl.load(ptr + offs, mask=mask)
        if ptr.dtype.element_ty.is_floating():
            value = value.to(COMPUTE)
    return value


@triton.jit
def _flat_kernel(
    out0_ptr, out1_ptr, in0, in1, in2, in3, n, scale1_bits,
    FN0: tl.constexpr, FN1: tl.constexpr, NIN: tl.constexpr,
    KIND0: tl.constexpr, KIND1: tl.constexpr, KIND2: tl.constexpr, KIND3: tl.constexpr,
    COMPUTE: tl.constexpr, PARTIAL0: tl.constexpr, SCALE1: tl.constexpr, BLOCK: tl.constexpr,
):
    # every array operand contiguous and of the output's shape: one flat index, no strides
    pid = tl.program_id(0).to(tl.int64)
    offs = (pid * BLOCK + tl.arange(0, BLOCK))[None, :]
    mask = offs < n
    v0 = _flat_operand(in0, offs, mask, KIND0, COMPUTE)
    v1 = _flat_operand(in1, offs, mask, KIND1, COMPUTE)
    v2 = _flat_operand(in2, offs, mask, KIND2, COMPUTE)
    v3 = _flat_operand(in3, offs, mask, KIND3, COMPUTE)
    _apply_and_store(out0_ptr, out1_ptr, offs, mask, pid, v0, v1, v2, v3, scale1_bits,
                     FN0, FN1, NIN, COMPUTE, PARTIAL0, SCALE1)


_kernel = Kernel(_elementwise_kernel)
_flat = Kernel(_flat_kernel)


def _broadcast_strides(arr, shape):
    nd = len(shape)
    st = (0,) * (nd - arr.ndim) + elem_strides(arr)
    lead = nd - arr.ndim
    return tuple(0 if (i >= lead and arr.shape[i - lead] == 1) else s for i, s in enumerate(st))


def launch(fns, inputs, compute_dtype, out_dtypes, shape=None, *, outs=None,
           partial0=None, scale1: float | None = None):
    """Run ``fns`` (one per output) over ``inputs`` (arrays, scalars or None), broadcast.

    Returns the output arrays: fresh and C-contiguous in the broadcast shape, or ``outs`` when
    given (contiguous arrays of that shape, which may be inputs too: written in place).
    ``partial0``: a dtype; the first output is then one partial sum per program, to be
    reduced (see ``reduction.total``). ``scale1`` multiplies the second output.
    """
    arrays = [a for a in inputs if hasattr(a, "shape")]
    if shape is None:
        shape = arrays[0].shape if arrays else ()
        if any(a.shape != shape for a in arrays):
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
    if outs is None:
        outs = [None if (i == 0 and partial0 is not None) else xp.empty(shape, d)
                for i, d in enumerate(out_dtypes)]
    n = math.prod(shape)
    if n == 0:
        if partial0 is not None:
            outs[0] = xp.zeros(0, partial0)
        return outs
    compute = _COMPUTE[np.dtype(compute_dtype)]
    float_compute = compute.is_floating()
    nin = len(inputs)
    fn1 = fns[1] if len(fns) > 1 else None
    if all(a.shape == shape and a.flags.c_contiguous for a in arrays):
        # the common case: one flat index for everything (fewer arguments, simplest code)
        args, kinds = [], []
        for value in inputs:
            if value is None:
                args.append(None)
                kinds.append(ABSENT)
            elif hasattr(value, "shape"):
                args.append(value)
                kinds.append(INNER_CONTIGUOUS)
            else:
                args.append(float_bits(value) if float_compute else int(value))
                kinds.append(SCALAR_FLOAT if float_compute else SCALAR_INT)
        args += [None] * (4 - nin)
        kinds += [ABSENT] * (4 - nin)
        block = min(next_pow2(n), TUNING["block"])
        grid = (cdiv(n, block),)
        if partial0 is not None:
            outs[0] = xp.empty(grid[0], partial0)
        _flat(grid, outs[0], outs[1] if len(outs) > 1 else None, *args, n,
              float_bits(1.0 if scale1 is None else scale1), fns[0], fn1, nin, *kinds, compute,
              partial0 is not None, scale1 is not None, block, num_warps=TUNING["num_warps"])
        return outs

    arrays = [no_negative_strides(a) for a in arrays]
    dims, strides = _geometry(shape, arrays)
    if len(dims) > 4:  # rare: more than four dims that no operand lets us merge
        arrays = [xp.ascontiguousarray(xp.broadcast_to(a, shape)) for a in arrays]
        dims, strides = collapse(shape, [elem_strides(a) for a in arrays])
    dims = dims or (1,)
    n_cols = dims[-1]
    outer = dims[:-1]
    n_rows = n // n_cols
    size_1 = outer[1] if len(outer) > 1 else 1
    size_2 = outer[2] if len(outer) > 2 else 1

    args, kinds, stride_args = [], [], []
    it = iter(zip(arrays, strides))
    for value in inputs:
        if value is None:
            args.append(None)
            kinds.append(ABSENT)
            stride_args += [0, 0, 0, 0]
        elif hasattr(value, "shape"):
            arr, st = next(it)
            st = st or (0,)
            args.append(arr)
            kinds.append(INNER_CONTIGUOUS if st[-1] == 1 else STRIDED)
            stride_args += list(st[:-1]) + [0] * (3 - len(outer)) + [st[-1]]
        else:
            args.append(float_bits(value) if float_compute else int(value))
            kinds.append(SCALAR_FLOAT if float_compute else SCALAR_INT)
            stride_args += [0, 0, 0, 0]
    args += [None] * (4 - nin)
    kinds += [ABSENT] * (4 - nin)
    stride_args += [0] * (4 * (4 - nin))

    block = TUNING["block"]
    block_c = min(next_pow2(n_cols), block)
    block_r = min(max(1, block // block_c), next_pow2(n_rows))
    grid = (cdiv(n_rows, block_r) * cdiv(n_cols, block_c),)
    if partial0 is not None:
        outs[0] = xp.empty(grid[0], partial0)
    out1 = outs[1] if len(outs) > 1 else None
    _kernel(grid, outs[0], out1, *args, n_rows, n_cols, size_1, size_2, *stride_args,
            float_bits(1.0 if scale1 is None else scale1), fns[0], fn1, nin, *kinds, len(outer),
            compute, partial0 is not None, scale1 is not None, block_r, block_c,
            num_warps=TUNING["num_warps"])
    return outs


_geometries: dict = {}


def _geometry(shape, arrays):
    """``collapse`` of the operands' broadcast strides, cached by shapes and strides (a training
    loop repeats the same few layouts)."""
    key = (shape, tuple((a.shape, a.strides, a.dtype.itemsize) for a in arrays))
    found = _geometries.get(key)
    if found is None:
        if len(_geometries) > 4096:
            _geometries.clear()
        found = _geometries[key] = collapse(shape, [_broadcast_strides(a, shape) for a in arrays])
    return found
