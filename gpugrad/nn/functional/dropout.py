"""Dropout in its forms: elementwise (``dropout``), whole channels (``dropout1d/2d/3d``,
PyTorch's feature dropout), and the self-normalizing ``alpha_dropout`` /
``feature_alpha_dropout`` that keep a SELU network's zero mean and unit variance.

Each is the input times a mask (plus, for alpha dropout, a constant shift), drawn from the
backend's generator: the gradient is the mask. A channel mask has shape (N, C, 1, ...) and
broadcasts over the channel's positions. PyTorch's arguments, warnings and errors.
"""

from __future__ import annotations

import math

from ..._generator import rng_for
from ..._warnings import warn_user
from ...ops._util import Tensor, check_tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

# SELU's negative saturation, scale * alpha: where alpha dropout sets the dropped values.
_SELU_SATURATION = 1.7580993408473766


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _dropout(input: Tensor, p: float, training: bool, inplace: bool, feature: bool,
             alpha: bool) -> Tensor:
    """The one implementation: a kept-mask per element or per (sample, channel), scaled by
    ``1 / (1 - p)``; alpha dropout scales it by ``a`` and adds ``b`` so that the mean and
    variance of a standard input are kept (dropped values become ``-saturation * a + b``)."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if feature and input.dim() < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    data, xp = input._data, input._backend.xp
    shape = (*data.shape[:2], *(1,) * (data.ndim - 2)) if feature else data.shape
    if p == 1.0:
        scale = xp.zeros(shape, data.dtype)
        return input.mul_(input._new(scale)) if inplace else input * input._new(scale)
    rng = rng_for(None, input._backend, "dropout")
    keep = input._backend.bernoulli_mask(1.0 - p, shape, rng).astype(data.dtype)
    if not alpha:
        keep *= 1.0 / (1.0 - p)
        mask = input._new(keep)
        return input.mul_(mask) if inplace else input * mask
    a = 1.0 / math.sqrt((_SELU_SATURATION ** 2 * p + 1) * (1 - p))
    shift = input._new((keep - 1) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p)
    mask = input._new(keep * a)
    return input.mul_(mask).add_(shift) if inplace else input * mask + shift


def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)``, in
    training (into ``input`` itself with ``inplace``); the identity otherwise."""
    check_tensor(input, "dropout")
    _check_p(p)
    return _dropout(input, p, training, inplace, feature=False, alpha=False)


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                     batched: bool) -> Tensor:
    if batched:
        return _dropout(input, p, training, inplace, feature=True, alpha=False)
    out = _dropout(input.unsqueeze(0), p, training, inplace, feature=True, alpha=False)
    return out.squeeze(0)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of ``input`` (N, C, L) or (C, L) with probability ``p``, scaling
    the rest by ``1 / (1 - p)``, in training."""
    check_tensor(input, "dropout1d")
    _check_p(p)
    if input.dim() not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {input.dim()}D input. Note "
            "that dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    return _channel_dropout(input, p, training, inplace, batched=input.dim() == 3)


def _unexpected_dims(fn: str, dims: int, spatial: str, allowed: str) -> None:
    warn_user(
        f"{fn}: Received a {dims}-D input to {fn}, which is deprecated and will result in an "
        "error in a future release. To retain the behavior and silence this warning, please "
        f"use dropout instead. Note that {fn} exists to provide channel-wise dropout on inputs "
        f"with {spatial} spatial dimensions, a channel dimension, and an optional batch "
        f"dimension (i.e. {allowed} inputs).")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of ``input`` (N, C, H, W) with probability ``p``, scaling the rest
    by ``1 / (1 - p)``, in training. As PyTorch, a 3-D input is taken as (N, C, L), with a
    warning."""
    check_tensor(input, "dropout2d")
    _check_p(p)
    if input.dim() not in (3, 4):
        _unexpected_dims("dropout2d", input.dim(), "2", "3D or 4D")
    if input.dim() == 3:
        warn_user(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C is "
            "the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.")
    return _dropout(input, p, training, inplace, feature=True, alpha=False)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Zero whole channels of ``input`` (N, C, D, H, W) or (C, D, H, W) with probability
    ``p``, scaling the rest by ``1 / (1 - p)``, in training."""
    check_tensor(input, "dropout3d")
    _check_p(p)
    if input.dim() not in (4, 5):
        _unexpected_dims("dropout3d", input.dim(), "3", "4D or 5D")
    return _channel_dropout(input, p, training, inplace, batched=input.dim() == 5)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Alpha dropout (for SELU networks), in training: each element is dropped with
    probability ``p`` to SELU's negative saturation, then all are scaled and shifted so that
    a zero-mean, unit-variance input keeps its mean and variance."""
    check_tensor(input, "alpha_dropout")
    _check_p(p)
    return _dropout(input, p, training, inplace, feature=False, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels (dim 1) of ``input`` (N, C, ...), in training."""
    check_tensor(input, "feature_alpha_dropout")
    _check_p(p)
    return _dropout(input, p, training, inplace, feature=True, alpha=True)
