"""Divergence and likelihood losses, as composites of Tensor ops: ``kl_div``,
``poisson_nll_loss``, ``gaussian_nll_loss``."""

from __future__ import annotations

import math

from ..._warnings import warn_user
from ...autograd.grad_mode import no_grad
from ...factories import ones_like
from ...ops._util import Tensor, check_tensor, math_ns
from ._reduction import check_reduction, legacy_get_string, reduce_loss

__all__ = ["kl_div", "poisson_nll_loss", "gaussian_nll_loss"]


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None,
           reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Pointwise KL divergence ``target * (log(target) - input)`` for log-probabilities
    ``input`` (``target`` given as log-probabilities too with ``log_target``).

    ``reduction='batchmean'`` divides the sum by the batch size (dim 0), which is the KL
    divergence per sample; ``'mean'`` divides by the number of elements (and warns, as
    PyTorch)."""
    check_tensor(input, "kl_div")
    check_tensor(target, "kl_div", "target")
    if size_average is not None or reduce is not None:
        reduction = legacy_get_string(size_average, reduce)
    elif reduction == "mean":
        warn_user(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.")
    if reduction != "batchmean":
        check_reduction(reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:  # 0 * log(0) counts as 0, as xlogy(target, target)
        loss = math_ns().where(target == 0, 0.0, target * target.log()) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.dim() else total
    return reduce_loss(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average=None, eps: float = 1e-8, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` counts under Poisson rates: ``exp(input) -
    target * input`` with ``log_input``, else ``input - target * log(input + eps)``; ``full``
    adds Stirling's approximation of ``log(target!)`` where ``target > 1``."""
    check_tensor(input, "poisson_nll_loss")
    reduction = check_reduction(reduction, size_average, reduce)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return reduce_loss(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of ``target`` under normal distributions of mean ``input`` and
    variance ``var``: ``0.5 * (log(var) + (input - target)^2 / var)`` (plus ``0.5 * log(2 pi)``
    with ``full``).

    ``var`` has ``input``'s shape, or one fewer dim, or a size-1 dim where ``input`` has
    another size (one variance shared), or is a float. It is clamped to ``eps`` for stability
    outside the graph: its gradient is that of the unclamped formula, as PyTorch's."""
    check_tensor(input, "gaussian_nll_loss")
    if isinstance(var, (int, float)):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    in_shape, var_shape = tuple(input.shape), tuple(var.shape)
    if var_shape != in_shape:
        if in_shape[:-1] == var_shape:
            var = var.unsqueeze(-1)
        elif not (len(in_shape) == len(var_shape)
                  and sum(v for i, v in zip(in_shape, var_shape) if i != v) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce_loss(loss, reduction)
