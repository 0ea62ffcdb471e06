"""Elementwise losses: ``mse_loss``, ``l1_loss``, ``smooth_l1_loss``, ``huber_loss``,
``binary_cross_entropy``, ``binary_cross_entropy_with_logits``.

PyTorch's arguments, checked here; the ops (one fused pass for the loss and its gradient) are in
``ops/losses.py``.
"""

from __future__ import annotations

from ... import _capture
from ... import _dtype as dt
from ..._warnings import warn_user
from ...ops._inplace_graph import check_into
from ...ops._util import Tensor, check_tensor
from ...ops.losses import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    HuberLoss,
    L1Loss,
    MseLoss,
    SmoothL1Loss,
)
from ._reduction import check_no_grad_argument, check_reduction

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]


def _warn_size(input: Tensor, target: Tensor) -> None:
    if input._data.shape != target._data.shape:
        warn_user(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.")


# PyTorch's CPU kernels, which its dtype errors name, where they differ from the function
_KERNELS = {"mse_loss": "mse_cpu", "smooth_l1_loss": "smooth_l1_cpu", "huber_loss": "huber_cpu",
            "binary_cross_entropy_with_logits": "log_sigmoid_cpu"}


def _prepare(fn: str, input, target, reduction, size_average=None, reduce=None):
    check_tensor(input, fn)
    check_tensor(target, fn, "target")
    reduction = check_reduction(reduction, size_average, reduce)
    if not input.is_floating_point():
        if fn == "l1_loss":  # PyTorch's l1_loss is a mean of abs, and mean() names the dtype
            raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either "
                               "a floating point or complex dtype. Got: "
                               f"{dt.SCALAR_TYPE_NAMES[input.dtype.name]}")
        raise dt.not_implemented_for(_KERNELS.get(fn, fn), input.dtype)
    names = dt.SCALAR_TYPE_NAMES
    if fn == "binary_cross_entropy" and target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {names[target.dtype.name]} but expected "
                           f"{names[input.dtype.name]}")
    if fn == "binary_cross_entropy_with_logits" and not target.is_floating_point():
        if target.dtype == dt.bool:
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not "
                               "supported. Use the `^` or `logical_xor()` operator instead.")
        raise RuntimeError(f"result type {names[input.dtype.name]} can't be cast to the "
                           f"desired output type {names[target.dtype.name]}")
    # The loss is computed in the promoted dtype (a float64 target makes a float64 loss), but
    # huber_loss's in the input's, as PyTorch's.
    common = input.dtype if fn == "huber_loss" else dt.promote_types(input.dtype, target.dtype)
    if input.dtype != common:
        input = input.to(common)
    if target.dtype != common:
        target = target.to(common)
    return input, target, reduction


def _weighted(loss: Tensor, weight: Tensor, input: Tensor, reduction: str, mean_by_weight: bool):
    """PyTorch's weighted regression losses: the unreduced loss times ``weight``, then summed,
    or averaged over ``sum(weight)`` (mse, l1) or over the elements (huber)."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    weighted = loss * weight
    if reduction == "none":
        return weighted
    if reduction == "sum":
        return weighted.sum()
    return weighted.sum() / weight.sum() if mean_by_weight else weighted.mean()


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean squared error ``(input - target)^2``, reduced (input and target broadcast)."""
    _warn_size(input, target)
    input, target, reduction = _prepare("mse_loss", input, target, reduction, size_average, reduce)
    if weight is not None:
        return _weighted(MseLoss.apply(input, target, "none"), weight, input, reduction, True)
    return MseLoss.apply(input, target, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced."""
    _warn_size(input, target)
    input, target, reduction = _prepare("l1_loss", input, target, reduction, size_average, reduce)
    if weight is not None:
        return _weighted(L1Loss.apply(input, target, "none"), weight, input, reduction, True)
    return L1Loss.apply(input, target, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 * d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``; ``d = input -
    target``. ``beta=0`` gives the L1 loss."""
    _warn_size(input, target)
    input, target, reduction = _prepare("smooth_l1_loss", input, target, reduction, size_average,
                                 reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return SmoothL1Loss.apply(input, target, float(beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 * d^2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``."""
    _warn_size(input, target)
    input, target, reduction = _prepare("huber_loss", input, target, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None:
        loss = HuberLoss.apply(input, target, float(delta), "none")
        return _weighted(loss, weight, input, reduction, False)
    return HuberLoss.apply(input, target, float(delta), reduction)


class BinaryInputRangeError(ValueError, RuntimeError):
    """Probabilities outside [0, 1] given to ``binary_cross_entropy`` (a ValueError, and a
    RuntimeError as PyTorch raises)."""


@_capture.island(repeatable=True)  # a captured step checks each new input (see gpugrad/_capture.py)
def _check_probabilities(input: Tensor) -> None:
    x = input._data
    if x.size and bool((~((x >= 0) & (x <= 1))).any()):  # host check, as PyTorch's
        raise BinaryInputRangeError("all elements of input should be between 0 and 1")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities ``input`` in [0, 1] and ``target``:
    ``-w * (y * log(x) + (1 - y) * log(1 - x))``, each log clamped at -100."""
    input, target, reduction = _prepare("binary_cross_entropy", input, target, reduction,
                                 size_average, reduce)
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    _check_probabilities(input)
    check_no_grad_argument("binary_cross_entropy", "weight", weight)
    if weight is not None:
        weight = _broadcast_weight(weight, input)
    return BinaryCrossEntropy.apply(input, target, weight, reduction)


def _broadcast_weight(weight: Tensor, input: Tensor) -> Tensor:
    check_tensor(weight, "loss", "weight")
    if weight._data.dtype != input._data.dtype:
        weight = weight.to(input.dtype)
    return weight.expand(input.shape) if weight.shape != input.shape else weight


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, size_average=None,
                                     reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid and binary cross-entropy in one stable step, on logits ``input``:
    ``(1 - y) * x + (1 + (pos_weight - 1) * y) * log(1 + exp(-x))``, times ``weight``.

    ``pos_weight`` (broadcast along the last dim, e.g. (C,)) weighs the positive class.
    """
    target_dtype = target.dtype if isinstance(target, Tensor) else None
    input, target, reduction = _prepare("binary_cross_entropy_with_logits", input, target,
                                        reduction, size_average, reduce)
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    # the weights broadcast into the loss's shape, never beyond it (PyTorch's in-place rule)
    check_no_grad_argument("binary_cross_entropy_with_logits", "weight", weight)
    check_no_grad_argument("binary_cross_entropy_with_logits", "pos_weight", pos_weight)
    if weight is not None:
        check_tensor(weight, "binary_cross_entropy_with_logits", "weight")
        check_into(tuple(input.shape), tuple(weight.shape))
        weight = _broadcast_weight(weight, input)
    if pos_weight is not None:
        check_tensor(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
        check_into(tuple(input.shape), tuple(pos_weight.shape))
        if pos_weight._data.dtype != input._data.dtype:
            pos_weight = pos_weight.to(input.dtype)
    loss = BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight, reduction)
    return loss if loss.dtype == target_dtype else loss.to(target_dtype)  # (PyTorch's dtype)
