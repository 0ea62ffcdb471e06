"""Reduction kernels against the NumPy twins: dims, layouts, split reductions, NaN and ties."""

from __future__ import annotations

import numpy as np
import pytest
from gpugrad.kernels import reduction, statistics
from kernel_helpers import (
    TOLERANCE,
    assert_close,
    device,
    host,
    layout,
    reference_dtype,
    seeded_rng,
)

AXES = [None, (0,), (1,), (2,), (0, 1), (1, 2), (0, 2), (0, 1, 2)]


@pytest.fixture
def small_tiles(monkeypatch):
    """Tiles small enough that modest inputs take the K-split (two launch) path."""
    monkeypatch.setitem(reduction.TUNING, "tile", 64)
    monkeypatch.setitem(reduction.TUNING, "max_block_k_contiguous", 16)
    monkeypatch.setitem(reduction.TUNING, "max_block_k_strided", 8)


@pytest.mark.parametrize("op", ["sum", "mean", "prod", "amax", "amin"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_reduce_floats(twin, op, dtype):
    rng = seeded_rng(op, dtype)
    ref = reference_dtype(dtype)
    values = rng.uniform(0.5, 1.5, (5, 6, 7)) if op == "prod" else rng.standard_normal((5, 6, 7))
    for kind in ("contiguous", "strided", "transposed"):
        x = layout(values.astype(dtype), kind)
        for i, axes in enumerate(AXES):
            keepdim = bool(i % 2)
            out = reduction.reduce(op, device(x), axes, keepdim)
            expected = twin.reduce(op, x.astype(ref), axes, keepdim)
            assert host(out).dtype == np.dtype(dtype)
            atol = None
            if op in ("sum", "mean"):  # a sum near 0 keeps the rounding error of its terms
                terms = twin.reduce(op, np.abs(x.astype(ref)), axes, keepdim)
                atol = 4 * float(np.finfo(ref if dtype == "bfloat16" else dtype).eps) * float(
                    np.max(terms))
                atol = max(atol, TOLERANCE[dtype][1])
            assert_close(out, expected, dtype, atol=atol,
                         err_msg=f"{op} {kind} {axes} {keepdim}")


@pytest.mark.parametrize("op", ["sum", "prod", "amax", "amin", "all", "any"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_reduce_ints_and_bools(twin, op, dtype):
    rng = np.random.default_rng(1)
    x = layout(rng.integers(0, 3, (4, 5, 3)).astype(dtype), "strided")
    for axes in (None, (1,), (0, 2)):
        out = reduction.reduce(op, device(x), axes, False)
        expected = twin.reduce(op, x, axes, False)
        assert host(out).dtype == expected.dtype, (op, dtype)
        assert_close(out, expected, dtype)


def test_reduce_split_path(twin, small_tiles):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 500))
    for op in ("sum", "mean", "prod", "amax", "amin", "all", "any"):
        values = np.abs(x) * 0.01 + 1 if op == "prod" else x
        for axes in ((1,), None, (0,)):
            assert_close(reduction.reduce(op, device(values), axes, False),
                         twin.reduce(op, values, axes, False), "float64", rtol=1e-9,
                         err_msg=f"{op} {axes}")
    assert_close(reduction.reduce("sum", device(x.astype(np.float16)), None, False),
                 x.astype(np.float16).astype(np.float32).sum(), "float16")


def test_reduce_nan_and_empty(twin):
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, -np.inf]])
    for op in ("sum", "amax", "amin", "mean", "prod"):
        assert_close(reduction.reduce(op, device(x), (1,), False), twin.reduce(op, x, (1,), False),
                     "float64")
    empty = np.zeros((0, 3))
    for op in ("sum", "mean", "prod"):
        assert_close(reduction.reduce(op, device(empty), (0,), True),
                     twin.reduce(op, empty, (0,), True), "float64")
    zero_d = np.array(2.5)
    assert_close(reduction.reduce("sum", device(zero_d), None, False), zero_d, "float64")


@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16", "int64"])
def test_arg_reduce(twin, op, dtype):
    rng = np.random.default_rng(3)
    x = rng.integers(-3, 4, (4, 9, 5)).astype(dtype)  # many ties: the first occurrence wins
    if dtype != "int64":
        x[1, 4, 2] = np.nan
        x[2, :, 0] = -np.inf
    x = layout(x, "strided")
    for axis in (0, 1, 2):
        for keepdim in (False, True):
            values, index = statistics.arg_reduce(op, device(x), axis, keepdim)
            ev, ei = twin.arg_reduce(op, x, axis, keepdim)
            assert_close(values, ev, dtype)
            np.testing.assert_array_equal(host(index), ei, err_msg=f"{op} axis {axis}")


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_var(twin, dtype):
    rng = np.random.default_rng(4)
    ref = reference_dtype(dtype)
    x = layout((rng.standard_normal((6, 5, 4)) * 3 + 10).astype(dtype), "strided")
    for axes in (None, (0,), (1,), (2,), (0, 2)):
        for correction in (0, 1, 2.5):
            out = statistics.var(device(x), axes, correction, False)
            assert_close(out, twin.var(x.astype(ref), axes, correction, False), dtype)
    one = np.ones((3, 1), dtype)
    with np.errstate(all="ignore"):
        assert_close(statistics.var(device(one), (1,), 1, True), twin.var(one, (1,), 1, True),
                     dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_logsumexp(twin, dtype):
    rng = np.random.default_rng(5)
    ref = reference_dtype(dtype)
    x = rng.standard_normal((4, 7, 6)).astype(dtype) * 5
    x[0, :, 0] = -np.inf
    x[1, 3, 1] = np.inf
    x[2, 2, 2] = np.nan
    x = layout(x, "transposed")
    for axes in (None, (1,), (2,), (0, 2)):
        for keepdim in (False, True):
            assert_close(statistics.logsumexp(device(x), axes, keepdim),
                         twin.logsumexp(x.astype(ref), axes, keepdim), dtype)
    big = np.array([[1e4, 1e4 - 1], [-1e4, -1e4]], np.float32)
    assert_close(statistics.logsumexp(device(big), (1,), False), twin.logsumexp(big, (1,), False),
                 "float32")


def test_sum_to_shape(twin):
    rng = np.random.default_rng(6)
    for dtype in ("float32", "float64", "float16"):
        g = layout(rng.standard_normal((3, 4, 5)).astype(dtype), "strided")
        for shape in ((3, 4, 5), (4, 5), (5,), (1, 5), (4, 1), (3, 1, 5), (1, 1, 1), ()):
            out = reduction.sum_to_shape(device(g), shape)
            expected = twin.sum_to_shape(g.astype(reference_dtype(dtype)), shape)
            assert host(out).shape == shape
            assert_close(out, expected, dtype)
