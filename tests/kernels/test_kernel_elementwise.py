"""Elementwise kernels against the NumPy twins: every op, dtype, layout, broadcasting, extremes."""

from __future__ import annotations

import numpy as np
import pytest
from gpugrad.kernels import elementwise
from gpugrad.kernels import elementwise_ops as ew
from kernel_helpers import assert_close, device, host, layout, reference_dtype, seeded_rng

from gpugrad.backend import formulas
from gpugrad.backend.formulas import UNARY

FLOATS = ("float32", "float64", "float16", "bfloat16")
LAYOUTS = ("contiguous", "strided", "transposed")
POSITIVE = {"log", "sqrt", "rsqrt", "log1p", "reciprocal", "log10", "log2"}
# The domains of the inverse functions; tan away from its poles (its gradient overflows float16).
RANGES = {"acos": (-0.95, 0.95), "asin": (-0.95, 0.95), "atanh": (-0.95, 0.95),
          "erfinv": (-0.95, 0.95), "acosh": (1.05, 4.0), "tan": (-1.3, 1.3),
          "digamma": (0.1, 6.0), "lgamma": (0.1, 6.0),  # (poles: test_kernel_math_more.py)
          "special_erfcx": (-2.0, 3.0)}  # (its gradient overflows float16 below -2.5)


def _values(rng, op, shape):
    if op in POSITIVE:
        return rng.uniform(0.2, 3.0, shape)
    return rng.uniform(*RANGES.get(op, (-3.0, 3.0)), shape)


def test_kernel_tables_name_the_formula_ops():
    """Every elementwise formula has its kernel (forward and each gradient), and no kernel
    lacks a formula: adding an op means one entry in each table."""
    assert sorted(ew.um.UNARY) == sorted(formulas.UNARY)
    for op, (_, grad) in ew.um.UNARY.items():
        assert (grad is None) == (formulas.UNARY[op].grad is None), op
    assert sorted(ew.bm.BINARY) == sorted(formulas.BINARY)
    assert sorted(ew.bm.COMPARE) == sorted(formulas.COMPARE)
    assert sorted(ew.bm.BITWISE) == sorted(formulas.BITWISE)


@pytest.mark.parametrize("op", sorted(ew.um.UNARY))
@pytest.mark.parametrize("dtype", FLOATS)
def test_unary_and_grad(twin, op, dtype):
    rng = seeded_rng(op, dtype)
    ref = reference_dtype(dtype)
    for kind in LAYOUTS:
        x = layout(_values(rng, op, (7, 13)).astype(dtype), kind)
        out = ew.unary(op, device(x))
        expected = twin.unary(op, x.astype(ref))
        assert host(out).dtype == np.dtype(dtype) and host(out).flags.c_contiguous
        assert_close(out, expected, dtype, err_msg=f"{op} {kind}")
        g = layout(rng.standard_normal((7, 13)).astype(dtype), kind)
        y = host(out)
        grad = ew.unary_grad(op, device(g), device(x), device(y))
        expected = UNARY[op].grad(np, g.astype(ref), x.astype(ref), y.astype(ref))
        assert_close(grad, expected, dtype, err_msg=f"{op} grad {kind}")


@pytest.mark.parametrize("op", ["exp", "log", "sigmoid", "tanh", "relu", "abs", "neg", "sqrt",
                                "expm1", "log1p", "sign", "round", "gelu", "silu"])
def test_unary_extremes(twin, op):
    x = np.array([0.0, -0.0, 1e4, -1e4, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 0.5, 2.5],
                 np.float32)
    with np.errstate(all="ignore"):
        expected = twin.unary(op, x)
    assert_close(ew.unary(op, device(x)), expected, "float32", atol=1e-6)


@pytest.mark.parametrize("op", sorted(ew.um.UNARY_INT))
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8"])
def test_unary_int(twin, op, dtype):
    x = np.arange(-7, 8, dtype=dtype).reshape(3, 5)
    assert_close(ew.unary(op, device(x)), twin.unary(op, x), dtype)


BROADCAST = [((5, 1, 7), (3, 7)), ((1,), (4, 3)), ((), (6,)), ((2, 3, 4, 5, 6), (5, 1)),
             ((0, 3), (3,)), ((4, 1, 3, 1, 2), (1, 5, 1, 4, 1))]


@pytest.mark.parametrize("op", sorted(ew.bm.BINARY))
@pytest.mark.parametrize("dtype", FLOATS)
def test_binary_and_grad(twin, op, dtype):
    rng = seeded_rng(op, dtype)
    ref = reference_dtype(dtype)
    for shape_a, shape_b in BROADCAST:
        a = layout(rng.uniform(0.5, 2.0, shape_a).astype(dtype), "strided")
        b = layout(rng.uniform(0.5, 2.0, shape_b).astype(dtype), "transposed")
        out = ew.binary(op, device(a), device(b))
        expected = twin.binary(op, a.astype(ref), b.astype(ref))
        assert_close(out, expected, dtype, err_msg=f"{op} {shape_a} {shape_b}")
        g = rng.standard_normal(expected.shape).astype(dtype)
        ga, gb = ew.binary_grad(op, device(g), device(a), device(b), out, True, True)
        ea, eb = twin.binary_grad(op, g.astype(ref), a.astype(ref), b.astype(ref),
                                  host(out).astype(ref), True, True)
        assert_close(ga, np.broadcast_to(ea, g.shape), dtype, err_msg=f"{op} grad a")
        assert_close(gb, np.broadcast_to(eb, g.shape), dtype, err_msg=f"{op} grad b")
        only_b = ew.binary_grad(op, device(g), device(a), device(b), out, False, True)
        assert only_b[0] is None
        assert_close(only_b[1], np.broadcast_to(eb, g.shape), dtype)


@pytest.mark.parametrize("op", sorted(ew.bm.BINARY))
def test_binary_scalars(twin, op):
    rng = np.random.default_rng(3)
    a = rng.uniform(0.5, 2.0, (5, 9))
    for dtype in ("float64", "float32"):
        x = a.astype(dtype)
        for s in (0.1, 2, 3.7):
            assert_close(ew.binary(op, device(x), s), twin.binary(op, x, s), dtype)
            assert_close(ew.binary(op, s, device(x)), twin.binary(op, s, x), dtype)
    # float64 scalars keep every bit (Triton itself would pass them as float32)
    out = host(ew.binary("add", device(np.zeros(3)), 0.1))
    assert out.tolist() == [0.1, 0.1, 0.1]


def test_binary_pow_and_max_special_cases(twin):
    a = np.array([0.0, 0.0, 2.0, -1.0, np.nan, 1.0, 3.0])
    b = np.array([0.0, 2.0, 0.0, 2.0, 1.0, np.nan, 3.0])
    g = np.ones_like(a)
    for op in ("pow", "maximum", "minimum"):
        out = ew.binary(op, device(a), device(b))
        with np.errstate(all="ignore"):
            expected = twin.binary(op, a, b)
            ea, eb = twin.binary_grad(op, g, a, b, expected, True, True)
        assert_close(out, expected, "float64")
        ga, gb = ew.binary_grad(op, device(g), device(a), device(b), out, True, True)
        assert_close(ga, ea, "float64")
        assert_close(gb, eb, "float64")


def test_add_sub_grads_pass_the_gradient_on(twin):
    g = device(np.arange(6.0).reshape(2, 3))
    ga, gb = ew.binary_grad("add", g, None, None, None, True, True)
    assert ga is g and gb is g
    ga, gb = ew.binary_grad("sub", g, None, None, None, True, True)
    assert ga is g
    assert_close(gb, -np.arange(6.0).reshape(2, 3), "float64")


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8"])
def test_binary_int(twin, dtype):
    rng = np.random.default_rng(4)
    a = rng.integers(0, 50, (4, 6)).astype(dtype)
    b = layout(rng.integers(1, 50, (6,)).astype(dtype), "strided")
    for op in sorted(ew.bm.BINARY_INT):
        assert_close(ew.binary(op, device(a), device(b)), twin.binary(op, a, b), dtype)
        assert_close(ew.binary(op, device(a), 7), twin.binary(op, a, 7), dtype)
    for op in sorted(ew.bm.BITWISE):
        assert_close(ew.bitwise(op, device(a), device(b)), twin.bitwise(op, a, b), dtype)


@pytest.mark.parametrize("dtype", ["int64", "int8", "uint8"])
def test_shifts_out_of_range_as_pytorch(twin, dtype):
    """Shifts by negative amounts or by the width or more: PyTorch's (and NumPy's) 0 to the
    left and the sign to the right, where LLVM's shift would be undefined."""
    info = np.iinfo(dtype)
    a = np.array([5, -5, 1, -1, 100, -100, 0, 7], np.int64).clip(info.min, info.max)
    b = np.array([1, 1, 70, 70, 9, 9, -1, 8], np.int64).clip(info.min, info.max)
    a, b = a.astype(dtype), b.astype(dtype)
    for op in ("bitwise_left_shift", "bitwise_right_shift"):
        assert_close(ew.bitwise(op, device(a), device(b)), twin.bitwise(op, a, b), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float16", "int64", "bool"])
def test_compare(twin, dtype):
    rng = np.random.default_rng(5)
    a = rng.integers(0, 3, (4, 5)).astype(dtype)
    b = layout(rng.integers(0, 3, (5,)).astype(dtype), "strided")
    if dtype == "float32":
        a[0, 0] = np.nan
    for op in sorted(ew.bm.COMPARE):
        out = ew.compare(op, device(a), device(b))
        assert host(out).dtype == np.bool_
        assert_close(out, twin.compare(op, a, b), "bool", err_msg=op)
        scalar = True if dtype == "bool" else 1
        assert_close(ew.compare(op, device(a), scalar), twin.compare(op, a, scalar), "bool")


def test_where(twin):
    rng = np.random.default_rng(6)
    cond = layout(rng.random((3, 1, 5)) > 0.5, "strided")
    for dtype in ("float32", "float64", "float16", "int64"):
        a = rng.standard_normal((4, 5)).astype(dtype)
        b = layout(rng.standard_normal((1, 5)).astype(dtype), "strided")
        assert_close(ew.where(device(cond), device(a), device(b)), twin.where(cond, a, b), dtype)
        assert_close(ew.where(device(cond), device(a), 0), twin.where(cond, a, 0), dtype)
        assert_close(ew.where(device(cond), 2, device(b)), twin.where(cond, 2, b), dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64"])
def test_clamp_and_grad(twin, dtype):
    rng = np.random.default_rng(7)
    x = layout((rng.standard_normal((6, 7)) * 3).astype(dtype), "strided")
    g = rng.standard_normal((6, 7)).astype(dtype)
    for lo, hi in ((-1, 1), (None, 0.5), (-0.5, None), (2, -2)):
        if dtype == "int64":
            lo, hi = (None if v is None else int(v) for v in (lo, hi))
        assert_close(ew.clamp(device(x), lo, hi), twin.clamp(x, lo, hi), dtype)
        assert_close(ew.clamp_grad(device(g), device(x), lo, hi), twin.clamp_grad(g, x, lo, hi),
                     dtype)


def test_clamp_keeps_nan(twin):
    x = np.array([np.nan, -5.0, 5.0, 0.3], np.float32)
    assert_close(ew.clamp(device(x), -1, 1), twin.clamp(x, -1, 1), "float32")


# Contiguous operands broadcast along the leading dims (rows), the trailing dims (columns), or a
# single element: the flat kernel, one index for all. A middle broadcast needs the general one.
FLAT_BROADCAST = [((5, 7), (7,)), ((5, 7), (1, 7)), ((5, 7), (5, 1)), ((2, 3, 4), (3, 4)),
                  ((2, 3, 4), (2, 1, 1)), ((2, 3, 4), (2, 3, 1)), ((2, 3, 4), (1, 1, 1)),
                  ((1, 5, 3), (3,)), ((4, 5), ())]


@pytest.mark.parametrize("shape_a,shape_b", FLAT_BROADCAST)
def test_contiguous_broadcasts_take_the_flat_kernel(twin, shape_a, shape_b):
    rng = np.random.default_rng(9)
    a, b = rng.uniform(0.5, 2.0, shape_a), rng.uniform(0.5, 2.0, shape_b)
    shape = np.broadcast_shapes(shape_a, shape_b)
    assert elementwise.flat_kinds((device(a), device(b)), shape, True) is not None
    for op in ("mul", "pow"):
        out = ew.binary(op, device(a), device(b))
        assert_close(out, twin.binary(op, a, b), "float64", err_msg=f"{op} {shape_a} {shape_b}")
        g = rng.standard_normal(shape)
        ga, gb = ew.binary_grad(op, device(g), device(a), device(b), out, True, True)
        ea, eb = twin.binary_grad(op, g, a, b, host(out), True, True)
        assert_close(ga, np.broadcast_to(ea, shape), "float64")
        assert_close(gb, np.broadcast_to(eb, shape), "float64")
    # a row and a column that split the dims alike share the flat kernel
    c = rng.uniform(0.5, 2.0, (5, 1))
    where = ew.where(device(np.ones((5, 7), bool)), device(rng.standard_normal(7)), device(c))
    assert host(where).shape == (5, 7)


def test_middle_broadcasts_and_strided_operands_take_the_general_kernel():
    a = device(np.ones((3, 4, 5)))
    assert elementwise.flat_kinds((a, device(np.ones((3, 1, 5)))), (3, 4, 5), True) is None
    strided = device(np.ones((3, 10))[:, ::2])
    assert elementwise.flat_kinds((strided,), (3, 5), True) is None
    rows, cols = device(np.ones(5)), device(np.ones((3, 1, 1)))
    assert elementwise.flat_kinds((a, rows, cols), (3, 4, 5), True) is None  # 5 vs 20 inner


def test_layouts_that_do_not_collapse(twin):
    """Five dims that no operand lets merge: the launcher copies to a layout that does."""
    rng = np.random.default_rng(8)
    a = rng.standard_normal((2, 3, 2, 3, 2)).transpose(4, 2, 0, 3, 1)
    b = rng.standard_normal((2, 2, 2, 3, 3))
    assert_close(ew.binary("mul", device(a), device(b)), a * b, "float64")


def test_negative_strides(twin):
    x = np.arange(12.0).reshape(3, 4)[::-1, ::-2]
    assert_close(ew.unary("exp", device(x)), np.exp(x), "float64")


def test_zero_size_and_zero_dim(twin):
    z = np.zeros((0, 4), np.float32)
    assert host(ew.unary("exp", device(z))).shape == (0, 4)
    s = np.array(2.0)
    assert_close(ew.unary("exp", device(s)), np.exp(s), "float64")
    assert_close(ew.binary("mul", device(s), device(s)), s * s, "float64")
