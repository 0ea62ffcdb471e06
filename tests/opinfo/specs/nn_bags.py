"""Specs of ``F.bilinear`` and ``F.embedding_bag`` (sum, mean and max bags, offsets or 2-D
input, per-sample weights, padding index, last offset included, empty bags)."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def F(m):
    return m.nn.functional


def _bilinear_samples(rng):
    return [
        Sample((randn(rng, 4, 3), randn(rng, 4, 2), randn(rng, 5, 3, 2), randn(rng, 5))),
        Sample((randn(rng, 2, 3, 3), randn(rng, 2, 3, 4), randn(rng, 2, 3, 4)),
               note="batched, no bias"),
        Sample((randn(rng, 0, 3), randn(rng, 0, 2), randn(rng, 2, 3, 2), randn(rng, 2))),
        Sample((randn(rng, 3, 4)[:, ::2], randn(rng, 3, 2), randn(rng, 2, 2, 2)),
               note="non-contiguous"),
    ]


def _bilinear(m, x1, x2, w, b=None):
    return F(m).bilinear(x1, x2, w, b)


_INDICES = np.array([1, 2, 2, 4, 0, 5, 2, 3], dtype=np.int64)
_OFFSETS = np.array([0, 3, 3, 5], dtype=np.int64)  # bags of 3, 0, 2 and 3 indices


def _distinct_weight(rng, rows, dim):
    """Distinct, well separated values: a bag's maximum does not move under finite
    differences."""
    return (rng.permutation(rows * dim).reshape(rows, dim) * 0.3 - rows * dim * 0.15)


def _bag_samples(mode):
    def make(rng):
        samples = [
            Sample((_INDICES, randn(rng, 6, 3), _OFFSETS), {"mode": mode}, grad_args=(1,)),
            Sample((_INDICES, randn(rng, 6, 3), _OFFSETS), {"mode": mode, "padding_idx": 2},
                   grad_args=(1,), note="padding"),
            Sample((_INDICES.reshape(2, 4), randn(rng, 6, 3), None), {"mode": mode},
                   grad_args=(1,), note="2-D input"),
            Sample((_INDICES, randn(rng, 6, 2), np.array([0, 3, 3, 8])),
                   {"mode": mode, "include_last_offset": True}, grad_args=(1,)),
        ]
        if mode == "max":
            for s in samples:
                s.args = (s.args[0], _distinct_weight(rng, *s.args[1].shape), s.args[2])
        return samples

    return make


def _bag(m, idx, w, offsets, per_sample_weights=None, **kw):
    return F(m).embedding_bag(idx, w, offsets, per_sample_weights=per_sample_weights, **kw)


def _weighted_samples(rng):
    return [Sample((_INDICES, randn(rng, 6, 3), _OFFSETS, randn(rng, 8))),
            Sample((_INDICES.reshape(4, 2), randn(rng, 6, 2), None, randn(rng, 4, 2)),
                   {"padding_idx": 0})]


_BAG_ERRORS = [
    ErrorCase((_INDICES, np.ones((6, 3)), None), ValueError, "offsets has to be a 1D Tensor"),
    ErrorCase((_INDICES.reshape(2, 4), np.ones((6, 3)), _OFFSETS), ValueError,
              "if input is 2D, then offsets has to be None"),
    ErrorCase((_INDICES, np.ones((6, 3)), _OFFSETS), ValueError,
              "mode has to be one of sum, mean or max", {"mode": "min"}),
    ErrorCase((_INDICES, np.ones((6, 3)), np.array([1, 3])), RuntimeError,
              r"offsets\[0\] has to be 0"),
    ErrorCase((_INDICES, np.ones((6, 3)), np.array([0, 9])), RuntimeError,
              r"offsets\[-1\] can not be greater than input's length 8"),
    ErrorCase((_INDICES, np.ones((6, 3)), _OFFSETS), RuntimeError,
              "padding_idx must be within the number of embeddings", {"padding_idx": 6}),
    ErrorCase((_INDICES, np.ones((6, 3)), _OFFSETS, np.ones(8)), NotImplementedError,
              "per_sample_weights is only supported for mode='sum'", {"mode": "mean"}),
    ErrorCase((_INDICES, np.ones((6, 3)), _OFFSETS, np.ones(7)), ValueError,
              "then it must have the same shape as the input"),
]

register(
    OpSpec("nn.bilinear", _bilinear, _bilinear_samples, atol32=1e-4,
           errors=[ErrorCase((np.ones((2, 3)), np.ones((2, 5)), np.ones((4, 3, 2))),
                             RuntimeError, "input2 size does not match weight size"),
                   ErrorCase((np.ones((1, 3)), np.ones((2, 2)), np.ones((4, 3, 2))),
                             RuntimeError, "input batch dimensions do not match at dim 0"),
                   ErrorCase((np.ones((2, 3)), np.ones((2, 2)), np.ones((4, 3, 2)),
                              np.ones(3)), RuntimeError, "bias size does not match")]),
    OpSpec("nn.embedding_bag_sum", _bag, _bag_samples("sum"), errors=_BAG_ERRORS),
    OpSpec("nn.embedding_bag_mean", _bag, _bag_samples("mean")),
    OpSpec("nn.embedding_bag_max", _bag, _bag_samples("max")),
    OpSpec("nn.embedding_bag_weighted",
           lambda m, idx, w, offsets, psw, **kw: F(m).embedding_bag(
               idx, w, offsets, mode="sum", per_sample_weights=psw, **kw),
           _weighted_samples),
)
