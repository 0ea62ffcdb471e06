"""``@triton.jit`` helpers shared by several kernel files, and their host-side counterparts.

The kernels do not call the standard library's own ``@triton.jit`` functions (``tl.sum``,
``tl.max``, ``tl.zeros``, ``tl.cdiv``...): those are defined when ``triton`` is first imported, so
if anything imported it before ``gpugrad.kernels`` turned the interpreter on, they could not run
interpreted. ``tsum``/``tmax``/``tmin`` are the same reductions through the ``tl.reduce``
builtin with the standard combine functions, which the interpreter recognizes and runs as one
NumPy call (a combine function of our own would run element by element in Python).
"""

from __future__ import annotations

import struct

import ml_dtypes
import numpy as np
import triton
import triton.language as tl

_NAN_ALL = tl.constexpr(tl.PropagateNan.ALL)

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)  # NumPy's and CuPy's bfloat16 (the ml_dtypes package)

# Accumulation dtype per storage dtype: float16 and bfloat16 accumulate in float32.
ACC_DTYPE = {
    np.dtype(np.float16): np.dtype(np.float32), BFLOAT16: np.dtype(np.float32),
    np.dtype(np.float32): np.dtype(np.float32), np.dtype(np.float64): np.dtype(np.float64),
}
TL_DTYPE = {
    np.dtype(np.float16): tl.float16, BFLOAT16: tl.bfloat16, np.dtype(np.float32): tl.float32,
    np.dtype(np.float64): tl.float64, np.dtype(np.int64): tl.int64,
    np.dtype(np.int32): tl.int32, np.dtype(np.int16): tl.int16, np.dtype(np.int8): tl.int8,
    np.dtype(np.uint8): tl.uint8, np.dtype(np.bool_): tl.int1,
}


def float_bits(v) -> int:
    """A Python float as the int64 holding its float64 bits: Triton passes float arguments as
    float32, so float64 values travel this way and ``f64(bits)`` turns them back."""
    return struct.unpack("<q", struct.pack("<d", float(v)))[0]


@triton.jit
def f64(bits):
    """The float64 whose bits ``float_bits`` packed into an integer argument."""
    return tl.cast(tl.cast(tl.cast(bits, tl.int64), tl.float64, bitcast=True), tl.float64)


@triton.jit
def nan_max(a, b):
    return tl.maximum(a, b, propagate_nan=_NAN_ALL)


@triton.jit
def nan_min(a, b):
    return tl.minimum(a, b, propagate_nan=_NAN_ALL)


@triton.jit
def add(a, b):
    return a + b


@triton.jit
def tsum(x, axis: tl.constexpr):
    """``tl.sum`` without its dtype promotion (callers sum in their accumulation dtype)."""
    return tl.reduce(x, axis, tl.standard._sum_combine)


@triton.jit
def tmax(x, axis: tl.constexpr):
    """``tl.max``: NaN is ignored (a NaN then spreads through the arithmetic that follows)."""
    return tl.reduce(x, axis, tl.standard._elementwise_max)


@triton.jit
def tmin(x, axis: tl.constexpr):
    """``tl.min``: NaN is ignored."""
    return tl.reduce(x, axis, tl.standard._elementwise_min)


@triton.jit
def nan_tmax(x, axis: tl.constexpr):
    """The max along ``axis``, NaN if any element is NaN (NumPy's and PyTorch's max)."""
    result = tmax(x, axis)
    if x.dtype.is_floating():
        result = tl.where(tsum((x != x).to(tl.int32), axis) > 0, float("nan"), result)
    return result


@triton.jit
def nan_tmin(x, axis: tl.constexpr):
    """The min along ``axis``, NaN if any element is NaN."""
    result = tmin(x, axis)
    if x.dtype.is_floating():
        result = tl.where(tsum((x != x).to(tl.int32), axis) > 0, float("nan"), result)
    return result


@triton.jit
def mul(a, b):
    return a * b


@triton.jit
def argmax_combine(v1, i1, v2, i2):
    """(value, index) of the larger, NaN counting as largest; ties go to the smaller index."""
    nan1 = v1 != v1
    nan2 = v2 != v2
    first = (v1 > v2) | (nan1 & ~nan2) | (((v1 == v2) | (nan1 & nan2)) & (i1 < i2))
    return tl.where(first, v1, v2), tl.where(first, i1, i2)


@triton.jit
def argmin_combine(v1, i1, v2, i2):
    """(value, index) of the smaller, NaN counting as smallest; ties go to the smaller index."""
    nan1 = v1 != v1
    nan2 = v2 != v2
    first = (v1 < v2) | (nan1 & ~nan2) | (((v1 == v2) | (nan1 & nan2)) & (i1 < i2))
    return tl.where(first, v1, v2), tl.where(first, i1, i2)


@triton.jit
def fdiv(a, b):
    """IEEE division (Triton's float32 ``/`` is approximate; PyTorch's is not)."""
    if a.dtype == tl.float32:
        q = tl.math.div_rn(a, b)
    else:
        q = a / b
    return q


@triton.jit
def fsqrt(x):
    """IEEE square root (``sqrt_rn`` exists for float32 only; float64 ``sqrt`` is exact)."""
    if x.dtype == tl.float32:
        r = tl.sqrt_rn(x)
    else:
        r = tl.sqrt(x)
    return r
