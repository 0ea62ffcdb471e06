"""The elementwise losses' Functions: MSE, L1, smooth L1, Huber, binary cross-entropy (on
probabilities and on logits). Argument checks live in ``nn/functional/loss.py``.

Forward calls the backend's fused primitive, which returns the loss and the gradient of the
input (for an upstream gradient of 1) from one pass; backward scales that buffer by
``grad_output`` (not after ``loss.backward()``: ``is_unit_seed``) and hands it on once. The
gradient of the target comes from the same math (the negative for the regression losses).
Under ``create_graph=True`` both gradients are rebuilt from Tensor ops on the saved inputs
(``unit_grads`` with ``m=gpugrad``).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.engine import is_unit_seed
from ..autograd.function import Function
from ._util import Tensor, math_ns


class _FusedLoss(Function):
    """Base of the elementwise losses. Subclasses set ``primitive`` (a backend method name)
    and ``unit_grads(m, x, y, *params)`` -> (d loss/dx, d loss/dy) per element, before the
    reduction's scale; ``None`` for dy means ``-dx`` (with ``negative_target_grad``)."""

    primitive = ""
    _next_inputs = (0, 1)  # input and target (PyTorch does not list a weight)
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
        unit_seed = is_unit_seed(grad)  # after loss.backward(): the buffers are the gradients
        g = unit if unit_seed else backend.scale_loss_grad(unit, grad)
        gy = None
        if need_y:
            gy = -g if unit_y is None else unit_y if unit_seed else backend.scale_loss_grad(
                unit_y, grad)
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
