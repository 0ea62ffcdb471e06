"""Specs of the reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std, norm,
all/any, cumsum. Values are distinct (no ties) and away from kinks; tie-breaking is tested
against PyTorch in tests/ops/test_reduction.py."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register

# (shape, kwargs): all dims, one dim, negative dims, tuples, keepdim both ways, 0-d, zero-size.
DIMS_CASES = [
    ((3, 4), {}),
    ((3, 4), {"dim": 1}),
    ((2, 3, 4), {"dim": -1, "keepdim": True}),
    ((2, 3, 4), {"dim": (0, 2)}),
    ((2, 3, 4), {"dim": (-1, 0), "keepdim": True}),
    ((), {}),
    ((), {"dim": 0}),
    ((5,), {"dim": 0, "keepdim": True}),
    ((2, 0, 3), {"dim": 1}),
    ((2, 0, 3), {"dim": 0, "keepdim": True}),
    ((2, 0, 3), {}),
]
# One dim at a time (prod, max(dim), cumsum...); zero-size only along a kept dim.
DIM_CASES = [
    ((3, 4), {"dim": 1}),
    ((2, 3, 4), {"dim": -2, "keepdim": True}),
    ((2, 3, 4), {"dim": 0}),
    ((), {"dim": 0}),
    ((), {"dim": -1, "keepdim": True}),
    ((5,), {"dim": -1}),
    ((2, 0, 3), {"dim": 2}),
]


def distinct(rng, *shape, lo=0.0):
    """Values at least 0.2 apart (no ties), |x| >= lo + 0.05, random signs and order."""
    n = int(np.prod(shape)) if shape else 1
    mags = lo + 0.05 + 0.2 * rng.permutation(n) + rng.uniform(0, 0.05, n)
    return (mags * rng.choice([-1.0, 1.0], n)).reshape(shape)


def samples(cases, make=randn):
    def build(rng):
        return [Sample((np.asarray(make(rng, *shape)),), dict(kw)) for shape, kw in cases]

    return build


def op(name):
    return lambda m, x, _n=name, **kw: getattr(m, _n)(x, **kw)


def method(name):
    return lambda m, x, _n=name, **kw: getattr(x, _n)(**kw)


BAD_DIM = ErrorCase((np.ones((2, 3)),), IndexError,
                    r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 5\)",
                    {"dim": 5})
TWICE = ErrorCase((np.ones((2, 3)),), RuntimeError, "appears multiple times", {"dim": (1, -1)})
INT = np.ones((2, 3), dtype=np.int64)
EMPTY_DIM = np.ones((2, 0))

register(
    OpSpec("sum", op("sum"), samples(DIMS_CASES), errors=[BAD_DIM, TWICE]),
    OpSpec("sum_method", method("sum"), samples(DIMS_CASES[:5])),
    OpSpec("mean", op("mean"), samples(DIMS_CASES), errors=[
        BAD_DIM, ErrorCase((INT,), RuntimeError, r"mean\(\): could not infer output dtype")]),
    OpSpec("mean_method", method("mean"), samples(DIMS_CASES[:5])),
)


def _prod_samples(rng):
    out = samples([((3, 4), {}), ((), {})] + DIM_CASES + [((2, 0, 3), {"dim": 1})],
                  lambda rng, *s: randn(rng, *s, lo=0.5, hi=1.5) * rng.choice([-1, 1], s))(rng)
    one_zero = randn(rng, 3, 4, lo=0.5, hi=1.5)
    one_zero[0, 1] = one_zero[2, 3] = 0.0
    two_zeros = randn(rng, 3, 4, lo=0.5, hi=1.5)
    two_zeros[1, 0] = two_zeros[1, 2] = 0.0
    return out + [
        Sample((one_zero,), {"dim": 1}, note="one zero per row"),
        Sample((two_zeros,), {"dim": 1}, note="two zeros in a row"),
        Sample((two_zeros,), {"dim": 0, "keepdim": True}, note="one zero per column"),
        Sample((one_zero[0],), {}, note="one zero, full product"),
        Sample((two_zeros[1],), {}, note="two zeros, full product"),
    ]


register(
    OpSpec("prod", op("prod"), _prod_samples, errors=[
        BAD_DIM, ErrorCase((np.ones((2, 3)),), TypeError, "dim", {"dim": (0, 1)})]),
    OpSpec("prod_method", method("prod"), samples(DIM_CASES[:2], distinct)),
)

FULL_CASES = [((3, 4), {}), ((), {}), ((5,), {}), ((2, 3, 4), {})]
EMPTY_FULL = ErrorCase((np.ones((0, 3)),), RuntimeError,
                       r"Expected reduction dim to be specified for input.numel\(\) == 0")
NONEMPTY_DIMS = [c for c in DIMS_CASES if 0 not in c[0] or c[1].get("dim") == 0]

for _name in ("max", "min"):
    register(
        OpSpec(_name, op(_name), samples(FULL_CASES, distinct), errors=[EMPTY_FULL]),
        OpSpec(f"{_name}_dim", op(_name), samples(DIM_CASES, distinct), errors=[
            BAD_DIM,
            ErrorCase((EMPTY_DIM,), IndexError,
                      rf"{_name}\(\): Expected reduction dim 1 to have non-zero size", {"dim": -1}),
            ErrorCase((np.ones((2, 3)),), TypeError, "dim", {"dim": (0, 1)}),
        ]),
        OpSpec(f"{_name}_method_dim", lambda m, x, _n=_name: getattr(x, _n)(1, True),
               samples([((3, 4), {})], distinct)),
        OpSpec(f"{_name}_binary", lambda m, a, b, _n=_name: getattr(a, _n)(b),
               lambda rng: [Sample((distinct(rng, 3, 4), distinct(rng, 3, 4) + 0.1))]),
    )

for _name in ("amax", "amin"):
    register(OpSpec(_name, op(_name), samples(NONEMPTY_DIMS, distinct), errors=[
        BAD_DIM, EMPTY_FULL,
        ErrorCase((EMPTY_DIM,), IndexError, rf"{_name}\(\): Expected reduction dim -1 to have "
                  "non-zero size", {"dim": (0, -1)}),
    ]))

ARG_CASES = [((3, 4), {}), ((3, 4), {"keepdim": True}), ((2, 3, 4), {"dim": 1}),
             ((2, 3, 4), {"dim": -1, "keepdim": True}), ((), {}), ((), {"dim": 0}),
             ((2, 0, 3), {"dim": 2})]
for _name in ("argmax", "argmin"):
    register(OpSpec(_name, op(_name), samples(ARG_CASES, distinct), differentiable=False, errors=[
        BAD_DIM,
        ErrorCase((np.ones((0,)),), IndexError, "Expected reduction dim to be specified"),
        ErrorCase((EMPTY_DIM,), IndexError, "Expected reduction dim 1 to have non-zero size",
                  {"dim": 1}),
        ErrorCase((np.ones(3, dtype=bool),), RuntimeError, "does not support bool input"),
    ]))

VAR_CASES = [
    ((3, 4), {}),
    ((3, 4), {"dim": 1}),
    ((2, 3, 4), {"dim": (0, 2), "correction": 0}),
    ((2, 3, 4), {"dim": -1, "unbiased": False, "keepdim": True}),
    ((2, 3, 4), {"dim": (-1, 1), "correction": 2, "keepdim": True}),
    ((3, 4), {"correction": 0.5}),
    ((), {"correction": 0}),
    ((5,), {"dim": 0}),
    ((2, 0, 3), {"dim": 0}),
]
VAR_ERRORS = [
    BAD_DIM, ErrorCase((INT,), RuntimeError, "only support floating point"),
    ErrorCase((np.ones((2, 3)),), TypeError, "either unbiased or correction",
              {"dim": 1, "unbiased": False, "correction": 0}),
]
register(
    OpSpec("var", op("var"), samples(VAR_CASES, distinct), errors=VAR_ERRORS),
    OpSpec("std", op("std"), samples(VAR_CASES, distinct), errors=VAR_ERRORS),
    OpSpec("std_method", method("std"), samples(VAR_CASES[1:3], distinct)),
)

INF = float("inf")
NORM_CASES = [
    ((3, 4), {}),
    ((2, 3, 4), {"dim": 1}),
    ((3, 4), {"p": 1, "dim": 1}),
    ((2, 3, 4), {"p": INF, "dim": -1, "keepdim": True}),
    ((2, 3, 4), {"p": -INF, "dim": (0, 2)}),
    ((2, 3, 4), {"p": 3, "dim": (0, 2)}),
    ((3, 4), {"p": 0.5}),
    ((3, 4), {"p": -1, "dim": 0}),
    ((3, 4), {"p": 1.5, "dim": 1, "keepdim": True}),
    ((3, 4), {"p": 0, "dim": 1}),
    ((2, 3, 4), {"p": "fro", "dim": (0, 1)}),
    ((), {}),
    ((2, 0, 3), {}),
    ((2, 0, 3), {"p": INF, "dim": 0}),
]
register(
    OpSpec("norm", op("norm"), samples(NORM_CASES, distinct), errors=[
        BAD_DIM,
        ErrorCase((INT,), RuntimeError, "Expected a floating point"),
        ErrorCase((np.ones((0, 3)),), RuntimeError, "cannot compute the inf norm", {"p": INF}),
        ErrorCase((np.ones((2, 3)),), RuntimeError, "Order abc not supported", {"p": "abc"}),
    ]),
    OpSpec("norm_method", lambda m, x: x.norm(2, 1, True), samples([((3, 4), {})])),
)


def _logical(name):
    return lambda m, x, _n=name, **kw: getattr(m, _n)(x > 0, **kw)


def _mostly(shift):
    """Random values shifted so that both all() and any() see True and False results."""
    return lambda rng, *shape: randn(rng, *shape) + shift


for _name, _shift in (("all", 0.8), ("any", -0.8)):
    register(OpSpec(_name, _logical(_name), samples(DIMS_CASES, _mostly(_shift)),
                    differentiable=False, errors=[BAD_DIM]))

CUMSUM_CASES = DIM_CASES + [((2, 0, 3), {"dim": 1}), ((3, 4), {"dim": 0, "dtype": "float64"})]


def _cumsum(m, x, dtype=None, **kw):
    return m.cumsum(x, dtype=None if dtype is None else getattr(m, dtype), **kw)


register(OpSpec(
    "cumsum", _cumsum,
    samples([(s, {k: v for k, v in kw.items() if k != "keepdim"}) for s, kw in CUMSUM_CASES]),
    errors=[BAD_DIM, ErrorCase((np.ones(3),), TypeError, "dim")],
))
