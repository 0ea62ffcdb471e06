"""Elementwise kernels and their launcher ``launch``; the launcher of each op (unary, binary,
their fused gradients, comparisons, where, clamp) is in ``elementwise_ops.py``.

Two kernels serve them all, with up to four inputs (arrays, or Python scalars passed as kernel
arguments) and one or two outputs (fresh, contiguous, in the broadcast shape), the math passed in
as ``@triton.jit`` functions from ``unary_math.py`` and ``binary_math.py``:

- ``_flat_kernel``, the common case: every array operand contiguous and either of the output's
  shape, or broadcast along its leading dims (a row: a bias (C,) against (N, C)), or along its
  trailing dims (a column: (N, 1) against (N, C)), or a single element. One flat index serves
  them all (a row reads ``i % inner``, a column ``i // inner``): few arguments, little host work
  per launch, which is what a small op costs on a GPU.
- ``_elementwise_kernel`` for everything else (strided operands, other broadcasts).

Traffic model: each input array is read once and each output written once; an operand broadcast
along a dim is read from cache after its first touch. A fused binary backward reads
``grad``, ``a``, ``b`` (and ``out`` where the formula needs it) once and writes both input
gradients in the same pass: e.g. mul moves 3 reads + 2 writes instead of 2 x (2 reads + 1 write).

Layout (general kernel): the launcher first merges the dims that every operand walks as one
(``collapse``, cached per layout). Non-contiguous operands are read in place with their
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

from ._common import BFLOAT16, f64, float_bits
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

__all__ = ["launch", "flat_operand", "flat_kinds", "COMPUTE", "TUNING", "INTS"]

# Operand kinds (constexpr): how a kernel gets each input. Scalars travel as arguments; the flat
# kernel reads an array at ``i`` (FLAT), ``i % inner`` (ROW), ``i // inner`` (COLUMN) or 0
# (ONE); the general kernel reads it with its strides (inner stride 1: INNER_CONTIGUOUS).
ABSENT, SCALAR_FLOAT, SCALAR_INT = 0, 1, 2
FLAT, ROW, COLUMN, ONE = 3, 4, 5, 6
INNER_CONTIGUOUS, STRIDED = 3, 4

# Elements per program and warps; bench/gpu_kernels.py sweeps these on a GPU. Interpreted,
# each program costs far more than its width, so programs are wide.
TUNING = Tuning({"block": 2048, "num_warps": 4}, interpreted={"block": 1 << 16})

COMPUTE = {  # the dtype a kernel computes in, per storage dtype
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
def _apply(FN: tl.constexpr, NIN: tl.constexpr, v0, v1, v2, v3):
    if NIN == 1:
        r = FN(v0)
    elif NIN == 2:
        r = FN(v0, v1)
    elif NIN == 3:
        r = FN(v0, v1, v2)
    else:
        r = FN(v0, v1, v2, v3)
    return r


@triton.jit
def _store(out0_ptr, out1_ptr, offs, mask, v0, v1, v2, v3,
           FN0: tl.constexpr, FN1: tl.constexpr, NIN: tl.constexpr):
    r0 = _apply(FN0, NIN, v0, v1, v2, v3)
    tl.store(out0_ptr + offs, r0.to(out0_ptr.dtype.element_ty), mask=mask)
    if FN1 is not None:
        r1 = _apply(FN1, NIN, v0, v1, v2, v3)
        tl.store(out1_ptr + offs, r1.to(out1_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _elementwise_kernel(
    out0_ptr, out1_ptr, in0, in1, in2, in3,
    n_rows, n_cols, size_1, size_2,
    stride_00, stride_01, stride_02, stride_0c, stride_10, stride_11, stride_12, stride_1c,
    stride_20, stride_21, stride_22, stride_2c, stride_30, stride_31, stride_32, stride_3c,
    FN0: tl.constexpr, FN1: tl.constexpr, NIN: tl.constexpr,
    KIND0: tl.constexpr, KIND1: tl.constexpr, KIND2: tl.constexpr, KIND3: tl.constexpr,
    OUTER: tl.constexpr, COMPUTE: tl.constexpr, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr,
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
    _store(out0_ptr, out1_ptr, out_offs, mask, v0, v1, v2, v3, FN0, FN1, NIN)


@triton.jit
def flat_operand(ptr, offs, mask, inner, KIND: tl.constexpr, COMPUTE: tl.constexpr):
    """Input ``ptr`` of the flat kernels at flat output offsets ``offs`` (see the kinds)."""
    if KIND == 0:  # ABSENT
        value = None
    elif KIND == 1:  # SCALAR_FLOAT: float64 bits in an integer (Triton would pass float32)
        value = tl.cast(f64(ptr), COMPUTE)
    elif KIND == 2:  # SCALAR_INT
        value = tl.cast(ptr, COMPUTE)
    else:
        if KIND == 3:  # FLAT
            idx = offs
        elif KIND == 4:  # ROW: broadcast along the leading dims
            idx = offs % inner
        elif KIND == 5:  # COLUMN: broadcast along the trailing dims
            idx = offs // inner
        else:  # ONE element
            idx = offs * 0
        value = tl.load(ptr + idx, mask=mask)
        if ptr.dtype.element_ty.is_floating():
            value = value.to(COMPUTE)
    return value


@triton.jit
def _flat_kernel(
    out0_ptr, out1_ptr, in0, in1, in2, in3, n, inner,
    FN0: tl.constexpr, FN1: tl.constexpr, NIN: tl.constexpr,
    KIND0: tl.constexpr, KIND1: tl.constexpr, KIND2: tl.constexpr, KIND3: tl.constexpr,
    COMPUTE: tl.constexpr, BLOCK: tl.constexpr,
):
    pid = tl.program_id(0).to(tl.int64)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    v0 = flat_operand(in0, offs, mask, inner, KIND0, COMPUTE)
    v1 = flat_operand(in1, offs, mask, inner, KIND1, COMPUTE)
    v2 = flat_operand(in2, offs, mask, inner, KIND2, COMPUTE)
    v3 = flat_operand(in3, offs, mask, inner, KIND3, COMPUTE)
    _store(out0_ptr, out1_ptr, offs, mask, v0, v1, v2, v3, FN0, FN1, NIN)


_kernel = Kernel(_elementwise_kernel)
_flat = Kernel(_flat_kernel)


def _broadcast_strides(arr, shape):
    nd = len(shape)
    st = (0,) * (nd - arr.ndim) + elem_strides(arr)
    lead = nd - arr.ndim
    return tuple(0 if (i >= lead and arr.shape[i - lead] == 1) else s for i, s in enumerate(st))


def flat_kinds(inputs, shape, float_compute: bool):
    """How the flat kernels read each input (``None``, a Python number, or an array) against
    an output of ``shape``: ``(kinds, args, inner)``, or None when an array needs the general
    kernel (not contiguous, or broadcast other than along the leading or trailing dims, or two
    broadcasts that split the dims differently)."""
    kinds, args, inner = [], [], None
    for value in inputs:
        if value is None:
            kinds.append(ABSENT)
            args.append(None)
            continue
        if not hasattr(value, "shape"):
            kinds.append(SCALAR_FLOAT if float_compute else SCALAR_INT)
            args.append(float_bits(value) if float_compute else int(value))
            continue
        if not value.flags.c_contiguous:
            return None
        args.append(value)
        a_shape = value.shape
        if a_shape == shape:
            kinds.append(FLAT)
            continue
        if value.size == 1:
            kinds.append(ONE)
            continue
        kind, split = _broadcast_kind(a_shape, shape)
        if kind is None:
            return None
        n_inner = math.prod(shape[split:])
        if inner is not None and n_inner != inner:
            return None
        inner = n_inner
        kinds.append(kind)
    return kinds, args, 1 if inner is None else inner


def _broadcast_kind(a_shape, shape):
    """ROW or COLUMN and the dim where the operand's extent starts or ends; (None, 0) if its
    broadcast is of neither kind."""
    shape = tuple(shape)
    padded = (1,) * (len(shape) - len(a_shape)) + tuple(a_shape)
    lead = 0
    while padded[lead] == 1:  # (an operand of one element is ONE, never here)
        lead += 1
    if padded[lead:] == shape[lead:]:
        return ROW, lead
    trail = len(shape)
    while padded[trail - 1] == 1:
        trail -= 1
    if padded[:trail] == shape[:trail]:
        return COLUMN, trail
    return None, 0


def launch(fns, inputs, compute_dtype, out_dtypes, shape=None, *, outs=None):
    """Run ``fns`` (one or two, one per output) over ``inputs`` (at most four: arrays, Python
    numbers or None), broadcast.

    Returns the output arrays: fresh and C-contiguous in the broadcast shape, or ``outs`` when
    given (contiguous arrays of that shape, which may be inputs too: written in place).
    """
    arrays = [a for a in inputs if hasattr(a, "shape")]
    if shape is None:
        shape = arrays[0].shape if arrays else ()
        if any(a.shape != shape for a in arrays):
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
    if outs is None:
        outs = [xp.empty(shape, d) for d in out_dtypes]
    n = math.prod(shape)
    if n == 0:
        return outs
    compute = COMPUTE[np.dtype(compute_dtype)]
    float_compute = compute.is_floating()
    nin = len(inputs)
    out1 = outs[1] if len(outs) > 1 else None
    fn1 = fns[1] if len(fns) > 1 else None
    flat = flat_kinds(inputs, shape, float_compute)
    if flat is not None:  # the common case: one flat index for everything
        kinds, args, inner = flat
        block = min(next_pow2(n), TUNING["block"])
        _flat((cdiv(n, block),), outs[0], out1, *args, *(None,) * (4 - nin), n, inner, fns[0],
              fn1, nin, *kinds, *(ABSENT,) * (4 - nin), compute, block,
              num_warps=TUNING["num_warps"])
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
    _kernel(grid, outs[0], out1, *args, n_rows, n_cols, size_1, size_2, *stride_args, fns[0],
            fn1, nin, *kinds, len(outer), compute, block_r, block_c,
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
