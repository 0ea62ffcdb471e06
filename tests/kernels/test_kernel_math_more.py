"""The kernels of ``kernels/math_more.py`` and ``kernels/binary_math_more.py`` against their
twins where the random values of ``test_kernel_elementwise.py`` do not go: poles and reflections
of digamma and its gradient, tails, infinities, NaNs, signed zeros, ties, Python-number
operands."""

from __future__ import annotations

import numpy as np
import pytest
from gpugrad.kernels import elementwise_ops as ew
from kernel_helpers import assert_close, device, host

INF, NAN = np.inf, np.nan

UNARY_EDGES = {
    "digamma": [-3.7, -2.5, -1.0, -0.5, -0.0, 0.0, 1e-8, 0.3, 1.0, 9.99, 10.0, 1e6, INF, NAN],
    "lgamma": [-3.7, -2.5, -1.0, -0.5, 0.0, 1e-8, 0.3, 1.0, 2.0, 30.0, 1e6, INF, NAN],
    "erfc": [-10.0, -0.4, 0.0, 0.46, 0.47, 3.9, 4.1, 10.0, 27.0, INF, -INF, NAN],
    "erfinv": [-1.0, -0.999999, -0.5, 0.0, 1e-10, 0.47, 0.9, 1.0, 1.5, NAN],
    "sinc": [-0.0, 0.0, 1e-20, 1.0, -2.5, 1e6, NAN],
    "sgn": [-0.0, 0.0, -2.0, 3.0, INF, -INF, NAN],
    "frac": [-2.5, -0.0, 3.75, 1e20, NAN],
    "i0": [0.0, 1.0, -5.0, 19.9, 20.1, 50.0, NAN],
}


@pytest.mark.parametrize("op", sorted(UNARY_EDGES))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_unary_edges(twin, op, dtype):
    x = np.array(UNARY_EDGES[op], dtype)
    with np.errstate(all="ignore"):
        expected = twin.unary(op, x)
    out = ew.unary(op, device(x))
    assert_close(out, expected, dtype, err_msg=op)
    g = np.ones_like(x)
    with np.errstate(all="ignore"):
        expected_grad = twin.unary_grad(op, g, x, host(out))
    assert_close(ew.unary_grad(op, device(g), device(x), out), expected_grad, dtype,
                 err_msg=f"{op} grad")


BINARY_EDGES = {
    "fmax": ([1.0, 2.0, NAN, NAN, 3.0, -INF], [1.0, NAN, 2.0, NAN, INF, -INF]),
    "fmin": ([1.0, 2.0, NAN, NAN, 3.0, -INF], [1.0, NAN, 2.0, NAN, INF, -INF]),
    "logaddexp": ([-INF, INF, -INF, 0.0, 1000.0, NAN], [-INF, INF, 0.0, 0.0, 999.0, 1.0]),
    "logaddexp2": ([-INF, INF, -INF, 0.0, 1000.0, NAN], [-INF, INF, 0.0, 0.0, 999.0, 1.0]),
    "xlogy": ([0.0, 0.0, 0.0, 2.0, 1.0, -1.0], [0.0, -1.0, NAN, 0.0, -1.0, 3.0]),
    "xlog1py": ([0.0, 0.0, 0.0, 2.0, 1.0, -1.0], [-1.0, -2.0, NAN, -1.0, 0.5, 3.0]),
    "copysign": ([0.0, -0.0, 2.0, -2.0, 0.0, NAN], [-1.0, 1.0, -0.0, 0.0, NAN, -1.0]),
    "atan2": ([0.0, -0.0, 1.0, -1.0, INF, 0.0], [0.0, -1.0, 0.0, -INF, INF, 1e-300]),
    "hypot": ([0.0, 3.0, INF, NAN, 1e300, 0.0], [1.0, 4.0, NAN, INF, 1e300, 0.0]),
}


@pytest.mark.parametrize("op", sorted(BINARY_EDGES))
def test_binary_edges(twin, op):
    a, b = (np.array(v) for v in BINARY_EDGES[op])
    with np.errstate(all="ignore"):
        expected = twin.binary(op, a, b)
    out = ew.binary(op, device(a), device(b))
    assert_close(out, expected, "float64", err_msg=op)
    g = np.ones_like(a)
    with np.errstate(all="ignore"):
        ea, eb = twin.binary_grad(op, g, a, b, host(out), True, True)
    ga, gb = ew.binary_grad(op, device(g), device(a), device(b), out, True, True)
    assert_close(ga, ea, "float64", err_msg=f"{op} grad a")
    assert_close(gb, eb, "float64", err_msg=f"{op} grad b")
    for s in (0.0, -1.5, 2.0):  # a Python number on either side, forward and gradients
        for x, y in ((device(a), s), (s, device(b))):
            with np.errstate(all="ignore"):
                expected = twin.binary(op, host(x) if hasattr(x, "shape") else x,
                                       host(y) if hasattr(y, "shape") else y)
                ea, eb = twin.binary_grad(op, g, x if not hasattr(x, "shape") else host(x),
                                          y if not hasattr(y, "shape") else host(y),
                                          expected, True, True)
            assert_close(ew.binary(op, x, y), expected, "float64", err_msg=f"{op} {s}")
            ga, gb = ew.binary_grad(op, device(g), x, y, device(expected), True, True)
            assert_close(ga, ea, "float64", err_msg=f"{op} {s} grad a")
            assert_close(gb, eb, "float64", err_msg=f"{op} {s} grad b")


def test_fmax_fmin_keep_integers(twin):
    a, b = np.array([3, -7, 0], np.int64), np.array([2, 5, 0], np.int64)
    for op in ("fmax", "fmin"):
        assert_close(ew.binary(op, device(a), device(b)), twin.binary(op, a, b), "int64")
