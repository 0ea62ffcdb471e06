"""Specs of ``nansum``, ``nanmean``, ``var_mean``, ``std_mean``, ``aminmax``,
``count_nonzero``, ``dist``, ``renorm``, ``cov``, ``corrcoef`` (NaN inputs: in
tests/ops/test_reduce_more.py)."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register

X = np.ones((2, 3))


def _reduce_samples(rng):
    return [
        Sample((randn(rng, 3, 4),)),
        Sample((randn(rng, 3, 4), 1)),
        Sample((randn(rng, 2, 3, 4), (0, 2), True)),
        Sample((randn(rng),)),
        Sample((randn(rng, 0, 3), 1)),
    ]


def _var_mean_samples(rng):
    return [
        Sample((randn(rng, 3, 4),)),
        Sample((randn(rng, 3, 4), 1)),
        Sample((randn(rng, 3, 4), 0, False, True)),
        Sample((randn(rng, 2, 3, 4), (0, 2)), {"correction": 0, "keepdim": True}),
        Sample((randn(rng, 3, 4),), {"keepdim": True}),
        Sample((randn(rng, 5), False)),
    ]


def _aminmax_samples(rng):
    return [
        Sample((randn(rng, 3, 4),)),
        Sample((randn(rng, 3, 4),), {"dim": 1}),
        Sample((randn(rng, 2, 3, 4),), {"dim": -2, "keepdim": True}),
        Sample((randn(rng),), {"dim": 0}),
        Sample((randn(rng, 0, 3),), {"dim": 1}),
        Sample((np.array([[3, 1, 3], [0, 0, 2]]),), {"dim": 1}),
        Sample((np.array([True, False]),)),
    ]


def _minmax_pair(out):
    return (out.min, out.max)


def _count_samples(rng):
    return [
        Sample((np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]]),)),
        Sample((np.array([[0, 1, 0], [2, 0, -1]]), 1)),
        Sample((np.array([[[0, 1], [0, 3]]]), (0, 2))),
        Sample((np.array([True, False, True]), 0)),
        Sample((np.zeros((0, 2)), 0)),
    ]


def _dist_samples(rng):
    return [
        Sample((randn(rng, 3, 4), randn(rng, 3, 4))),
        Sample((randn(rng, 3, 4), randn(rng, 4), 1)),
        Sample((randn(rng, 2, 1), randn(rng, 1, 3), 3)),
        Sample((randn(rng, 3), randn(rng, 3), float("inf"))),
        Sample((randn(rng, 0, 3), randn(rng, 3))),
    ]


def _renorm_samples(rng):
    return [
        Sample((randn(rng, 3, 4), 2, 0, 1.0)),
        Sample((randn(rng, 3, 4), 1, 1, 1.5)),
        Sample((randn(rng, 2, 3, 4), 3, -1, 0.8)),
        Sample((randn(rng, 3, 4) * 0.1, 2, 0, 5.0), note="nothing scaled"),
        Sample((randn(rng, 0, 3), 2, 0, 1.0)),
    ]


def _cov_samples(rng):
    return [
        Sample((randn(rng, 3, 5),)),
        Sample((randn(rng, 6),)),
        Sample((randn(rng, 2, 6),), {"correction": 0}),
        Sample((randn(rng, 2, 6),), {"correction": 2}),
        Sample((randn(rng, 3, 4), np.array([1, 2, 0, 3]))),
        Sample((randn(rng, 3, 4), None, rng.uniform(0.5, 2, 4))),
        Sample((randn(rng, 3, 4), np.array([2, 1, 1, 3]), rng.uniform(0.5, 2, 4)),
               {"correction": 0}),
        Sample((randn(rng, 5), np.array([2, 1, 1, 3, 1]), rng.uniform(0.5, 2, 5))),
        Sample((np.array([[1, 4, 2], [3, 0, 5]]),)),
    ]


def _cov(m, x, fweights=None, aweights=None, **kwargs):
    return m.cov(x, fweights=fweights, aweights=aweights, **kwargs)



def _corrcoef_samples(rng):
    return [
        Sample((randn(rng, 3, 5),)),
        Sample((randn(rng, 6),)),
        Sample((randn(rng, 2, 4),)),
        Sample((np.array([[1, 4, 2], [3, 0, 5]]),)),
    ]


register(
    OpSpec("nansum", lambda m, x, *a, **k: m.nansum(x, *a, **k), _reduce_samples, errors=[
        ErrorCase((X, 2), IndexError, "Dimension out of range"),
    ]),
    OpSpec("nanmean", lambda m, x, *a, **k: m.nanmean(x, *a, **k), _reduce_samples, errors=[
        ErrorCase((np.ones(3, np.int64),), RuntimeError,
                  "expected input to have floating point or complex dtype but got Long"),
    ]),
    OpSpec("var_mean", lambda m, x, *a, **k: m.var_mean(x, *a, **k), _var_mean_samples,
           errors=[ErrorCase((np.ones(3, np.int64),), RuntimeError,
                             "var_mean only support floating point")]),
    OpSpec("std_mean", lambda m, x, *a, **k: m.std_mean(x, *a, **k), _var_mean_samples),
    OpSpec("aminmax", lambda m, x, **k: m.aminmax(x, **k), _aminmax_samples,
           outputs=_minmax_pair, errors=[
               ErrorCase((np.zeros(0),), RuntimeError, "cannot compute aminmax over an empty"),
               ErrorCase((np.zeros((2, 0)),), IndexError,
                         "Expected reduction dim 1 to have non-zero size", {"dim": 1}),
           ]),
    OpSpec("count_nonzero", lambda m, x, *a: m.count_nonzero(x, *a), _count_samples,
           differentiable=False, errors=[
               ErrorCase((X, (0, 0)), RuntimeError, "appears multiple times"),
           ]),
    OpSpec("dist", lambda m, x, y, *a: m.dist(x, y, *a), _dist_samples, errors=[
        ErrorCase((X, np.ones(4)), RuntimeError, "must match the size"),
        ErrorCase((np.ones(3, np.int64), np.ones(3, np.int64)), RuntimeError,
                  "input dtype should be either floating point"),
    ]),
    OpSpec("renorm", lambda m, x, *a: m.renorm(x, *a), _renorm_samples, errors=[
        ErrorCase((np.ones(3), 2, 0, 1.0), RuntimeError, "input needs at least 2 dimensions"),
        ErrorCase((X, 0, 0, 1.0), RuntimeError, "non-positive-norm not supported"),
        ErrorCase((X, 2, 0, -1.0), RuntimeError, "expected maxnorm to be >= 0"),
        ErrorCase((X, 2, 2, 1.0), IndexError, "Dimension out of range"),
    ]),
    OpSpec("cov", _cov, _cov_samples, errors=[
        ErrorCase((np.ones((2, 2, 2)),), RuntimeError, "expected input to have two or fewer"),
        ErrorCase((X, np.ones(3)), RuntimeError, "expected fweights to have integral dtype"),
        ErrorCase((X, np.array([1, -2, 1])), RuntimeError, "fweights cannot be negative"),
        ErrorCase((X, None, np.array([1.0, -2.0, 1.0])), RuntimeError,
                  "aweights cannot be negative"),
        ErrorCase((X, np.array([1, 2])), RuntimeError,
                  "same numel as there are observations in the input but got 2 != 3"),
        ErrorCase((X, None, np.ones(3, np.int64)), RuntimeError,
                  "expected aweights to have floating point dtype but got aweights with Long"),
    ]),
    OpSpec("corrcoef", lambda m, x: m.corrcoef(x), _corrcoef_samples),
)

# (tests/autograd/test_node_names.py) Graphs built differently from PyTorch's, same gradients.
STRUCTURE_DIFFERS = {
    **dict.fromkeys(["nansum"], "a sum of where(isnan) (PyTorch: one node)"),
    **dict.fromkeys(["nanmean"], "nansum's composite divided by the count"),
    "var_mean": "a Var node and a Mean node (PyTorch: one VarMeanBackward0)",
    "std_mean": "a Std node and a Mean node (PyTorch: one StdMeanBackward0)",
    **dict.fromkeys(["dist"], "the norm of a difference (PyTorch: one node)"),
    **dict.fromkeys(["renorm"],
                    "a product with a factor computed from the norm (PyTorch: one node)"),
}
