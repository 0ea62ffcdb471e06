"""The branch-free ``where`` of the NumPy twins equals ``np.where`` bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from gpugrad.backend.numpy_math import NumpyMath


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shapes", [((5, 7), (5, 7)), ((5, 1), (1, 7)), ((7,), (5, 7)), ((), (3,))])
def test_where_with_zero_matches_numpy(dtype, shapes):
    rng = np.random.default_rng(0)
    cond = rng.standard_normal(shapes[0]) > 0
    arr = rng.standard_normal(shapes[1]).astype(dtype)
    arr.ravel()[:3] = [np.nan, np.inf, -0.0][: arr.size]
    cond = np.asarray(cond)
    for got, want in (
        (NumpyMath.where(cond, arr, 0), np.where(cond, arr, 0)),
        (NumpyMath.where(cond, 0, arr), np.where(cond, 0, arr)),
    ):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))


def test_where_other_cases_fall_back():
    cond = np.array([True, False])
    np.testing.assert_array_equal(NumpyMath.where(cond, np.array([1, 2]), 0), [1, 0])
    np.testing.assert_array_equal(NumpyMath.where(cond, 1.5, 2.5), [1.5, 2.5])
    assert NumpyMath().exp is np.exp


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("shapes", [((5, 7), (5, 7), (5, 7)), ((5, 1), (1, 7), (5, 7)),
                                    ((7,), (5, 7), (1,)), ((), (3,), (3,))])
def test_where_between_two_arrays_matches_numpy(dtype, shapes):
    rng = np.random.default_rng(1)
    cond = np.asarray(rng.standard_normal(shapes[0]) > 0)
    a = rng.standard_normal(shapes[1]).astype(dtype)
    b = rng.standard_normal(shapes[2]).astype(dtype)
    a.ravel()[:3] = [np.nan, -np.inf, -0.0][: a.size]
    b.ravel()[:3] = [-0.0, np.nan, np.inf][: b.size]
    got, want = NumpyMath.where(cond, a, b), np.where(cond, a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))


def test_where_between_arrays_of_other_kinds_falls_back():
    cond = np.array([True, False])
    for a, b in ((np.array([1.0, 2.0]), np.array([3, 4])),  # promoted
                 (np.array([1, 2]), np.array([3, 4])),  # integers
                 (np.array([1.0, 2.0], np.float32), np.array([3.0, 4.0]))):  # two dtypes
        got, want = NumpyMath.where(cond, a, b), np.where(cond, a, b)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    got = NumpyMath.where(np.array([0.5, 0.0]), np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_array_equal(got, [1.0, 4.0])  # a float condition: nonzero is true
    for cond in (np.array([0.5, 0.0]), np.array([2, 0])):  # with zero: the same truth
        np.testing.assert_array_equal(NumpyMath.where(cond, np.array([1.0, 2.0]), 0), [1.0, 0.0])
        np.testing.assert_array_equal(NumpyMath.where(cond, 0, np.array([1.0, 2.0])), [0.0, 2.0])
