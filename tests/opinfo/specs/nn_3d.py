"""Specs of the 3-D layers: ``conv3d``, ``conv_transpose3d``, max and average pooling (ceil_mode,
dilation, padding rules, divisor), ``max_unpool3d`` and the adaptive poolings, on the same
windows as the 2-D ones. Sizes stay small: a 3-D unfold holds prod(kernel) copies of the
input."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register
from .nn_layers import distinct


def F(m):
    return m.nn.functional


def _fn(name):
    def op(m, *args, **kw):
        return getattr(F(m), name)(*args, **kw)

    return op


# ----------------------------------------------------------------------- convolution
def _conv3d_samples(rng):
    return [
        Sample((randn(rng, 2, 2, 3, 4, 3), randn(rng, 3, 2, 2, 3, 2), randn(rng, 3))),
        Sample((randn(rng, 1, 4, 4, 3, 5), randn(rng, 4, 2, 2, 2, 3), randn(rng, 4)),
               {"stride": (2, 1, 2), "padding": (1, 0, 1), "dilation": (1, 2, 1),
                "groups": 2}),
        Sample((randn(rng, 2, 3, 4, 3), randn(rng, 2, 2, 2, 3, 2)), {"padding": "same"},
               note="unbatched, 'same' with even kernels"),
        Sample((randn(rng, 0, 2, 3, 3, 3), randn(rng, 3, 2, 2, 2, 2), randn(rng, 3)),
               note="empty batch"),
    ]


def _conv_transpose3d_samples(rng):
    return [
        Sample((randn(rng, 2, 2, 2, 3, 2), randn(rng, 2, 3, 2, 2, 3), randn(rng, 3))),
        Sample((randn(rng, 1, 4, 2, 2, 3), randn(rng, 4, 2, 2, 3, 2), randn(rng, 4)),
               {"stride": (2, 1, 3), "padding": (1, 0, 1), "output_padding": (1, 0, 2),
                "groups": 2, "dilation": (1, 2, 1)},
               note="output_padding beyond the padding in the last dim"),
        Sample((randn(rng, 2, 2, 3, 2), randn(rng, 2, 2, 2, 2, 2)), {"stride": 2},
               note="unbatched"),
        Sample((randn(rng, 0, 2, 2, 2, 2), randn(rng, 2, 3, 2, 2, 2)), note="empty batch"),
    ]


register(
    OpSpec("nn.conv3d", _fn("conv3d"), _conv3d_samples, atol32=1e-4, errors=[
        ErrorCase((np.ones((1, 3, 4, 4, 4)), np.ones((2, 2, 3, 3, 3))), RuntimeError,
                  "to have 2 channels, but got 3 channels"),
        ErrorCase((np.ones((1, 2, 2, 2, 2)), np.ones((2, 2, 3, 3, 3))), RuntimeError,
                  r"\(2 x 2 x 2\). Kernel size: \(3 x 3 x 3\). Kernel size can't be greater"),
    ]),
    OpSpec("nn.conv_transpose3d", _fn("conv_transpose3d"), _conv_transpose3d_samples,
           atol32=1e-4, errors=[
               ErrorCase((np.ones((1, 2, 3, 3, 3)), np.ones((2, 2, 2, 2, 2))), RuntimeError,
                         "output_padding_depth: 1 output_padding_height: 1",
                         {"output_padding": 1}),
               ErrorCase((np.ones((4, 4)), np.ones((2, 2, 3, 3, 3))), RuntimeError,
                         "Expected 4D .unbatched. or 5D .batched. input to conv_transpose3d"),
           ]),
)


# ---------------------------------------------------------------------------- pooling
def _pool3d_samples(rng):
    return [
        Sample((distinct(rng, 2, 2, 4, 4, 5), 2)),
        Sample((distinct(rng, 1, 2, 5, 4, 5), (3, 2, 2)),
               {"stride": (2, 1, 2), "padding": (1, 0, 1)}),
        Sample((distinct(rng, 2, 3, 4, 5), 2), {"stride": 1}, note="unbatched"),
        Sample((distinct(rng, 0, 2, 3, 3, 3), 2), note="empty batch"),
    ]


def _ceil3d_samples(rng):
    return [
        Sample((distinct(rng, 1, 2, 5, 4, 5), 2)),
        Sample((distinct(rng, 1, 2, 5, 6, 4), (3, 3, 2)),
               {"stride": (2, 2, 3), "padding": (1, 1, 0)}),
    ]


def _pool_unpool3d(m, x, k, stride=None, padding=0, output_size=None):
    values, indices = F(m).max_pool3d(x, k, stride, padding, return_indices=True)
    return F(m).max_unpool3d(values, indices, k, stride, padding, output_size)


register(
    OpSpec("nn.max_pool3d", _fn("max_pool3d"), _pool3d_samples, errors=[
        ErrorCase((np.ones((1, 2, 4, 4, 4)), 2), RuntimeError,
                  "pad should be at most half of effective kernel size", {"padding": 2}),
    ]),
    OpSpec("nn.max_pool3d_dilated_ceil",
           lambda m, x: F(m).max_pool3d(x, (2, 2, 3), (1, 2, 2), 1, (2, 1, 1), ceil_mode=True),
           lambda rng: [Sample((distinct(rng, 1, 2, 4, 5, 5),))]),
    OpSpec("nn.max_pool3d_ceil", lambda m, x, k, **kw: F(m).max_pool3d(x, k, ceil_mode=True,
                                                                       **kw), _ceil3d_samples),
    OpSpec("nn.max_pool3d_indices",
           lambda m, x, k, **kw: F(m).max_pool3d(x, k, return_indices=True, **kw),
           lambda rng: _pool3d_samples(rng) + _ceil3d_samples(rng), outputs=tuple),
    OpSpec("nn.avg_pool3d", _fn("avg_pool3d"), _pool3d_samples, errors=[
        ErrorCase((np.ones((1, 2, 4, 4, 4)), 2), RuntimeError, "divisor must be not zero",
                  {"divisor_override": 0}),
    ]),
    OpSpec("nn.avg_pool3d_ceil", lambda m, x, k, **kw: F(m).avg_pool3d(x, k, ceil_mode=True,
                                                                       **kw), _ceil3d_samples),
    OpSpec("nn.avg_pool3d_ceil_exclude_pad",
           lambda m, x, k, **kw: F(m).avg_pool3d(x, k, ceil_mode=True, count_include_pad=False,
                                                 **kw), _ceil3d_samples),
    OpSpec("nn.avg_pool3d_divisor",
           lambda m, x: F(m).avg_pool3d(x, (2, 3, 2), 2, 1, divisor_override=5),
           lambda rng: [Sample((randn(rng, 1, 2, 4, 5, 4),))]),
    # (windows that do not overlap, as for max_unpool2d)
    OpSpec("nn.max_unpool3d", _pool_unpool3d, lambda rng: [
        Sample((distinct(rng, 1, 2, 4, 4, 6), 2)),
        Sample((distinct(rng, 1, 1, 7, 4, 7), 3), {"padding": 1}),
        Sample((distinct(rng, 1, 2, 5, 4, 5), 2), {"output_size": (5, 4, 5)}),
        Sample((distinct(rng, 2, 4, 4, 2), 2), note="unbatched"),
    ], errors=[
        ErrorCase((np.ones((1, 1, 4, 4, 4)), 2), ValueError, "invalid output_size",
                  {"output_size": (9, 9, 9)}),
    ]),
)


# ------------------------------------------------------------------ adaptive pooling
def _adaptive3d_samples(make):
    def samples(rng):
        return [
            Sample((make(rng, 1, 2, 5, 4, 7), (2, 3, 4)), note="uneven, overlapping windows"),
            Sample((make(rng, 2, 2, 4, 6, 4), (2, 3, 2)), note="evenly divided"),
            Sample((make(rng, 1, 2, 3, 4, 5), 1), note="global"),
            Sample((make(rng, 2, 3, 4, 5), (None, 2, 3)), note="unbatched, None keeps D"),
            Sample((make(rng, 1, 1, 2, 3, 2), 3), note="output larger than the input"),
            Sample((make(rng, 0, 2, 3, 3, 3), 2), note="empty batch"),
        ]

    return samples


register(
    OpSpec("nn.adaptive_avg_pool3d", lambda m, x, size: F(m).adaptive_avg_pool3d(x, size),
           _adaptive3d_samples(randn), errors=[
               ErrorCase((np.ones((3, 4, 5)), 2), RuntimeError, "Expected 4D or 5D tensor"),
               ErrorCase((np.ones((1, 3, 0, 4, 4)), 2), RuntimeError, "non-zero size"),
               ErrorCase((np.ones((1, 3, 2, 4, 4)), (2, 2)), RuntimeError,
                         "output_size must be 3"),
           ]),
    OpSpec("nn.adaptive_max_pool3d", lambda m, x, size: F(m).adaptive_max_pool3d(x, size),
           _adaptive3d_samples(distinct), errors=[
               ErrorCase((np.ones((3, 4, 5)), 2), RuntimeError, "Expected 4D or 5D tensor"),
           ]),
    OpSpec("nn.adaptive_max_pool3d_indices",
           lambda m, x, size: F(m).adaptive_max_pool3d(x, size, return_indices=True),
           _adaptive3d_samples(distinct), outputs=tuple),
    OpSpec("nn.adaptive_max_pool3d_with_indices",
           lambda m, x, size: F(m).adaptive_max_pool3d_with_indices(x, size),
           _adaptive3d_samples(distinct), outputs=tuple),
)
