"""Elementwise losses: ``mse_loss``, ``l1_loss``, ``smooth_l1_loss``, ``huber_loss``,
``binary_cross_entropy``, ``binary_cross_entropy_with_logits``.

Forward calls the backend's fused primitive, which returns the loss and the gradient of the
input (for an upstream gradient of 1) from one pass; backward scales that buffer by
``grad_output`` (skipped when it is 1) and hands it on once. The gradient of the target comes
from the same math (the negative for the regression losses). Under ``create_graph=True`` both
gradients are rebuilt from Tensor ops on the saved inputs (``unit_grads`` with ``m=gpugrad``).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ...autograd.function import Function
from ...ops._util import Tensor, check_tensor, math_ns
from ._reduction import check_reduction

__all__ = ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]


class _FusedLoss(Function):
    """Base of the elementwise losses. Subclasses set ``primitive`` (a backend method name)
    and ``unit_grads(m, x, y, *params)`` -> (d loss/dx, d loss/dy) per element, before the
    reduction's scale; ``None`` for dy means ``-dx`` (with ``negative_target_grad``)."""

    primitive = ""
    negative_target_grad = False  # d loss/dy == -d loss/dx (the regression losses)

    @staticmethod
    def unit_grads(m, x, y, *params):
        raise NotImplementedError

    @staticmethod
    def forward(ctx, x, y, *params):
        need_x = ctx.needs_input_grad[0]
        *extra, reduction = params
        arrays = [p._data if isinstance(p, Tensor) else p for p in extra]
        loss, grad = getattr(x._backend, ctx.primitive)(x._data, y._data, *arrays, reduction,
                                                        need_x or ctx.needs_input_grad[1])
        ctx.grad_x, ctx.params = grad, params
        ctx.save_for_backward(x, y, *[p for p in extra if isinstance(p, Tensor)])
        return x._new(loss)

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_tensors
        x, y = saved[0], saved[1]
        tensors = iter(saved[2:])
        *extra, reduction = ctx.params
        extra = [next(tensors) if isinstance(p, Tensor) else p for p in extra]
        scale = _mean_scale(reduction, [t._data.shape for t in (x, y, *extra)
                                        if isinstance(t, Tensor)])
        gx, gy = ctx.unit_grads(math_ns(), x, y, *extra)
        go = grad * scale
        gy = -gx if gy is None else gy
        return (gx * go if ctx.needs_input_grad[0] else None,
                gy * go if ctx.needs_input_grad[1] else None, *(None,) * len(ctx.params))

    def _array_backward(self, grad):
        saved = self.saved_arrays()
        x, y = saved[0], saved[1]
        arrays = iter(saved[2:])
        *extra, reduction = self.params
        extra = [next(arrays) if isinstance(p, Tensor) else p for p in extra]
        need_x, need_y = self.needs_input_grad[0], self.needs_input_grad[1]
        backend = self._backend
        unit = self.grad_x
        self.grad_x = None  # handed on once; a retained graph recomputes it
        if unit is None:
            unit = getattr(backend, self.primitive)(x, y, *extra, reduction, True)[1]
        unit_y = None
        if need_y and not self.negative_target_grad:
            scale = _mean_scale(reduction, [a.shape for a in (x, y, *extra)
                                            if hasattr(a, "shape")])
            unit_y = self.unit_grads(backend.xp, x, y, *extra)[1] * scale
        g = backend.scale_loss_grad(unit, grad)
        gy = None
        if need_y:
            gy = -g if unit_y is None else backend.scale_loss_grad(unit_y, grad)
        return (g if need_x else None), gy, *(None,) * len(self.params)


def _mean_scale(reduction: str, shapes) -> float:
    """1/n for a mean over the broadcast shape of the operands, else 1."""
    count = math.prod(np.broadcast_shapes(*shapes))
    return 1.0 / count if reduction == "mean" and count else 1.0


class MseLoss(_FusedLoss):
    node_name, primitive = "MseLossBackward0", "mse"
    negative_target_grad = True

    @staticmethod
    def unit_grads(m, x, y):
        return 2 * (x - y), None


class L1Loss(_FusedLoss):
    node_name, primitive = "L1LossBackward0", "l1"
    negative_target_grad = True

    @staticmethod
    def unit_grads(m, x, y):
        return m.sign(x - y), None


class SmoothL1Loss(_FusedLoss):
    node_name, primitive = "SmoothL1LossBackward0", "smooth_l1"
    negative_target_grad = True

    @staticmethod
    def unit_grads(m, x, y, beta):
        d = x - y
        if beta == 0:
            return m.sign(d), None
        return m.where(m.abs(d) < beta, d / beta, m.sign(d)), None


class HuberLoss(_FusedLoss):
    node_name, primitive = "HuberLossBackward0", "huber"
    negative_target_grad = True

    @staticmethod
    def unit_grads(m, x, y, delta):
        d = x - y
        return m.where(m.abs(d) < delta, d, m.sign(d) * delta), None


class BinaryCrossEntropy(_FusedLoss):
    node_name, primitive = "BinaryCrossEntropyBackward0", "bce"

    @staticmethod
    def unit_grads(m, x, y, weight):
        gx = (x - y) / m.maximum((1 - x) * x, 1e-12)
        gy = m.maximum(m.log1p(-x), -100) - m.maximum(m.log(x), -100)
        if weight is not None:
            gx, gy = gx * weight, gy * weight
        return gx, gy


class BinaryCrossEntropyWithLogits(_FusedLoss):
    node_name, primitive = "BinaryCrossEntropyWithLogitsBackward0", "bce_with_logits"

    @staticmethod
    def unit_grads(m, x, y, weight, pos_weight):
        softplus_neg = m.maximum(-x, 0) + m.log1p(m.exp(-m.abs(x)))
        # sigmoid(-x) = exp(-softplus(x)) = exp(-x - softplus(-x)): never forms exp(|x|), so
        # its own derivative stays finite at |x| = 1e4 (1 / (1 + exp(x)) gives inf / inf there).
        sig_neg = m.exp(-x - softplus_neg)
        if pos_weight is None:
            gx, gy = (1 - y) - sig_neg, -x
        else:
            gx = (1 - y) - (1 + (pos_weight - 1) * y) * sig_neg
            gy = -x + (pos_weight - 1) * softplus_neg
        if weight is not None:
            gx, gy = gx * weight, gy * weight
        return gx, gy


def _warn_size(input: Tensor, target: Tensor) -> None:
    if input._data.shape != target._data.shape:
        warnings.warn(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}). This will likely lead to incorrect results due to "
            "broadcasting. Please ensure they have the same size.",
            UserWarning, stacklevel=3,
        )


def _prepare(fn: str, input, target, reduction, size_average=None, reduce=None):
    check_tensor(input, fn)
    check_tensor(target, fn, "target")
    reduction = check_reduction(reduction, size_average, reduce)
    if not input.is_floating_point():
        raise RuntimeError(f'"{fn}" not implemented for \'{input.dtype}\'')
    if target._data.dtype != input._data.dtype:
        target = target.to(input.dtype)
    return target, reduction


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
    target, reduction = _prepare("mse_loss", input, target, reduction, size_average, reduce)
    if weight is not None:
        return _weighted(MseLoss.apply(input, target, "none"), weight, input, reduction, True)
    return MseLoss.apply(input, target, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    """Mean absolute error ``|input - target|``, reduced."""
    _warn_size(input, target)
    target, reduction = _prepare("l1_loss", input, target, reduction, size_average, reduce)
    if weight is not None:
        return _weighted(L1Loss.apply(input, target, "none"), weight, input, reduction, True)
    return L1Loss.apply(input, target, reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """``0.5 * d^2 / beta`` where ``|d| < beta``, else ``|d| - 0.5 * beta``; ``d = input -
    target``. ``beta=0`` gives the L1 loss."""
    _warn_size(input, target)
    target, reduction = _prepare("smooth_l1_loss", input, target, reduction, size_average,
                                 reduce)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    return SmoothL1Loss.apply(input, target, float(beta), reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """``0.5 * d^2`` where ``|d| < delta``, else ``delta * (|d| - 0.5 * delta)``."""
    _warn_size(input, target)
    target, reduction = _prepare("huber_loss", input, target, reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None:
        loss = HuberLoss.apply(input, target, float(delta), "none")
        return _weighted(loss, weight, input, reduction, False)
    return HuberLoss.apply(input, target, float(delta), reduction)


class BinaryInputRangeError(ValueError, RuntimeError):
    """Probabilities outside [0, 1] given to ``binary_cross_entropy`` (a ValueError, and a
    RuntimeError as PyTorch raises)."""


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities ``input`` in [0, 1] and ``target``:
    ``-w * (y * log(x) + (1 - y) * log(1 - x))``, each log clamped at -100."""
    target, reduction = _prepare("binary_cross_entropy", input, target, reduction,
                                 size_average, reduce)
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Using a target size ({target.shape}) that is different to the input size "
            f"({input.shape}) is deprecated. Please ensure they have the same size."
        )
    x = input._data
    if x.size and bool((~((x >= 0) & (x <= 1))).any()):  # host check, as PyTorch's
        raise BinaryInputRangeError("all elements of input should be between 0 and 1")
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
    target, reduction = _prepare("binary_cross_entropy_with_logits", input, target, reduction,
                                 size_average, reduce)
    if target._data.shape != input._data.shape:
        raise ValueError(
            f"Target size ({target.shape}) must be the same as input size ({input.shape})"
        )
    if weight is not None:
        weight = _broadcast_weight(weight, input)
    if pos_weight is not None:
        check_tensor(pos_weight, "binary_cross_entropy_with_logits", "pos_weight")
        if pos_weight._data.dtype != input._data.dtype:
            pos_weight = pos_weight.to(input.dtype)
    return BinaryCrossEntropyWithLogits.apply(input, target, weight, pos_weight, reduction)
