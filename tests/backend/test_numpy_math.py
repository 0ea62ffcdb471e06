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
