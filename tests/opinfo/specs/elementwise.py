"""Specs of the elementwise ops."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, away_from, randn, register

SHAPES_UNARY = [(3, 4), (), (5,), (2, 0, 3), (2, 3, 4)]


def unary_samples(lo=None, hi=None, kinks=()):
    def make(rng):
        out = []
        for shape in SHAPES_UNARY:
            x = randn(rng, *shape, lo=lo, hi=hi)
            out.append(Sample((away_from(x, kinks),)))
        return out

    return make


def unary(name, lo=None, hi=None, kinks=(), gradgrad=True, **kw):
    return OpSpec(name, lambda m, x, _n=name: getattr(m, _n)(x),
                  unary_samples(lo, hi, kinks), gradgrad=gradgrad, **kw)


register(
    unary("neg"), unary("abs", kinks=(0,)), unary("exp"), unary("log", lo=0.2, hi=3),
    unary("log1p", lo=-0.5, hi=3), unary("expm1"), unary("sqrt", lo=0.2, hi=3),
    unary("rsqrt", lo=0.2, hi=3), unary("sin"), unary("cos"), unary("tanh"), unary("sigmoid"),
    unary("sinh"), unary("cosh"),
    unary("relu", kinks=(0,)), unary("reciprocal", lo=0.3, hi=3), unary("square"),
    unary("sign", kinks=(0,)), unary("floor", kinks=(-2, -1, 0, 1, 2)),
    unary("ceil", kinks=(-2, -1, 0, 1, 2)),
)

# Pairs of broadcastable shapes: equal, broadcast both ways, 0-d, zero-size, rank-extending.
SHAPES_BINARY = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((), (2, 3)),
                 ((2, 3), ()), ((2, 0, 3), (3,)), ((2, 1, 3), (4, 1))]


def binary_samples(lo=None, hi=None, lo_b=None, hi_b=None, scalars=True):
    def make(rng):
        out = []
        for sa, sb in SHAPES_BINARY:
            a = randn(rng, *sa, lo=lo, hi=hi)
            b = randn(rng, *sb, lo=lo_b if lo_b is not None else lo,
                      hi=hi_b if hi_b is not None else hi)
            out.append(Sample((a, b)))
        if scalars:  # Python numbers on either side
            out.append(Sample((randn(rng, 3, 4, lo=lo, hi=hi), 2.5)))
            out.append(Sample((1.5, randn(rng, 4, lo=lo_b or lo, hi=hi_b or hi))))
        return out

    return make


def binary(name, fn, **kw):
    sample_kw = {k: kw.pop(k) for k in ("lo", "hi", "lo_b", "hi_b", "scalars") if k in kw}
    return OpSpec(name, fn, binary_samples(**sample_kw), **kw)


SHAPE_ERR = ErrorCase((np.ones((2, 3)), np.ones((4,))), RuntimeError, r"size of tensor a \(3\)")

register(
    binary("add", lambda m, a, b: m.add(a, b), errors=[SHAPE_ERR]),
    binary("sub", lambda m, a, b: m.sub(a, b), errors=[
        ErrorCase((np.ones(3, bool), np.ones(3)), RuntimeError, "with a bool tensor"),
        ErrorCase((np.ones(3), np.ones(3, bool)), RuntimeError, "with a bool tensor"),
        ErrorCase((np.ones(3, bool), np.ones(3, bool)), RuntimeError, "two bool tensors")]),
    binary("mul", lambda m, a, b: a * b, errors=[SHAPE_ERR]),
    binary("div", lambda m, a, b: a / b, lo_b=0.5, hi_b=2.0),
    binary("pow", lambda m, a, b: m.pow(a, b), lo=0.5, hi=2.0, lo_b=-1.5, hi_b=1.5),
    binary("maximum", lambda m, a, b: m.maximum(a, b), scalars=False),
    binary("minimum", lambda m, a, b: m.minimum(a, b), scalars=False),
    binary("add_alpha", lambda m, a, b: m.add(a, b, alpha=0.5), scalars=False),
    binary("rsub_operator", lambda m, a, b: 2.0 - a * b, errors=[  # 1 - mask: use ~mask
        ErrorCase((np.ones(3, bool), np.ones(3, bool)), RuntimeError, "with a bool tensor")]),
    # Python numbers on the left take the operators' reflected forms.
    binary("radd_rmul_operators", lambda m, a, b: 2.0 + 3.0 * a - 0.5 * b),
    binary("rdiv_operator", lambda m, a, b: 2.0 / (a * a + b * b + 0.5)),
    binary("rpow_operator", lambda m, a, b: 1.5 ** (a * b)),
)


def _where_samples(rng):
    return [
        Sample((rng.standard_normal((3, 4)) > 0, randn(rng, 3, 4), randn(rng, 3, 4))),
        Sample((rng.standard_normal((3, 1)) > 0, randn(rng, 1, 4), randn(rng, 4))),
        Sample((rng.standard_normal((3, 4)) > 0, randn(rng, 3, 4), 0.0)),
    ]


def _clamp_samples(rng):
    x = away_from(randn(rng, 4, 5), (-0.5, 0.5))
    return [Sample((x,), {"min": -0.5, "max": 0.5}), Sample((x,), {"min": -0.5}),
            Sample((x,), {"max": 0.5}), Sample((x[:0],), {"min": 0.0})]


def _clamp_tensor_samples(rng):
    """Tensor bounds, broadcast; the last has min > max (the result is max)."""
    x = away_from(randn(rng, 4, 5), (-0.5, 0.5, 0.3, -0.3))
    lo, hi = np.full(5, -0.5), np.full((4, 1), 0.5)
    return [Sample((x, lo, hi)), Sample((x, lo, None)), Sample((x, None, hi)),
            Sample((x[:0], lo, np.full((1, 1), 0.5))),
            Sample((x, np.full(5, 0.3), np.full((4, 1), -0.3)))]


register(
    OpSpec("where", lambda m, c, a, b: m.where(c, a, b), _where_samples,
           errors=[ErrorCase((np.ones(3), np.ones(3), np.ones(3)), RuntimeError, "bool")]),
    OpSpec("Tensor.where", lambda m, c, a, b: a.where(c, b), _where_samples),
    OpSpec("clamp", lambda m, x, **kw: m.clamp(x, **kw), _clamp_samples,
           errors=[ErrorCase((np.ones(3),), RuntimeError, "At least one")]),
    OpSpec("clamp_tensor", lambda m, x, lo, *hi, **kw: m.clamp(x, lo, *hi, **kw),
           _clamp_tensor_samples,
           errors=[ErrorCase((np.ones(3), np.ones(3)), TypeError, "min", {"max": 1.0}),
                   ErrorCase((np.ones(3), np.ones(3), np.ones(2)), RuntimeError, "size")]),
)


def _compare_samples(rng):
    a = np.round(randn(rng, 3, 4))
    return [Sample((a, np.round(randn(rng, 4)))), Sample((a, 0.0)), Sample((a, a.copy()))]


for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    register(OpSpec(_name, lambda m, a, b, _n=_name: getattr(m, _n)(a, b), _compare_samples,
                    differentiable=False, errors=[SHAPE_ERR]))
