"""Checking the ``reduction`` argument of the losses, PyTorch's legacy flags, and the weights
the losses do not differentiate."""

from __future__ import annotations

from ..._warnings import warn_user
from ...autograd.grad_mode import is_grad_enabled

_REDUCTIONS = ("none", "mean", "sum")


def legacy_get_string(size_average, reduce, emit_warning: bool = True) -> str:
    """The ``reduction`` that the deprecated ``size_average`` / ``reduce`` flags ask for."""
    warning = "size_average and reduce args will be deprecated, please use reduction='{}' instead."
    if size_average is None:
        size_average = True
    if reduce is None:
        reduce = True
    if size_average and reduce:
        ret = "mean"
    elif reduce:
        ret = "sum"
    else:
        ret = "none"
    if emit_warning:
        warn_user(warning.format(ret))
    return ret


def check_reduction(reduction: str, size_average=None, reduce=None) -> str:
    """The reduction to use; ValueError for an unknown one."""
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


def reduce_loss(loss, reduction: str):
    """``loss`` (elementwise) reduced as ``reduction`` asks: ``'mean'``, ``'sum'`` or
    ``'none'`` (already checked)."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def check_no_grad_argument(fn: str, name: str, value) -> None:
    """PyTorch's error for a tensor argument its op does not differentiate (a loss's class
    ``weight``) that requires grad in grad mode: its gradient would be silently missing."""
    if value is not None and value.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument "
                           f"'{name}'. This input cannot have requires_grad True.")
