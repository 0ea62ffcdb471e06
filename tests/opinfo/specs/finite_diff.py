"""Specs of ``gradient`` (``gpugrad/ops/finite_diff.py``, ``torch.gradient``): uniform steps,
per-dim steps and sample coordinates (whose gradients are compared too), both edge orders."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _coords(rng, n):
    return np.cumsum(rng.uniform(0.5, 1.5, size=n))


def _uniform_samples(rng):
    return [Sample((randn(rng, 5),)),
            Sample((randn(rng, 3, 4),), {"spacing": 2.5}),
            Sample((randn(rng, 3, 4),), {"spacing": [2, 0.5], "edge_order": 2}),
            Sample((randn(rng, 3, 4, 2),), {"dim": (-1, 0)}),
            Sample((randn(rng, 3, 4),), {"dim": 1, "edge_order": 2, "spacing": 0.5}),
            Sample((randn(rng, 2, 0),), {"dim": 0})]


def _coordinate_samples(rng):
    return [Sample((randn(rng, 4, 3), _coords(rng, 4)), {"dim": 0}),
            Sample((randn(rng, 4, 3), _coords(rng, 3)), {"dim": -1, "edge_order": 2}),
            Sample((randn(rng, 5), _coords(rng, 5)), {"edge_order": 2}),
            Sample((randn(rng, 3), _coords(rng, 3)), {"edge_order": 1})]


def _at(m, x, coords, **kwargs):
    return m.gradient(x, spacing=(coords,), **kwargs)


def _two(m, x, c0, c1, **kwargs):
    return m.gradient(x, spacing=[c0, c1], **kwargs)


_ERRORS = [ErrorCase((np.ones((2, 3)),), RuntimeError, "only supports edge_order=1 and",
                     {"edge_order": 3}),
           ErrorCase((np.ones((2, 3)),), RuntimeError, "at least edge_order\\+1",
                     {"edge_order": 2}),
           ErrorCase((np.ones((2, 3)),), RuntimeError, "list of length equal to 'self.dim",
                     {"spacing": [1.0]}),
           ErrorCase((np.ones((2, 3)),), RuntimeError, "appears multiple times",
                     {"dim": (0, -2)}),
           ErrorCase((np.ones((2, 3)),), IndexError, "Dimension out of range", {"dim": 2})]

STRUCTURE_DIFFERS = dict.fromkeys(
    ("gradient", "gradient_coordinates", "gradient_coordinates_2d"),
    "the same cat of differences of slices, built from other nodes (narrow, not slice)")

register(
    OpSpec("gradient", lambda m, x, **k: m.gradient(x, **k), _uniform_samples, errors=_ERRORS),
    OpSpec("gradient_coordinates", _at, _coordinate_samples, atol32=1e-4),
    OpSpec("gradient_coordinates_2d", _two,
           lambda rng: [Sample((randn(rng, 3, 4), _coords(rng, 3), _coords(rng, 4)),
                               {"edge_order": 2})], atol32=1e-4),
)
