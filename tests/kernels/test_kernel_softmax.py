"""softmax / log_softmax kernels against the NumPy twins: axes, layouts, both paths, extremes."""

from __future__ import annotations

import numpy as np
import pytest
from gpugrad.kernels import softmax as sm
from kernel_helpers import assert_close, device, host, layout, reference_dtype


@pytest.fixture(params=["registers", "streaming"])
def path(request, monkeypatch):
    """Slices kept in registers, or streamed in chunks with the online max and sum."""
    if request.param == "streaming":
        monkeypatch.setitem(sm.TUNING, "single_max", 4)
        monkeypatch.setitem(sm.TUNING, "block_k", 4)
    return request.param


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("log", [False, True])
def test_softmax_and_grad(twin, path, dtype, log):
    rng = np.random.default_rng(0)
    ref = reference_dtype(dtype)
    for kind, axis in (("contiguous", 2), ("strided", 1), ("transposed", 0), ("strided", 2)):
        x = layout((rng.standard_normal((3, 11, 6)) * 3).astype(dtype), kind)
        y = sm.softmax(device(x), axis, log)
        expected = twin.softmax(x.astype(ref), axis, log)
        assert_close(y, expected, dtype, err_msg=f"{kind} axis {axis}")
        g = layout(rng.standard_normal(x.shape).astype(dtype), kind)
        gx = sm.softmax_grad(device(g), device(host(y)), axis, log)
        expected = twin.reduce_grad("log_softmax" if log else "softmax", g.astype(ref), None,
                                    host(y).astype(ref), g.shape, (axis,))
        assert_close(gx, expected, dtype, err_msg=f"grad {kind} axis {axis}")


def test_softmax_extremes_stay_in_their_row(twin, path):
    x = np.array([[1e4, -1e4, 0.0, 1e4 - 1],
                  [-np.inf, 0.0, 1.0, -np.inf],
                  [np.nan, 0.0, 1.0, 2.0],
                  [-np.inf, -np.inf, -np.inf, -np.inf],
                  [0.5, 0.25, -0.5, 1.0]], np.float32)
    for log in (False, True):
        with np.errstate(all="ignore"):
            expected = twin.softmax(x, 1, log)
        assert_close(sm.softmax(device(x), 1, log), expected, "float32")


def test_softmax_sizes(twin):
    x = np.zeros((0, 5), np.float32)
    assert host(sm.softmax(device(x), 1, False)).shape == (0, 5)
    one = np.array([[3.0]])
    assert_close(sm.softmax(device(one), 1, True), [[0.0]], "float64")
