"""Spec of ``roll`` (function and Tensor method)."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _roll_samples(rng):
    return [
        Sample((randn(rng, 3, 4), 1), {"dims": 1}),
        Sample((randn(rng, 3, 4), -5)),  # no dims: along the flattened tensor
        Sample((randn(rng, 2, 3, 4), (1, 2, -7)), {"dims": (0, -1, 1)}),
        Sample((randn(rng, 2, 3), (1, 1)), {"dims": (1, 1)}),  # a dim twice: shifts add up
        Sample((randn(rng), 3)),
        Sample((randn(rng, 2, 0, 3), 2), {"dims": 2}),
    ]


X = np.ones((2, 3))

register(
    OpSpec("roll", lambda m, x, shifts, **kw: m.roll(x, shifts, **kw), _roll_samples, errors=[
        ErrorCase((X, (1, 2)), RuntimeError, "shifts and dimensions must align. shifts: 2, dims:0"),
        ErrorCase((X, (1,)), RuntimeError, "shifts and dimensions must align. shifts: 1, dims:2",
                  {"dims": (0, 1)}),
        ErrorCase((X, ()), RuntimeError, "`shifts` required"),
        ErrorCase((X, 1), IndexError, "Dimension out of range", {"dims": 2}),
        ErrorCase((X, 1.5), TypeError, "must be tuple of ints, not float"),
    ]),
    OpSpec("Tensor.roll", lambda m, x: x.roll(shifts=(2, -1), dims=(0, 1)),
           lambda rng: [Sample((randn(rng, 3, 4),))]),
)
