"""Specs of the transposed convolutions ``conv_transpose1d`` and ``conv_transpose2d``: stride,
padding, output_padding (below and above the padding), groups, dilation, bias, unbatched and
empty batches."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def F(m):
    return m.nn.functional


def _conv_transpose2d_samples(rng):
    return [
        Sample((randn(rng, 2, 3, 4, 5), randn(rng, 3, 4, 3, 2), randn(rng, 4))),
        Sample((randn(rng, 2, 4, 3, 4), randn(rng, 4, 3, 3, 3), randn(rng, 6)),
               {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
        Sample((randn(rng, 1, 2, 3, 3), randn(rng, 2, 3, 2, 3)),
               {"stride": (2, 3), "padding": (0, 1), "output_padding": (1, 2)},
               note="output_padding beyond the padding: zero rows at the end"),
        Sample((randn(rng, 1, 2, 4, 3), randn(rng, 2, 2, 3, 2), randn(rng, 2)),
               {"dilation": (2, 1), "output_padding": (1, 0)}, note="output_padding < dilation"),
        Sample((randn(rng, 2, 3, 3), randn(rng, 2, 3, 2, 2), randn(rng, 3)), {"stride": 2},
               note="unbatched"),
        Sample((randn(rng, 0, 2, 3, 3), randn(rng, 2, 3, 2, 2), randn(rng, 3)),
               note="empty batch"),
    ]


def _conv_transpose1d_samples(rng):
    return [
        Sample((randn(rng, 2, 4, 5), randn(rng, 4, 3, 3), randn(rng, 6)),
               {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}),
        Sample((randn(rng, 3, 6), randn(rng, 3, 2, 2)), {"dilation": 3, "stride": 2},
               note="unbatched"),
        Sample((randn(rng, 0, 3, 6), randn(rng, 3, 2, 2)), note="empty batch"),
    ]


def _conv_transpose(name):
    def op(m, x, w, b=None, **kw):
        return getattr(F(m), name)(x, w, b, **kw)

    return op


register(
    OpSpec("nn.conv_transpose2d", _conv_transpose("conv_transpose2d"),
           _conv_transpose2d_samples, atol32=1e-4, errors=[
               ErrorCase((np.ones((1, 3, 4, 4)), np.ones((2, 2, 3, 3))), RuntimeError,
                         "to have 2 channels, but got 3 channels"),
               ErrorCase((np.ones((1, 2, 4, 4)), np.ones((2, 2, 3, 3))), RuntimeError,
                         "output padding must be smaller than either stride or dilation",
                         {"output_padding": 1}),
               ErrorCase((np.ones((1, 4, 4, 4)), np.ones((4, 2, 3, 3))), RuntimeError,
                         "expected weight to be divisible by 3", {"groups": 3}),
               ErrorCase((np.ones((4, 4)), np.ones((4, 2, 3, 3))), RuntimeError,
                         r"Expected 3D \(unbatched\) or 4D \(batched\) input"),
           ]),
    OpSpec("nn.conv_transpose1d", _conv_transpose("conv_transpose1d"),
           _conv_transpose1d_samples, atol32=1e-4, errors=[
               ErrorCase((np.ones((2, 3, 5)), np.ones((4, 2, 3))), RuntimeError,
                         r"expected input\[2, 3, 5\] to have 4 channels"),
           ]),
)
