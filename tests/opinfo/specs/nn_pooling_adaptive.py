"""Specs of adaptive pooling: ``adaptive_avg_pool1d/2d`` (the 1 x 1 mean, evenly divided
blocks and the general windows) and ``adaptive_max_pool1d/2d`` with and without indices."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register
from .nn_layers import distinct


def F(m):
    return m.nn.functional


def _avg2d_samples(rng):
    return [
        Sample((randn(rng, 2, 3, 5, 7), (3, 4)), note="uneven, overlapping windows"),
        Sample((randn(rng, 2, 3, 6, 4), (1, 1)), note="global average"),
        Sample((randn(rng, 2, 3, 6, 4), (3, 2)), note="evenly divided"),
        Sample((randn(rng, 3, 5, 6), (None, 4)), note="unbatched, None keeps H"),
        Sample((randn(rng, 1, 2, 3, 4), 5), note="output larger than the input"),
        Sample((randn(rng, 0, 2, 5, 4), 3), note="empty batch"),
    ]


def _max2d_samples(rng):
    return [
        Sample((distinct(rng, 2, 3, 5, 7), (3, 4))),
        Sample((distinct(rng, 2, 3, 6, 4), 1)),
        Sample((distinct(rng, 1, 2, 6, 4), (3, 2))),
        Sample((distinct(rng, 3, 5, 6), (None, 4)), note="unbatched"),
        Sample((distinct(rng, 1, 2, 3, 4), 5), note="output larger than the input"),
        Sample((distinct(rng, 0, 2, 5, 4), 3), note="empty batch"),
    ]


def _1d_samples(rng):
    return [
        Sample((distinct(rng, 2, 3, 10), 4)),
        Sample((distinct(rng, 2, 3, 9), (3,))),
        Sample((distinct(rng, 2, 3, 9), 1)),
        Sample((distinct(rng, 3, 7), 5), note="unbatched"),
        Sample((distinct(rng, 0, 3, 7), 2), note="empty batch"),
    ]


register(
    OpSpec("nn.adaptive_avg_pool2d", lambda m, x, size: F(m).adaptive_avg_pool2d(x, size),
           _avg2d_samples, errors=[
               ErrorCase((np.ones((3, 4)), 2), RuntimeError, "Expected 3D or 4D tensor"),
               ErrorCase((np.ones((1, 3, 0, 4)), 2), RuntimeError, "non-zero size"),
               ErrorCase((np.ones((1, 3, 2, 4)), (2,)), RuntimeError, "output_size must be 2"),
               ErrorCase((np.ones((1, 3, 2, 4)), -1), RuntimeError, "greater than or equal"),
           ]),
    OpSpec("nn.adaptive_max_pool2d", lambda m, x, size: F(m).adaptive_max_pool2d(x, size),
           _max2d_samples, errors=[
               ErrorCase((np.ones((3, 4)), 2), RuntimeError, "Expected 3D or 4D tensor"),
           ]),
    OpSpec("nn.adaptive_max_pool2d_indices",
           lambda m, x, size: F(m).adaptive_max_pool2d(x, size, return_indices=True),
           _max2d_samples, outputs=tuple),
    OpSpec("nn.adaptive_max_pool2d_with_indices",
           lambda m, x, size: F(m).adaptive_max_pool2d_with_indices(x, size),
           _max2d_samples, outputs=tuple),
    OpSpec("nn.adaptive_avg_pool1d", lambda m, x, size: F(m).adaptive_avg_pool1d(x, size),
           _1d_samples, errors=[
               ErrorCase((np.ones(5), 2), RuntimeError, "Expected 2 to 3 dimensions"),
               ErrorCase((np.ones((2, 5)), (2, 3)), RuntimeError, "should contain one int"),
           ]),
    OpSpec("nn.adaptive_max_pool1d", lambda m, x, size: F(m).adaptive_max_pool1d(x, size),
           _1d_samples),
    OpSpec("nn.adaptive_max_pool1d_indices",
           lambda m, x, size: F(m).adaptive_max_pool1d(x, size, return_indices=True),
           _1d_samples, outputs=tuple),
    OpSpec("nn.adaptive_max_pool1d_with_indices",
           lambda m, x, size: F(m).adaptive_max_pool1d_with_indices(x, size),
           _1d_samples, outputs=tuple),
)
