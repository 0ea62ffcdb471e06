"""Specs of the order statistics: ``median``, ``nanmedian``, ``kthvalue``, ``mode``,
``quantile``, ``nanquantile``. Float samples hold distinct values (ties would make the picked
index, and finite differences, depend on the tie-break); ties are checked on integer
samples, NaN in tests/ops/test_reduce_more.py."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register

X = np.ones((2, 3))


def _values_indices(out):
    return tuple(out)


def _median_samples(rng):
    return [
        Sample((randn(rng, 3, 5),)),
        Sample((randn(rng, 4, 6),)),
        Sample((randn(rng),)),
        Sample((randn(rng, 0, 3),)),
        Sample((np.array([[3, 1, 2, 1], [2, 2, 0, 7]]),), note="ties"),
    ]


def _median_dim_samples(rng):
    return [
        Sample((randn(rng, 3, 5), 1)),
        Sample((randn(rng, 4, 6), 0, True)),
        Sample((randn(rng, 2, 3, 4), -2)),
        Sample((randn(rng), 0)),
        Sample((randn(rng, 0, 3), 1)),
        Sample((np.array([[3, 1, 2, 1, 3, 3, 1], [2, 2, 0, 7, 7, 0, 0]]), 1), note="ties"),
    ]


def _kth_samples(rng):
    return [
        Sample((randn(rng, 3, 5), 2)),
        Sample((randn(rng, 3, 5), 3, 0, True)),
        Sample((randn(rng, 2, 3, 4), 4, -1)),
        Sample((randn(rng), 1)),
        Sample((randn(rng, 0, 3), 1)),
        Sample((np.array([[3, 1, 2, 1, 3], [2, 2, 0, 7, 7]]), 4), note="ties"),
    ]


def _mode_samples(rng):
    return [
        Sample((randn(rng, 3, 5),)),
        Sample((randn(rng, 3, 5), 0, True)),
        Sample((randn(rng),)),
        Sample((randn(rng, 0, 3), 1)),
        Sample((np.array([[3, 1, 2, 1, 3, 3, 1], [2, 2, 0, 7, 7, 0, 0]]),), note="ties"),
        Sample((np.array([[4, 4, 0, 0, 0], [1, 2, 2, 1, 5]]), 1, True)),
    ]


def _quantile_samples(rng):
    q3 = np.array([0.0, 0.3, 0.5, 1.0])
    return [
        Sample((randn(rng, 3, 5), 0.3)),
        Sample((randn(rng, 3, 5), 0.75, 1)),
        Sample((randn(rng, 3, 5), q3, 0, True), grad_args=(0,)),
        Sample((randn(rng, 3, 5), q3), {"keepdim": True}, grad_args=(0,)),
        Sample((randn(rng, 2, 3, 4), 0.4, -1), {"interpolation": "lower"}),
        Sample((randn(rng, 2, 3, 4), 0.4, 1), {"interpolation": "higher"}),
        Sample((randn(rng, 2, 5), q3, 1), {"interpolation": "nearest"}, grad_args=(0,)),
        Sample((randn(rng, 2, 5), q3, 1), {"interpolation": "midpoint"}, grad_args=(0,)),
        Sample((randn(rng, 2, 4), np.array(0.25), 1), grad_args=(0,)),
        Sample((randn(rng), 0.5)),
    ]


_QUANTILE_ERRORS = [
    ErrorCase((np.zeros(0), 0.5), RuntimeError, "input tensor must be non-empty"),
    ErrorCase((np.zeros((0, 3)), 0.5, 1), RuntimeError, "input tensor must be non-empty"),
    ErrorCase((X, 1.5), RuntimeError, r"q must be in the range \[0, 1\] but got 1.5"),
    ErrorCase((X, np.array([0.5, 1.5])), RuntimeError, r"q values must be in the range"),
    ErrorCase((np.ones((2, 3), np.int64), 0.5), RuntimeError, "must be either float or double"),
    ErrorCase((X, np.array([0.5], np.float32)), RuntimeError, "must be same dtype"),
    ErrorCase((X, np.full((2, 2), 0.5)), RuntimeError, "q must be a scalar or 1D tensor"),
    ErrorCase((X, 0.5), RuntimeError, "interpolation must be one of",
              {"interpolation": "cubic"}),
    ErrorCase((X, 0.5, 2), IndexError, "Dimension out of range"),
]

register(
    OpSpec("median", lambda m, x: m.median(x), _median_samples),
    OpSpec("median_dim", lambda m, x, *a, **k: m.median(x, *a, **k), _median_dim_samples,
           outputs=_values_indices, errors=[
               ErrorCase((np.zeros((2, 0)), 1), IndexError,
                         "Expected reduction dim 1 to have non-zero size"),
               ErrorCase((X, 2), IndexError, "Dimension out of range"),
           ]),
    OpSpec("nanmedian", lambda m, x: m.nanmedian(x), _median_samples),
    OpSpec("nanmedian_dim", lambda m, x, *a, **k: m.nanmedian(x, *a, **k),
           _median_dim_samples, outputs=_values_indices),
    OpSpec("kthvalue", lambda m, x, *a, **k: m.kthvalue(x, *a, **k), _kth_samples,
           outputs=_values_indices, errors=[
               ErrorCase((X, 4), RuntimeError, "selected number k out of range"),
               ErrorCase((X, 0), RuntimeError, "selected number k out of range"),
               ErrorCase((X, 1, 2), IndexError, "Dimension out of range"),
           ]),
    OpSpec("mode", lambda m, x, *a, **k: m.mode(x, *a, **k), _mode_samples,
           outputs=_values_indices, errors=[
               ErrorCase((np.zeros((2, 0)), 1), IndexError,
                         "Expected reduction dim 1 to have non-zero size"),
           ]),
    OpSpec("quantile", lambda m, x, q, *a, **k: m.quantile(x, q, *a, **k), _quantile_samples,
           errors=_QUANTILE_ERRORS),
    OpSpec("nanquantile", lambda m, x, q, *a, **k: m.nanquantile(x, q, *a, **k),
           _quantile_samples),
)

# (tests/autograd/test_node_names.py) Graphs built differently from PyTorch's, same gradients.
STRUCTURE_DIFFERS = dict.fromkeys(
    ["quantile", "nanquantile"],
    "two gathers and an interpolation in Tensor ops (PyTorch: sort, gathers and lerp)")

# (tests/test_bfloat16.py) PyTorch refuses bfloat16 here on every device.
BFLOAT16_REFUSED = dict.fromkeys(
    ["quantile", "nanquantile"],
    (RuntimeError, "input tensor must be either float or double dtype"))
