"""Helpers of the kernel tests: arrays on the kernels' array module, layouts, tolerances."""

from __future__ import annotations

import zlib

import numpy as np
from gpugrad.kernels._launch import xp

TOLERANCE = {  # (rtol, atol) against a reference computed in float64 (float32 for the halves)
    "float64": (1e-10, 1e-12),
    "float32": (2e-5, 1e-6),
    "float16": (2e-3, 2e-3),
    "bfloat16": (1.6e-2, 1.6e-2),  # 8 mantissa bits: one rounding is 2^-9 relative
}


def seeded_rng(*parts) -> np.random.Generator:
    """A generator seeded by ``parts`` (strings, numbers) the same way in every process
    (``hash`` of a string changes from one process to the next)."""
    return np.random.default_rng(zlib.crc32(repr(parts).encode()))


def host(arr):
    """A NumPy copy of a kernel result (NumPy or CuPy)."""
    if arr is None or isinstance(arr, (np.ndarray, np.generic)):
        return arr
    return xp.asnumpy(arr)


def device(arr):
    """``arr`` (NumPy) on the kernels' array module, keeping its layout."""
    if xp is np:
        return arr
    base = arr
    while isinstance(base.base, np.ndarray):
        base = base.base
    dev_base = xp.asarray(np.ascontiguousarray(base))
    offset = arr.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    mem = dev_base.data + offset
    return xp.ndarray(arr.shape, arr.dtype, mem, strides=arr.strides)


def layout(values: np.ndarray, kind: str) -> np.ndarray:
    """``values`` as a contiguous array, a strided view whose gaps hold NaN (or a big number),
    or a transposed view."""
    if kind == "contiguous" or values.ndim == 0 or values.size == 0:
        return values.copy()
    if kind == "transposed":
        return np.ascontiguousarray(values.T).T
    poison = np.nan if values.dtype.kind in "fV" else 99  # V: bfloat16
    big = np.full(values.shape[:-1] + (values.shape[-1] * 2,), poison, dtype=values.dtype)
    view = big[..., ::2]
    view[...] = values
    return view


def reference_dtype(dtype) -> np.dtype:
    half = np.dtype(dtype) in (np.dtype(np.float16), np.dtype("bfloat16"))
    return np.dtype(np.float32) if half else np.dtype(dtype)


def assert_close(actual, expected, dtype, rtol=None, atol=None, **kw):
    actual = host(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    r, a = TOLERANCE[np.dtype(dtype).name] if np.dtype(dtype).kind in "fV" else (0, 0)
    np.testing.assert_allclose(actual.astype(np.float64) if actual.dtype.kind in "fV" else actual,
                               expected.astype(np.float64) if expected.dtype.kind in "fV"
                               else expected,
                               rtol=r if rtol is None else rtol, atol=a if atol is None else atol,
                               equal_nan=True, **kw)
