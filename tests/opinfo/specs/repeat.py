"""Spec of ``repeat_interleave`` (function and Tensor method): int and tensor repeats, along a
dim or the flattened input, zero repeats, empty and 0-d inputs; the counts-only form."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _samples(rng):
    return [
        Sample((randn(rng, 3, 4), 2), {"dim": 1}),
        Sample((randn(rng, 3, 4), 3)),  # no dim: the flattened input
        Sample((randn(rng, 3, 4), np.array([1, 0, 3])), {"dim": 0}),
        Sample((randn(rng, 2, 3, 2), np.array([2])), {"dim": -2}),
        Sample((randn(rng, 2, 3), np.array(2)), {"dim": 1, "output_size": 6}),
        Sample((randn(rng, 2, 0, 3), 2), {"dim": 1}),
        Sample((randn(rng), 3)),
    ]


X = np.ones((2, 3))

register(
    OpSpec("repeat_interleave", lambda m, x, r, **kw: m.repeat_interleave(x, r, **kw), _samples,
           errors=[
               ErrorCase((X, np.array([1, 2, 3])), RuntimeError, "same size as input along dim",
                         {"dim": 0}),
               ErrorCase((X, np.array([-1, 2])), RuntimeError, "can not be negative",
                         {"dim": 0}),
               ErrorCase((X, -1), RuntimeError, "must be non-negative", {"dim": 0}),
               ErrorCase((X, np.array([[1, 2]])), RuntimeError, "0-dim or 1-dim", {"dim": 0}),
               ErrorCase((X, 2), IndexError, "Dimension out of range", {"dim": 2}),
               ErrorCase((X, np.array([1, 2])), RuntimeError, "allocated size",
                         {"dim": 0, "output_size": 5}),
           ]),
    OpSpec("Tensor.repeat_interleave", lambda m, x: x.repeat_interleave(2, dim=0),
           lambda rng: [Sample((randn(rng, 3, 2),))]),
    OpSpec("repeat_interleave_counts", lambda m, c: m.repeat_interleave(c),
           lambda rng: [Sample((np.array([1, 0, 2, 3]),)), Sample((np.array([], np.int64),))],
           differentiable=False),
)
