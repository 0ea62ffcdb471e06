"""Selecting ops: ``where`` (pick from two operands by a mask), ``clamp`` (to bounds), ``tril``
and ``triu`` (keep a triangle of the last two dims)."""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .._scalar_fit import fit_scalar
from .._warnings import warn_user_once
from ..autograd.function import Function
from ..backend.formulas import clamp_grad
from ._broadcast import broadcast_shape, raise_broadcast_error
from ._util import (
    Tensor,
    data_as,
    float_result,
    int_arg,
    math_ns,
    result_dtype,
    scalar_or_tensor,
)

__all__ = ["where", "clamp", "clip", "clamp_min", "clamp_max", "tril", "triu"]


class Where(Function):
    node_name = "WhereBackward0"
    _next_inputs = (1, 2)  # the condition is not an input PyTorch lists

    @staticmethod
    def forward(ctx, condition, a, b, out_dtype):
        np_dtype = out_dtype.np
        ctx.save_for_backward(condition)
        out = condition._backend.where(condition._data, data_as(a, np_dtype), data_as(b, np_dtype))
        # two Python numbers pick in the backend's widest type: PyTorch's dtype is the default's
        return condition._new(out if out.dtype == np_dtype else out.astype(np_dtype))

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        _, need_a, need_b, _ = ctx.needs_input_grad
        m = math_ns()
        return (None, m.where(condition, grad, 0) if need_a else None,
                m.where(condition, 0, grad) if need_b else None, None)


class MaskedFill(Where):
    """``masked_fill(input, mask, value)`` as ``where(mask, value, input)``."""

    node_name = "MaskedFillBackward0"
    _next_inputs = (2,)


class MaskedFillTensor(MaskedFill):
    node_name = "MaskedFillBackward1"  # a 0-d tensor value
    _next_inputs = (2, 1)


def where(condition, input=None, other=None) -> Tensor:
    """``input`` where ``condition`` holds, else ``other`` (scalars allowed), broadcast."""
    if input is None and other is None:
        return condition.nonzero(as_tuple=True)
    return select_where(condition, input, other, Where)


def select_where(condition, input, other, node) -> Tensor:
    """``where`` with its checks and promotion, recorded as ``node`` (a ``Where``)."""
    if isinstance(condition, bool):
        from ..factories import tensor

        t = input if isinstance(input, Tensor) else other
        condition = tensor(condition, device=t.device)
    if not isinstance(condition, Tensor):
        raise TypeError(f"where(): condition must be a Tensor, got {type(condition).__name__}")
    if condition._data.dtype == np.uint8:  # (PyTorch's legacy mask, warned about once)
        warn_user_once("where received a uint8 condition tensor. This behavior is deprecated "
                       "and will be removed in a future version of PyTorch. Use a boolean "
                       "condition instead.")
        condition = condition != 0
    if condition._data.dtype.kind != "b":
        raise RuntimeError(
            "where expected condition to be a boolean tensor, but got a tensor with dtype "
            f"{dt.SCALAR_TYPE_NAMES[condition.dtype.name]}"
        )
    a = scalar_or_tensor(input, "input")
    b = scalar_or_tensor(other, "other")
    out_dtype = result_dtype(a, b)
    a, b = (fit_scalar(x, out_dtype) for x in (a, b))
    try:
        return node.apply(condition, a, b, out_dtype)
    except ValueError:
        broadcast_shape(condition, a, b)  # PyTorch's error where the shapes do not broadcast
        raise


class Clamp(Function):
    node_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x)
        ctx.bounds = (lo, hi)
        return x._new(x._backend.clamp(x._data, lo, hi))

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph); the engine otherwise calls _array_backward.
        (x,) = ctx.saved_tensors
        return clamp_grad(math_ns(), grad, x, *ctx.bounds), None, None

    def _array_backward(self, grad):
        (x,) = self.saved_arrays()
        return self._backend.clamp_grad(grad, x, *self.bounds), None, None


class ClampTensor(Function):
    """``clamp`` with tensor bounds (either may be None), broadcast: PyTorch's gradients. The
    input gets it inside ``[min, max]``; ``min`` where it binds and stays below ``max``; ``max``
    where it binds or lies below ``min`` (then the result is ``max``)."""

    node_name = "ClampBackward0"
    _next_inputs = (0, 1, 2)  # PyTorch lists both bounds, (None, 0) for one not given

    @staticmethod
    def forward(ctx, x, lo, hi, out_dtype):
        backend, np_dtype = x._backend, out_dtype.np
        out = data_as(x, np_dtype)
        for op, bound in (("maximum", lo), ("minimum", hi)):
            if bound is not None:
                try:
                    out = backend.binary(op, out, data_as(bound, np_dtype))
                except ValueError as e:
                    raise_broadcast_error(x._new(out), bound, e)
        ctx.save_for_backward(x, lo, hi)
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        x, lo, hi = ctx.saved_tensors
        _, need_lo, need_hi, _ = ctx.needs_input_grad
        m = math_ns()
        if lo is None:
            inside = x <= hi
        elif hi is None:
            inside = x >= lo
        else:
            inside = (x >= lo) & (x <= hi)
        g_x = m.where(inside, grad, 0) if ctx.needs_input_grad[0] else None
        g_lo = g_hi = None
        if need_lo:
            binds = x < lo
            g_lo = m.where(binds if hi is None else binds & (lo < hi), grad, 0)
        if need_hi:
            binds = x > hi
            g_hi = m.where(binds if lo is None else binds | (hi < lo), grad, 0)
        return g_x, g_lo, g_hi, None


def clamp(input: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """Limit values to ``[min, max]`` (either bound may be None; tensors bounds broadcast)."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        if not all(b is None or isinstance(b, Tensor) for b in (min, max)):
            raise TypeError("clamp(): min and max must both be Tensors (or None) when either "
                            "is a Tensor, not a Tensor and a number")
        out_dtype = input.dtype
        for bound in (min, max):
            if bound is not None:
                out_dtype = dt.promote_types(out_dtype, result_dtype(input, bound))
        return ClampTensor.apply(input, min, max, out_dtype)
    if not input.is_floating_point():
        is_float = isinstance(min, float) or isinstance(max, float)
        if is_float:
            input = input.to(float_result(input.dtype))
    min, max = (None if b is None else fit_scalar(b, input.dtype) for b in (min, max))
    return Clamp.apply(input, min, max)


clip = clamp


def clamp_min(input: Tensor, min) -> Tensor:  # noqa: A002
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:  # noqa: A002
    return clamp(input, max=max)

class Triangle(Function):
    """``tril``/``triu``: the elements on one side of a diagonal of the last two dims; the
    gradient keeps the same triangle."""

    node_name = "TrilBackward0"

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.diagonal, ctx.upper = diagonal, upper
        return x._new(_triangle(x._backend.xp, x._data, diagonal, upper))

    @staticmethod
    def backward(ctx, grad):
        return type(ctx).apply(grad, ctx.diagonal, ctx.upper), None, None

    def _array_backward(self, grad):
        return _triangle(self._backend.xp, grad, self.diagonal, self.upper), None, None


class Triu(Triangle):
    node_name = "TriuBackward0"


def _triangle(xp, x, diagonal: int, upper: bool):
    return xp.triu(x, diagonal) if upper else xp.tril(x, diagonal)


def _triangle_op(input: Tensor, diagonal, upper: bool) -> Tensor:
    name = "triu" if upper else "tril"
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input._data.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")
    diagonal = int_arg(diagonal, name, "diagonal")
    return (Triu if upper else Triangle).apply(input, diagonal, upper)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (on and below ``diagonal``); zeros elsewhere."""
    return _triangle_op(input, diagonal, False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (on and above ``diagonal``); zeros elsewhere."""
    return _triangle_op(input, diagonal, True)


def _where_method(self: Tensor, condition, other) -> Tensor:
    """``x.where(condition, y)``: ``x`` where ``condition`` holds, else ``y``."""
    return where(condition, self, other)


METHODS = {
    "where": _where_method, "clamp": clamp, "clip": clamp, "clamp_min": clamp_min,
    "clamp_max": clamp_max, "tril": tril, "triu": triu,
}
