"""Specs of the channel-wise and alpha dropouts: ``dropout1d/2d/3d``, ``alpha_dropout`` and
``feature_alpha_dropout``. gpugrad draws its mask after ``manual_seed(7)``; PyTorch's side applies
that very mask (read back from gpugrad's result on ones: kept values are positive) with
PyTorch's formula and graph, so values, gradients (the scaled mask) and nodes are compared;
the eval and empty samples run PyTorch's own function."""

from __future__ import annotations

import math

import numpy as np

import gpugrad

from ..core import ErrorCase, OpSpec, Sample, randn, register
from .nn_layers import _DROPOUT_DEVICE

_SATURATION = 1.7580993408473766  # SELU's scale * alpha


def F(m):
    return m.nn.functional


def _drawn_keep(name, shape, p):
    """Where gpugrad's ``name`` keeps values after ``manual_seed(7)``, for an input of
    ``shape`` on the device gpugrad's side ran on."""
    gpugrad.manual_seed(7)
    ones = gpugrad.ones(shape, device=_DROPOUT_DEVICE[0])
    return getattr(F(gpugrad), name)(ones, p, True).float().cpu().numpy() > 0


def _masked(name, feature=False, alpha=False, batched_dims=None):
    def op(m, x, p, training=True):
        if m is gpugrad:
            _DROPOUT_DEVICE[0] = x.device
            gpugrad.manual_seed(7)
            return getattr(F(m), name)(x, p, training)
        if not training or x.numel() == 0:  # both libraries return the input itself
            return getattr(F(m), name)(x, p, training)
        unbatched = batched_dims is not None and x.dim() == batched_dims - 1
        keep = _drawn_keep(name, tuple(x.shape), p)
        y = x.unsqueeze(0) if unbatched else x
        keep = keep[None] if unbatched else keep
        if feature:  # the drawn mask is one value per (sample, channel)
            keep = keep[(slice(None), slice(None)) + (slice(0, 1),) * (y.dim() - 2)]
        keep = m.from_numpy(np.ascontiguousarray(keep)).to(x.dtype)
        if p == 1:
            out = y * m.zeros((), dtype=x.dtype)
        elif alpha:
            a = 1 / math.sqrt((_SATURATION ** 2 * p + 1) * (1 - p))
            out = y * (keep * a) + ((keep - 1) * (_SATURATION * a) + _SATURATION * a * p)
        else:
            out = y * (keep / (1 - p))
        return out.squeeze(0) if unbatched else out

    return op


_P_ERROR = ErrorCase((np.ones((2, 3, 4)), 1.5), ValueError, "dropout probability")

register(
    OpSpec("nn.dropout1d", _masked("dropout1d", feature=True, batched_dims=3), lambda rng: [
        Sample((randn(rng, 4, 3, 5), 0.3)),
        Sample((randn(rng, 5, 6), 0.5), note="unbatched"),
        Sample((randn(rng, 2, 3, 4), 1.0)),
        Sample((randn(rng, 2, 3, 4), 0.5, False), note="eval: the identity"),
        Sample((randn(rng, 0, 3, 4), 0.5), note="empty batch"),
    ], errors=[_P_ERROR, ErrorCase((np.ones((1, 2, 3, 4)), 0.5), RuntimeError,
                                   "dropout1d: Expected 2D or 3D input")]),
    OpSpec("nn.dropout2d", _masked("dropout2d", feature=True), lambda rng: [
        Sample((randn(rng, 3, 4, 3, 2), 0.4)),
        Sample((randn(rng, 2, 3, 2, 2), 1.0)),
        Sample((randn(rng, 2, 3, 2, 2), 0.5, False), note="eval: the identity"),
        Sample((randn(rng, 0, 2, 3, 3), 0.5), note="empty batch"),
    ], errors=[_P_ERROR]),
    OpSpec("nn.dropout3d", _masked("dropout3d", feature=True, batched_dims=5), lambda rng: [
        Sample((randn(rng, 3, 4, 2, 3, 2), 0.3)),
        Sample((randn(rng, 5, 2, 2, 3), 0.5), note="unbatched"),
        Sample((randn(rng, 2, 3, 2, 2, 2), 0.5, False), note="eval: the identity"),
    ], errors=[_P_ERROR]),
    OpSpec("nn.alpha_dropout", _masked("alpha_dropout", alpha=True), lambda rng: [
        Sample((randn(rng, 4, 5), 0.3)),
        Sample((randn(rng, 2, 3, 4), 0.5)),
        Sample((randn(rng, 3, 2), 1.0)),
        Sample((randn(rng, 3, 2), 0.5, False), note="eval: the identity"),
    ], errors=[_P_ERROR]),
    OpSpec("nn.feature_alpha_dropout", _masked("feature_alpha_dropout", feature=True,
                                               alpha=True), lambda rng: [
        Sample((randn(rng, 4, 3, 5), 0.3)),
        Sample((randn(rng, 2, 4, 2, 3), 0.5)),
        Sample((randn(rng, 2, 3, 2), 0.5, False), note="eval: the identity"),
    ], errors=[_P_ERROR, ErrorCase((np.ones(4), 0.5, True), RuntimeError,
                                   "Feature dropout requires at least 2 dimensions")]),
)
