"""Specs of ``cummax``, ``cummin``, ``cumprod`` (zeros included), ``logcumsumexp``, ``diff``,
``trapezoid`` / ``trapz``, ``cumulative_trapezoid``."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register

X = np.ones((2, 3))


def _values_indices(out):
    return tuple(out)


def _cum_extreme_samples(rng):
    return [
        Sample((randn(rng, 3, 5), 1)),
        Sample((randn(rng, 4, 3), 0)),
        Sample((randn(rng, 2, 3, 4), -2)),
        Sample((randn(rng), 0)),
        Sample((randn(rng, 0, 3), 1)),
        Sample((np.array([[1, 3, 2, 3, 0], [4, 4, 1, 5, 5]]), 1), note="ties: the later index"),
        Sample((np.array([True, False, True]), 0)),
    ]


def _cumprod_samples(rng):
    return [
        Sample((randn(rng, 3, 5), 1)),
        Sample((randn(rng, 4, 3), 0)),
        Sample((randn(rng, 2, 3, 4), -1)),
        Sample((randn(rng), 0)),
        Sample((randn(rng, 0, 3), 1)),
        Sample((np.array([[1, 3, 2], [4, 0, 5]]), 1)),
        Sample((np.array([True, True, False]), 0)),
    ]


def _cumprod_zero_samples(rng):
    x = randn(rng, 3, 6)
    x[0, 2] = x[1, 0] = x[1, 4] = x[2, 5] = 0.0
    y = randn(rng, 5, 2)
    y[1, 0] = y[3, 0] = y[4, 1] = 0.0
    return [Sample((x, 1)), Sample((y, 0))]


def _logcumsumexp_samples(rng):
    return [
        Sample((randn(rng, 3, 5), 1)),
        Sample((randn(rng, 4, 3) * 40, 0), note="wide range: no overflow"),
        Sample((randn(rng, 2, 3, 4), -2)),
        Sample((randn(rng), 0)),
        Sample((randn(rng, 0, 3), 1)),
    ]


def _diff_samples(rng):
    return [
        Sample((randn(rng, 3, 5),)),
        Sample((randn(rng, 4, 3), 2, 0)),
        Sample((randn(rng, 3, 4), 1, 1, randn(rng, 3, 2), randn(rng, 3, 1))),
        Sample((randn(rng, 3, 4), 1, 0), {"append": None}),
        Sample((randn(rng, 3, 4), 0)),
        Sample((randn(rng, 3, 2), 4)),
        Sample((randn(rng, 0, 3), 1, 0)),
        Sample((np.array([3, 1, 4, 1, 5]), 2)),
        Sample((np.array([True, False, False, True]),)),
    ]


def _diff(m, x, n=1, dim=-1, prepend=None, append=None, **kwargs):
    return m.diff(x, n, dim, prepend, append, **kwargs)


def _trapezoid_samples(rng):
    return [
        Sample((randn(rng, 3, 5),)),
        Sample((randn(rng, 3, 5), np.sort(randn(rng, 5)))),
        Sample((randn(rng, 4, 3), np.sort(randn(rng, 4)), 0)),
        Sample((randn(rng, 2, 4), np.sort(randn(rng, 2, 4), axis=1))),
        Sample((randn(rng, 4, 3), None, 0), {"dx": 0.5}),
        Sample((randn(rng, 3, 0),)),
        Sample((np.array([[1, 4, 2], [3, 0, 5]]),)),
    ]


def _trapezoid(fn):
    def op(m, y, x=None, dim=-1, **kwargs):
        if x is None:
            return getattr(m, fn)(y, dim=dim, **kwargs)
        return getattr(m, fn)(y, x, dim=dim, **kwargs)
    return op


_TRAPEZOID_ERRORS = [
    ErrorCase((X, np.ones(4)), RuntimeError, "There must be one `x` value for each sample"),
    ErrorCase((np.array(2.0),), IndexError, "Dimension specified as -1 but tensor has no"),
]

register(
    OpSpec("cummax", lambda m, x, d: m.cummax(x, d), _cum_extreme_samples,
           outputs=_values_indices, errors=[
               ErrorCase((X, 2), IndexError, "Dimension out of range"),
           ]),
    OpSpec("cummin", lambda m, x, d: m.cummin(x, d), _cum_extreme_samples,
           outputs=_values_indices),
    OpSpec("cumprod", lambda m, x, d: m.cumprod(x, d), _cumprod_samples),
    OpSpec("cumprod_zeros", lambda m, x, d: m.cumprod(x, d), _cumprod_zero_samples),
    OpSpec("logcumsumexp", lambda m, x, d: m.logcumsumexp(x, d), _logcumsumexp_samples, errors=[
        ErrorCase((np.array([1, 2]), 0), NotImplementedError, "not implemented for 'Long'"),
    ]),
    OpSpec("diff", _diff, _diff_samples, errors=[
        ErrorCase((np.array(3.0),), RuntimeError, "at least one-dimensional"),
        ErrorCase((X, -1), RuntimeError, "order must be non-negative but got -1"),
        ErrorCase((X, 1, 0, np.ones(3)), RuntimeError, "same dimension as input"),
        ErrorCase((X, 1, 1, None, np.ones((3, 1))), RuntimeError,
                  r"input.size\(0\) = 2, but got tensor.size\(0\) = 3"),
    ]),
    OpSpec("trapezoid", _trapezoid("trapezoid"), _trapezoid_samples, errors=_TRAPEZOID_ERRORS),
    OpSpec("trapz", _trapezoid("trapz"), _trapezoid_samples),
    OpSpec("cumulative_trapezoid", _trapezoid("cumulative_trapezoid"), _trapezoid_samples,
           errors=_TRAPEZOID_ERRORS),
)

# (tests/autograd/test_node_names.py) Graphs built differently from PyTorch's, same gradients.
STRUCTURE_DIFFERS = {
    "diff": "n = 0 is a clone (PyTorch: a copy); a scalar dx multiplies the other way round",
    **dict.fromkeys(["trapezoid", "trapz", "cumulative_trapezoid"],
                    "sums and products in another order than PyTorch's composite"),
}
