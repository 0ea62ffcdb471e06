"""The exp-normalizing ops: ``softmax``, ``log_softmax`` over a dim, and ``logsumexp``.

All three shift by the max before exponentiating, so logits of any finite size stay finite.
Backward runs through the backend's ``softmax_grad`` / ``logsumexp_grad`` primitives; under
``create_graph=True`` the same math runs on Tensors.
"""

from __future__ import annotations

import warnings

from ..autograd.function import Function
from ..backend.formulas_reduce import logsumexp_grad_math, softmax_grad_math
from ._util import Tensor, float_result, grad_state, math_ns, wrap_dim, wrap_dims
from .minmax import kept_shape

__all__ = ["softmax", "log_softmax", "logsumexp"]


class Softmax(Function):
    node_name = "SoftmaxBackward0"
    log = False

    @staticmethod
    def forward(ctx, x, axis):
        data = x._data
        # A 0-d input is a one-element slice.
        out = x._backend.softmax(data.reshape(1) if data.ndim == 0 else data, axis, ctx.log)
        y = x._new(out.reshape(data.shape))
        ctx.axis = axis
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        axis = ctx.axis

        def ksum(a):
            return a.sum(axis, keepdim=True)

        return softmax_grad_math(math_ns(), ksum, grad, y, ctx.log), None

    def _array_backward(self, grad):
        (y,) = self.saved_arrays()
        shape = grad.shape
        if grad.ndim == 0:  # a 0-d input is a one-element slice
            grad, y = grad.reshape(1), y.reshape(1)
        return self._backend.softmax_grad(grad, y, self.axis, self.log).reshape(shape), None


class LogSoftmax(Softmax):
    node_name = "LogSoftmaxBackward0"
    log = True


def _softmax_dim(name: str, ndim: int) -> int:
    """PyTorch's legacy implicit dim (with its deprecation warning) when ``dim`` is None."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include "
        "dim=X as an argument.", UserWarning, stacklevel=4,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _apply(cls, name: str, input: Tensor, dim, dtype) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise NotImplementedError(
            f"{name}(): not implemented for '{input.dtype}' inputs; pass dtype= to compute in a "
            "floating-point dtype"
        )
    ndim = input._data.ndim
    if dim is None:
        dim = _softmax_dim(name, ndim)
    return cls.apply(input, wrap_dim(dim, ndim))


def softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim``; ``dtype`` casts the input first.

    As ``torch.nn.functional.softmax``, a missing ``dim`` picks the legacy implicit dim with a
    deprecation warning.
    """
    return _apply(Softmax, "softmax", input, dim, dtype)


def log_softmax(input: Tensor, dim=None, dtype=None) -> Tensor:
    """``x - logsumexp(x)`` along ``dim``: the log of softmax, computed stably."""
    return _apply(LogSoftmax, "log_softmax", input, dim, dtype)


class Logsumexp(Function):
    node_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        out = x._new(x._backend.logsumexp(x._data, dims, keepdim))
        ctx.dims = dims
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        kshape = kept_shape(x._data.shape, ctx.dims)
        g, kept_out = grad.reshape(kshape), out.reshape(kshape)
        if grad_state.enabled:
            return logsumexp_grad_math(math_ns(), g, x, kept_out), None, None
        return grad._new(grad._backend.logsumexp_grad(g._data, x._data, kept_out._data)), None, None


def logsumexp(input: Tensor, dim, keepdim: bool = False) -> Tensor:
    """``log(sum(exp(input)))`` over ``dim`` (an int or a tuple), shifted by the max.

    Integer and bool inputs compute in the default float dtype.
    """
    if not input.is_floating_point():
        input = input.to(float_result(input.dtype))
    return Logsumexp.apply(input, wrap_dims(dim, input._data.ndim), keepdim)


METHODS = {"softmax": softmax, "log_softmax": log_softmax, "logsumexp": logsumexp}
