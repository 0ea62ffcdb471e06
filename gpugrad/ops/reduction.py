"""Reductions over dims with ``keepdim``: sum, mean (more arrive with the reductions work)."""

from __future__ import annotations

import math

from .. import _dtype as dt
from ..autograd.function import Function
from ._util import Tensor, grad_state, wrap_dims

__all__ = ["sum", "mean", "sum_to_size"]


def _kept_shape(shape, dims):
    """``shape`` with the reduced ``dims`` set to 1 (all dims when ``dims`` is None)."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


def expand_back(grad: Tensor, shape, dims, keepdim: bool) -> Tensor:
    """Broadcast the gradient of a reduction back to the input's ``shape``."""
    kshape = _kept_shape(shape, dims)
    if grad_state.enabled:
        return grad.reshape(kshape).expand(shape)
    xp = grad._backend.xp
    return grad._new(xp.broadcast_to(grad._data.reshape(kshape), shape))


class Sum(Function):
    node_name = "SumBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        data = x._data if np_dtype is None else x._data.astype(np_dtype)
        return x._new(x._backend.reduce("sum", data, dims, keepdim))

    @staticmethod
    def backward(ctx, grad):
        return expand_back(grad, ctx.shape, ctx.dims, ctx.keepdim), None, None, None


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (an int, a tuple of ints, or None for all)."""
    dims = wrap_dims(dim, input._data.ndim)
    np_dtype = None if dtype is None else dt.to_dtype(dtype).np
    return Sum.apply(input, dims, keepdim, np_dtype)


class Mean(Function):
    node_name = "MeanBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        shape = x._data.shape
        ctx.shape, ctx.dims, ctx.keepdim = shape, dims, keepdim
        ctx.count = math.prod(shape) if dims is None else math.prod(shape[d] for d in dims)
        return x._new(x._backend.reduce("mean", x._data, dims, keepdim))

    @staticmethod
    def backward(ctx, grad):
        # count == 0 gives nan (0/0), as PyTorch's mean of an empty tensor does.
        scale = (1.0 / ctx.count) if ctx.count else math.nan
        return expand_back(grad * scale, ctx.shape, ctx.dims, ctx.keepdim), None, None


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim``; floating-point inputs only (or pass ``dtype``)."""
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {input.dtype}"
        )
    return Mean.apply(input, wrap_dims(dim, input._data.ndim), keepdim)


class SumToSize(Function):
    node_name = "SumToSizeBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        return x._new(x._backend.sum_to_shape(x._data, shape))

    @staticmethod
    def backward(ctx, grad):
        return grad.expand(ctx.shape), None


def sum_to_size(self: Tensor, *size) -> Tensor:
    """Sum this tensor down to ``size`` (the inverse of broadcasting to this tensor's shape)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    shape = tuple(int(n) for n in size)
    have = self._data.shape
    if len(shape) > len(have) or any(
        s != 1 and s != h for s, h in zip(shape, have[len(have) - len(shape):])
    ):
        raise RuntimeError(f"size {list(shape)} is not expandable to size {list(have)}")
    if shape == have:
        return self
    return SumToSize.apply(self, shape)


METHODS = {"sum": sum, "mean": mean, "sum_to_size": sum_to_size}
