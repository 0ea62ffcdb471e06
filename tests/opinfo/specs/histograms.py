"""Specs of ``histogramdd`` (``gpugrad/ops/histograms.py``): int, per-dim and tensor bins,
ranges, weights, density; edges compared as well as counts."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _flat(result):
    hist, edges = result
    return (hist, *edges)


def _dd(m, x, bins, weight=None, **kwargs):
    return m.histogramdd(x, bins, weight=weight, **kwargs)


def _dd_edges(m, x, e0, e1, weight=None, **kwargs):
    return m.histogramdd(x, [e0, e1], weight=weight, **kwargs)


def _samples(rng):
    return [Sample((randn(rng, 20, 2), 3)),
            Sample((randn(rng, 4, 5, 3), [2, 3, 4])),
            Sample((randn(rng, 20, 2), [2, 3]), {"range": [-1.0, 1.0, 0.0, 2.0]}),
            Sample((randn(rng, 20, 2), 4, rng.uniform(0, 2, 20)), {"density": True}),
            Sample((np.ones((4, 2)), 2)),
            Sample((np.array([[0.0, 1.0], [1.0, 1.0], [0.5, 2.0], [3.0, 0.0]]), [2, 2]),
                   {"range": [0.0, 1.0, 0.0, 2.0]}, note="edges and outside"),
            Sample((np.zeros((0, 2)), 2))]


def _edge_samples(rng):
    return [Sample((randn(rng, 15, 2), np.array([-1.0, 0.0, 2.0]),
                    np.array([-2.0, -0.5, 0.5, 1.0]))),
            Sample((randn(rng, 15, 2), np.array([-1.0, 0.0, 2.0]), np.array([-2.0, 1.0]),
                    rng.uniform(0, 1, 15)), {"density": True})]


_X = np.ones((4, 2))
register(
    OpSpec("histogramdd", _dd, _samples, outputs=_flat, differentiable=False,
           errors=[ErrorCase((np.ones((3, 2), np.int64), 2), NotImplementedError,
                             "not implemented for 'Long'"),
                   ErrorCase((_X, [2]), RuntimeError, "size of bins must be equal"),
                   ErrorCase((_X, 2), RuntimeError, "range should have 4 elements, but got 2",
                             {"range": [0.0, 1.0]}),
                   ErrorCase((_X, 0), RuntimeError, "bins must be > 0"),
                   ErrorCase((_X, 2), RuntimeError, "min should not exceed max",
                             {"range": [0.0, 1.0, 3.0, 1.0]}),
                   ErrorCase((_X, 2, np.ones(3)), RuntimeError,
                             "same shape as the input tensor excluding its innermost"),
                   ErrorCase((np.ones(3), 2), RuntimeError, "at least 2 dimensions")]),
    OpSpec("histogramdd_edges", _dd_edges, _edge_samples, outputs=_flat, differentiable=False),
)
