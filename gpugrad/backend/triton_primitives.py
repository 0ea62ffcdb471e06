"""The backend primitives that run as Triton kernels: a mixin for a backend over NumPy twins.

``class B(TritonPrimitives, NumpyBackend)`` replaces each twin with the launcher of the same
signature; a case the kernels do not cover (an op without a Triton formula, a dtype such as
integer ``pow``) goes on to the twin through ``super()``, on the backend's own arrays.
"""

from __future__ import annotations

import functools

from .._dtype import COMPLEX, LIMITED_UNSIGNED_NP, on_first_complex_use, on_first_unsigned_use
from ..kernels import binary_math as bm
from ..kernels import cross_entropy as ce
from ..kernels import elementwise_ops as ew
from ..kernels import losses, optim, reduction, softmax, statistics
from ..kernels import unary_math as um
from ..kernels._launch import FLOAT_DTYPES


class TritonPrimitives:
    """Mixin: Triton launchers in place of the NumPy twins of ``NumpyBackend``."""

    # ------------------------------------------------------------------- elementwise
    def unary(self, op, x):
        if ew.supports_unary(op, x):
            return ew.unary(op, x)
        return super().unary(op, x)

    def unary_grad(self, op, grad, x, y):
        if op in um.UNARY and grad.dtype in FLOAT_DTYPES:
            return ew.unary_grad(op, grad, x, y)
        return super().unary_grad(op, grad, x, y)

    def binary(self, op, a, b):
        if ew.supports_binary(op, a, b):
            return ew.binary(op, a, b)
        return super().binary(op, a, b)

    def binary_grad(self, op, grad, a, b, out, need_a, need_b):
        if op in bm.BINARY and grad.dtype in FLOAT_DTYPES:
            return ew.binary_grad(op, grad, a, b, out, need_a, need_b)
        return super().binary_grad(op, grad, a, b, out, need_a, need_b)

    def compare(self, op, a, b):
        if op in bm.COMPARE:
            return ew.compare(op, a, b)
        return super().compare(op, a, b)

    def bitwise(self, op, a, b):
        return ew.bitwise(op, a, b)

    def where(self, cond, a, b):
        return ew.where(cond, a, b)

    def clamp(self, x, lo, hi):
        if x.dtype.kind in "fiuV":  # V: bfloat16
            return ew.clamp(x, lo, hi)
        return super().clamp(x, lo, hi)

    def clamp_grad(self, grad, x, lo, hi):
        return ew.clamp_grad(grad, x, lo, hi)

    # -------------------------------------------------------------------- reductions
    def reduce(self, op, x, axes, keepdim):
        if reduction.supports_reduce(op, x):
            return reduction.reduce(op, x, axes, keepdim)
        return super().reduce(op, x, axes, keepdim)

    def arg_reduce(self, op, x, axis, keepdim):
        if x.dtype.kind in "fiuV":
            return statistics.arg_reduce(op, x, axis, keepdim)
        return super().arg_reduce(op, x, axis, keepdim)

    def var(self, x, axes, correction, keepdim):
        if x.dtype in FLOAT_DTYPES:
            return statistics.var(x, axes, correction, keepdim)
        return super().var(x, axes, correction, keepdim)

    def logsumexp(self, x, axes, keepdim):
        if x.dtype in FLOAT_DTYPES:
            return statistics.logsumexp(x, axes, keepdim)
        return super().logsumexp(x, axes, keepdim)

    def sum_to_shape(self, grad, shape):
        if grad.dtype in FLOAT_DTYPES:
            return reduction.sum_to_shape(grad, shape)
        return super().sum_to_shape(grad, shape)

    def softmax(self, x, axis, log):
        if x.dtype in FLOAT_DTYPES:
            return softmax.softmax(x, axis, log)
        return super().softmax(x, axis, log)

    def reduce_grad(self, op, grad, x, y, shape, axes, param=None):
        if (op in ("softmax", "log_softmax") and axes is not None and grad.dtype in FLOAT_DTYPES
                and y.dtype == grad.dtype):
            return softmax.softmax_grad(grad, y, axes[0], op == "log_softmax")
        return super().reduce_grad(op, grad, x, y, shape, axes, param)

    # ------------------------------------------------------------------------ losses
    def cross_entropy(self, logits, target, weight, ignore_index, label_smoothing, reduction,
                      need_grad):
        if logits.dtype not in FLOAT_DTYPES:
            return super().cross_entropy(logits, target, weight, ignore_index, label_smoothing,
                                         reduction, need_grad)
        return ce.cross_entropy(logits, target, weight, ignore_index, label_smoothing,
                                reduction, need_grad)

    def cross_entropy_probs(self, logits, target, weight, label_smoothing, reduction,
                            need_grad):
        if logits.dtype not in FLOAT_DTYPES:
            return super().cross_entropy_probs(logits, target, weight, label_smoothing,
                                               reduction, need_grad)
        return ce.cross_entropy_probs(logits, target, weight, label_smoothing, reduction,
                                      need_grad)

    def bce_with_logits(self, x, y, weight, pos_weight, reduction, need_grad):
        return losses.bce_with_logits(x, y, weight, pos_weight, reduction, need_grad)

    def mse(self, x, y, reduction, need_grad):
        return losses.mse(x, y, reduction, need_grad)

    def l1(self, x, y, reduction, need_grad):
        return losses.l1(x, y, reduction, need_grad)

    def scale_loss_grad(self, grad_input, grad_output):
        return losses.scale_loss_grad(grad_input, grad_output)

    # -------------------------------------------------------------------- optimizers
    def sgd_step(self, params, grads, momentum_buffers, **hyper):
        if optim.supported(params, grads, momentum_buffers):
            optim.sgd_step(params, grads, momentum_buffers, **hyper)
        else:
            super().sgd_step(params, grads, momentum_buffers, **hyper)

    def adam_step(self, params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, **hyper):
        if optim.supported(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs):
            optim.adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, **hyper)
        else:
            super().adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, **hyper)


def _twin_for(name: str, launcher, routed: frozenset):
    @functools.wraps(launcher)
    def primitive(self, *args, **kwargs):
        for a in args:
            if getattr(a, "dtype", None) in routed:
                return getattr(super(TritonPrimitives, self), name)(*args, **kwargs)
        return launcher(self, *args, **kwargs)

    return primitive


def _route_to_twins(routed: frozenset):
    """The kernels cover none of uint16, uint32, uint64 or the complex dtypes (their launchers
    have no compute type for them): from the first use of one on, a primitive given an array
    of one runs the twin (CuPy's math on the backend's own arrays) instead. Until then the
    launchers are called directly."""

    def route() -> None:
        for name, launcher in list(vars(TritonPrimitives).items()):
            if callable(launcher) and not name.startswith("_"):
                setattr(TritonPrimitives, name, _twin_for(name, launcher, routed))

    return route


on_first_unsigned_use(_route_to_twins(LIMITED_UNSIGNED_NP))
on_first_complex_use(_route_to_twins(frozenset(d._np for d in COMPLEX)))
