"""Specs of ``unique``, ``unique_consecutive``, ``bincount``, ``histc``, ``histogram``,
``searchsorted``, ``bucketize``, ``isin``, ``argwhere`` (none differentiable)."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register

INTS = np.array([[3, 1, 2], [3, 1, 2], [0, 5, 1], [0, 5, 1]])
SEQ = np.array([1, 3, 5, 7])


def _tuple(out):
    return tuple(out) if isinstance(out, tuple) else (out,)


def _unique_samples(rng):
    return [
        Sample((np.array([3, 1, 2, 1, 3]),)),
        Sample((INTS,), {"return_inverse": True, "return_counts": True}),
        Sample((np.round(randn(rng, 4, 5)),), {"return_inverse": True}),
        Sample((INTS,), {"dim": 0, "return_inverse": True, "return_counts": True}),
        Sample((INTS,), {"dim": 1, "return_counts": True}),
        Sample((np.array(3),), {"return_inverse": True}),
        Sample((np.zeros((0, 2)),), {"dim": 0, "return_counts": True}),
        Sample((np.array([True, False, True]),), {"sorted": False}),
    ]


def _unique_consecutive_samples(rng):
    return [
        Sample((np.array([1, 1, 2, 2, 3, 1, 1]),),
               {"return_inverse": True, "return_counts": True}),
        Sample((INTS,), {"dim": 0, "return_inverse": True, "return_counts": True}),
        Sample((np.round(randn(rng, 3, 4)),), {"return_counts": True}),
        Sample((np.zeros(0),)),
    ]


def _bincount_samples(rng):
    return [
        Sample((np.array([0, 2, 2, 5]),)),
        Sample((np.array([0, 2, 2, 5]), rng.uniform(0, 1, 4))),
        Sample((np.array([0, 2, 2]), np.array([1, 2, 3]), 6)),
        Sample((np.zeros(0, np.int64),)),
        Sample((np.zeros(0, np.int64), None, 3)),
    ]


def _histc_samples(rng):
    return [
        Sample((randn(rng, 20),)),
        Sample((randn(rng, 4, 5), 7)),
        Sample((np.array([1.0, 2.0, 1.0, 4.0, 3.0, 0.0]), 4, 0, 3), note="edges and outside"),
        Sample((np.array([2.0, 2.0]), 4)),
        Sample((np.zeros(0), 3)),
    ]


def _histogram_samples(rng):
    return [
        Sample((randn(rng, 20), 5)),
        Sample((np.array([1.0, 2.0, 1.0, 4.0]), 4), {"range": (0.0, 3.0)}),
        Sample((np.array([1.0, 2.0, 1.0, 4.0, -1.0]), np.array([0.0, 1.0, 2.5, 4.0]))),
        Sample((randn(rng, 3, 4), 3, rng.uniform(0, 2, (3, 4)))),
        Sample((randn(rng, 12), 4, rng.uniform(0, 2, 12)), {"density": True}),
        Sample((randn(rng, 12), np.array([-1.0, 0.0, 0.5, 2.0])), {"density": True}),
        Sample((np.array([2.0, 2.0]), 4)),
        Sample((np.zeros(0), 2)),
    ]


def _histogram(m, x, bins, weight=None, **kwargs):
    return m.histogram(x, bins, weight=weight, **kwargs)


def _searchsorted_samples(rng):
    return [
        Sample((SEQ, np.array([[3, 6, 9], [0, 5, 7]]))),
        Sample((SEQ, np.array([[3, 6, 9], [0, 5, 7]])), {"right": True}),
        Sample((np.array([[1, 3, 5, 7], [2, 4, 6, 8]]), np.array([[3, 6, 9], [0, 5, 7]])),
               {"side": "right"}),
        Sample((np.sort(randn(rng, 6)), randn(rng, 3, 2)), {"out_int32": True}),
        Sample((SEQ, 5), {"side": "left"}),
        Sample((np.array([5, 1, 7, 3]), np.array([4, 5])), {"sorter": np.array([1, 3, 0, 2])}),
        Sample((SEQ, np.zeros(0, np.int64))),
    ]


def _searchsorted(m, seq, values, sorter=None, **kwargs):
    if isinstance(sorter, np.ndarray):
        sorter = m.tensor(sorter)
    return m.searchsorted(seq, values, sorter=sorter, **kwargs)


def _bucketize_samples(rng):
    return [
        Sample((np.array([[3, 6, 9], [0, 5, 7]]), SEQ)),
        Sample((np.array([[3, 6, 9], [0, 5, 7]]), SEQ), {"right": True}),
        Sample((randn(rng, 2, 3), np.sort(randn(rng, 5))), {"out_int32": True}),
        Sample((3, SEQ)),
    ]


def _isin_samples(rng):
    return [
        Sample((np.array([1, 2, 3, 4]), np.array([2, 4]))),
        Sample((np.array([[1, 2], [3, 4]]), np.array([2, 4])), {"invert": True}),
        Sample((np.array([1.0, 2.0]), 2)),
        Sample((2, np.array([1, 2]))),
        Sample((np.array([1, 2]), np.array([2.5, 2.0]))),
        Sample((np.array([3, 1, 2]), np.array([1, 2])), {"assume_unique": True}),
        Sample((np.zeros((0, 2)), np.array([1.0]))),
    ]


def _argwhere_samples(rng):
    return [
        Sample((np.array([[0, 1], [2, 0]]),)),
        Sample((np.array([[0.0, 1.5, 0.0], [2.0, 0.0, -1.0]]),)),
        Sample((np.array(3.0),)),
        Sample((np.zeros((0, 3)),)),
    ]


_BAD_SEQ = np.array([[1, 3]])

register(
    OpSpec("unique", lambda m, x, **k: m.unique(x, **k), _unique_samples, outputs=_tuple,
           differentiable=False, errors=[
               ErrorCase((INTS,), IndexError, "Dimension out of range", {"dim": 2})]),
    OpSpec("unique_consecutive", lambda m, x, **k: m.unique_consecutive(x, **k),
           _unique_consecutive_samples, outputs=_tuple, differentiable=False),
    OpSpec("bincount", lambda m, x, *a: m.bincount(x, *a), _bincount_samples,
           differentiable=False, errors=[
               ErrorCase((np.array([-1, 2]),), RuntimeError, "1-d non-negative integral"),
               ErrorCase((np.array([[1]]),), RuntimeError, "1-d non-negative integral"),
               ErrorCase((np.array([1.0]),), NotImplementedError, "not implemented for 'Double'"),
               ErrorCase((np.array([1, 2]), np.ones(3)), RuntimeError,
                         "weights should be 1-d and have the same length"),
               ErrorCase((np.array([1, 2]), None, -1), RuntimeError, "minlength should be >= 0"),
           ]),
    OpSpec("histc", lambda m, x, *a: m.histc(x, *a), _histc_samples, differentiable=False,
           errors=[
               ErrorCase((np.array([1, 2]), 3), NotImplementedError, "not implemented for 'Long'"),
               ErrorCase((np.array([1.0]), 0), RuntimeError, "bins must be > 0, but got 0"),
               ErrorCase((np.array([1.0]), 3, 3, 1), RuntimeError, "max must be larger than min"),
               ErrorCase((np.array([1.0, np.nan]), 2), RuntimeError, "is not finite"),
           ]),
    OpSpec("histogram", _histogram, _histogram_samples, outputs=_tuple, differentiable=False,
           errors=[
               ErrorCase((np.array([1, 2]), 3), NotImplementedError, "not implemented for 'Long'"),
               ErrorCase((np.array([1.0]), 0), RuntimeError, "bins must be > 0, but got 0"),
               ErrorCase((np.array([1.0]), 2), RuntimeError, "min should not exceed max",
                         {"range": (3.0, 1.0)}),
               ErrorCase((np.array([1.0, 2.0]), 2, np.ones(3)), RuntimeError,
                         "weight tensor is provided it should have the same shape"),
           ]),
    OpSpec("searchsorted", _searchsorted, _searchsorted_samples, differentiable=False,
           errors=[
               ErrorCase((SEQ, np.array([2])), RuntimeError, "side and right can't be set to "
                         "opposites", {"side": "left", "right": True}),
               ErrorCase((_BAD_SEQ, np.array([2])), RuntimeError,
                         "boundaries tensor should be 1 dimension or the first N-1"),
               ErrorCase((SEQ, np.array([2]), np.array([0, 1, 2, 4])), RuntimeError,
                         r"sorter index out of range"),
               ErrorCase((SEQ, np.array([2]), np.array([0])), RuntimeError,
                         "boundary and sorter must have the same size"),
               ErrorCase((SEQ, np.array([2])), RuntimeError, "side can only be 'left' or "
                         "'right' but got foo", {"side": "foo"}),
           ]),
    OpSpec("bucketize", lambda m, x, b, **k: m.bucketize(x, b, **k), _bucketize_samples,
           differentiable=False, errors=[
               ErrorCase((np.array([1]), _BAD_SEQ), RuntimeError,
                         r"boundaries tensor must be 1 dimension, but got dim\(2\)"),
           ]),
    OpSpec("isin", lambda m, x, y, **k: m.isin(x, y, **k), _isin_samples, differentiable=False),
    OpSpec("argwhere", lambda m, x: m.argwhere(x), _argwhere_samples, differentiable=False),
)
