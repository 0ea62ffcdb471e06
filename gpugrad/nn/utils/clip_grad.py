"""Gradient clipping: ``clip_grad_norm_`` (by the total norm of all gradients) and
``clip_grad_value_`` (elementwise), with ``torch.nn.utils``' arguments and results."""

from __future__ import annotations

import math

from ..._foreach_ops import _foreach_norm
from ...autograd.grad_mode import no_grad
from ...factories import tensor
from ...ops.join import stack
from ...tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "clip_grads_with_norm_",
           "get_total_norm"]


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


@no_grad()
def get_total_norm(tensors, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach=None) -> Tensor:
    """The ``norm_type``-norm of all ``tensors`` together, as if concatenated into one vector
    (0-d; 0.0 when there are none)."""
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = list(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return tensor(0.0)
    total = stack(_foreach_norm(tensors, norm_type)).norm(norm_type)
    if error_if_nonfinite and not math.isfinite(total.item()):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
            "so it cannot be clipped. To disable this error and scale the gradients by the "
            "non-finite norm anyway, set `error_if_nonfinite=False`"
        )
    return total


@no_grad()
def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Scale the gradients of ``parameters`` in place so that their total ``norm_type``-norm is
    at most ``max_norm``; returns the total norm before clipping.

    As PyTorch: every gradient is multiplied by ``min(1, max_norm / (total + 1e-6))``;
    ``foreach`` is accepted and ignored (the per-gradient work is one primitive call anyway).
    """
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    _scale(grads, max_norm, total)
    return total


def _scale(grads, max_norm, total) -> None:
    if not grads:
        return
    coef = (float(max_norm) / (total + 1e-6)).clamp(max=1.0)
    by_dtype = {}  # the factor in each gradient dtype, cast once
    for g in grads:
        c = by_dtype.get(g.dtype)
        if c is None:
            c = by_dtype[g.dtype] = coef.to(g.dtype)
        g.mul_(c)


@no_grad()
def clip_grads_with_norm_(parameters, max_norm: float, total_norm: Tensor, foreach=None) -> None:
    """Scale the gradients of ``parameters`` in place by ``min(1, max_norm / (total_norm +
    1e-6))``, for a ``total_norm`` computed beforehand (``get_total_norm``)."""
    _scale(_grads(parameters), max_norm, total_norm)


def clip_grad_norm(parameters, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach=None) -> Tensor:
    """Deprecated alias of ``clip_grad_norm_``."""
    import warnings

    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


@no_grad()
def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient of ``parameters`` in place to ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        g.clamp_(min=-clip_value, max=clip_value)
