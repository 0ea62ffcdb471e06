"""The selecting reductions: max, min, amax, amin, argmax, argmin.

``max(x, dim)`` / ``min(x, dim)`` return ``(values, indices)`` as ``return_types.max`` / ``min``
and send the gradient to the index they picked (the first occurrence). The full ``max()`` /
``min()`` and ``amax`` / ``amin`` share the gradient evenly among ties, as PyTorch does.
``max(x, other)`` with a tensor ``other`` is the elementwise ``maximum``.
"""

from __future__ import annotations

from ..autograd.function import Function
from ._reduction_base import Reduction, kept_shape
from ._return_types import result, return_types
from ._util import Tensor, wrap_dim, wrap_dims
from .arithmetic import maximum, minimum
from .select import where

__all__ = ["max", "min", "amax", "amin", "argmax", "argmin", "return_types"]

_new_tuple = tuple.__new__


result("max")
result("min")


class Amax(Reduction):
    node_name = "AmaxBackward0"
    op = "amax"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return ctx.reduced(x, x._new(x._backend.reduce(ctx.op, x._data, dims, keepdim)), dims)


class Amin(Amax):
    node_name = "AminBackward0"
    op = "amin"


class MaxAll(Amax):
    node_name = "MaxBackward1"


class MinAll(Amin):
    node_name = "MinBackward1"


class Aminmax(Reduction):
    """``aminmax``: the min and the max over ``dims``, two outputs of one node (PyTorch's
    ``AminmaxBackward0``). Each output sends its gradient as ``amin`` / ``amax`` do, shared
    among ties; an output that got no gradient sends nothing (so a hook sees None for it, as in
    PyTorch, rather than zeros)."""

    node_name = "AminmaxBackward0"
    op = "amin"  # (the formula, the same for the max: where x equals the result)
    _materialize_grads = False

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        reduce, data, backend = x._backend.reduce, x._data, x._backend
        lo = Tensor._make(reduce("amin", data, dims, keepdim), backend)
        hi = Tensor._make(reduce("amax", data, dims, keepdim), backend)
        if ctx.needs_input_grad[0]:  # (recorded: otherwise nothing reads these)
            ctx.shape, ctx.dims = data.shape, dims
            ctx.save_for_backward(x, lo, hi)
        return lo, hi

    @staticmethod
    def backward(ctx, grad_min, grad_max):
        x, lo, hi = ctx.saved_tensors
        gx = None
        for g, y in ((grad_min, lo), (grad_max, hi)):
            if g is not None:
                part = ctx.input_grad(g, x, y)
                gx = part if gx is None else gx + part
        return gx, None, None

    def _array_backward(self, grad_min, grad_max):
        x, lo, hi = self.saved_arrays()
        gx = None
        for g, y in ((grad_min, lo), (grad_max, hi)):
            if g is not None:
                part = self.array_input_grad(g, x, y)
                gx = part if gx is None else self._backend.binary("add", gx, part)
        return gx, None, None


class MaxDim(Function):
    """max along one dim: the values, picked at the int64 ``indices`` that ``max`` found (one
    output: as PyTorch's ``MaxBackward0``, the node does not list the indices among its
    outputs); the gradient goes to the indices, which it saves (version-checked)."""

    node_name = "MaxBackward0"
    op = "max"

    @staticmethod
    def forward(ctx, x, axis, keepdim, values, indices):
        if ctx.needs_input_grad[0]:  # (recorded: otherwise nothing reads these)
            ctx.shape, ctx.axis = x._data.shape, axis
            ctx.save_for_backward(indices)
        return Tensor._make(values, x._backend)

    @staticmethod
    def backward(ctx, grad):
        # Tensor ops: differentiable under create_graph, plain arrays underneath otherwise.
        (indices,) = ctx.saved_tensors
        shape, axis = ctx.shape, ctx.axis
        work = shape or (1,)  # a 0-d input is a one-element slice
        kshape = kept_shape(work, (axis,))
        n = work[axis]
        positions = grad._new(
            grad._backend.xp.arange(n).reshape((n,) + (1,) * (len(work) - axis - 1)))
        picked = where(positions == indices.reshape(kshape), grad.reshape(kshape), 0)
        return picked.reshape(shape), None, None, None, None


class MinDim(MaxDim):
    node_name = "MinBackward0"
    op = "min"


MaxDim.result, MinDim.result = return_types.max, return_types.min  # (values, indices)


def _check_numel(name: str, input: Tensor) -> None:
    if input._data.size == 0:
        raise RuntimeError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
            "Specify the reduction dim with the 'dim' argument."
        )


def _check_dim_size(name: str, input: Tensor, shown_dim, axis: int) -> None:
    shape = input._data.shape
    if shape and shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {shown_dim} to have non-zero size.")


def _select(name, full_cls, dim_cls, binary, input, given, keepdim, dim, other):
    if given.__class__ is int and dim is _NO_ARG and other is None:  # max(x, 1): no doubt
        keepdim = bool(keepdim)
    else:
        given, keepdim, other = _overload(name, given, keepdim, dim, other)
        if other is not None:  # max(input, other): elementwise
            return binary(input, other)
    if given is _NO_ARG:
        _check_numel(name, input)
        return full_cls.apply(input, None, False)
    shape = input._data.shape
    axis = wrap_dim(given, len(shape))
    _check_dim_size(name, input, axis, axis)
    data, backend = input._data, input._backend
    if shape:
        values, idx = backend.arg_reduce(dim_cls.op, data, axis, keepdim)
    else:  # a 0-d input is its own max, at index 0
        values, idx = backend.arg_reduce(dim_cls.op, data.reshape(1), 0, False)
    indices = Tensor._make(idx, backend)
    values = dim_cls.apply_unary(input, axis, keepdim, values, indices)
    # (the named tuple built from the pair directly: what its class's ``_make`` does)
    return _new_tuple(dim_cls.result, (values, indices))


_NO_ARG = object()  # (an argument not given: PyTorch refuses an explicit None dim)


def _overload(name: str, given, keepdim, dim, other) -> tuple:
    """Which of PyTorch's ``max(input)``, ``max(input, dim, keepdim=False)`` and
    ``max(input, other)`` a call is: ``(dim, keepdim, other)`` (``dim`` is ``_NO_ARG`` for the
    first). A tensor in second place is ``other``, unless ``keepdim`` is given (then it is a
    0-d integer ``dim``); ``dim=`` is always a dim."""
    if dim is not _NO_ARG:
        if given is not _NO_ARG or other is not None:
            raise _invalid(name)
        given = dim
    elif isinstance(given, Tensor) and keepdim is None:
        given, other = _NO_ARG, given
    if other is not None:
        if given is not _NO_ARG or keepdim is not None:
            raise _invalid(name)
        return _NO_ARG, False, other
    if given is None:
        raise TypeError(f"{name}(): argument 'dim' must be int, not NoneType")
    if given is _NO_ARG and keepdim is not None:
        raise _invalid(name)
    return given, bool(keepdim), None


def _invalid(name: str) -> TypeError:
    return TypeError(f"{name}() received an invalid combination of arguments: expected one of "
                     f"({name}(input), {name}(input, dim, keepdim=False), {name}(input, other))")


def max(input: Tensor, _dim_or_other=_NO_ARG, keepdim: bool | None = None, *,  # noqa: A001
        dim=_NO_ARG, other=None):
    """The largest element; or along ``dim``, ``(values, indices)`` of the largest elements;
    or, given a tensor ``other`` (second, or by keyword), the elementwise ``maximum``."""
    return _select("max", MaxAll, MaxDim, maximum, input, _dim_or_other, keepdim, dim, other)


def min(input: Tensor, _dim_or_other=_NO_ARG, keepdim: bool | None = None, *,  # noqa: A001
        dim=_NO_ARG, other=None):
    """The smallest element; or along ``dim``, ``(values, indices)`` of the smallest elements;
    or, given a tensor ``other`` (second, or by keyword), the elementwise ``minimum``."""
    return _select("min", MinAll, MinDim, minimum, input, _dim_or_other, keepdim, dim, other)


def _extreme(name: str, cls, input: Tensor, dim, keepdim: bool) -> Tensor:
    dims = wrap_dims(dim, input._data.ndim)
    if input._data.size:
        return cls.apply(input, dims, keepdim)
    if dims is None:
        _check_numel(name, input)
    for shown in dim if isinstance(dim, (tuple, list)) else (dim,):
        _check_dim_size(name, input, shown, wrap_dim(shown, input._data.ndim))
    return cls.apply(input, dims, keepdim)


def amax(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The maximum over ``dim`` (an int, a tuple, or ``()`` for all); ties share the gradient."""
    return _extreme("amax", Amax, input, dim, keepdim)


def amin(input: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """The minimum over ``dim`` (an int, a tuple, or ``()`` for all); ties share the gradient."""
    return _extreme("amin", Amin, input, dim, keepdim)


def _arg(name: str, op: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    data = input._data
    if data.dtype == bool:
        raise RuntimeError(f"{name}(): does not support bool input")
    arg_reduce = input._backend.arg_reduce
    if dim is None:  # the index into the flattened input
        if data.size == 0:
            raise IndexError(
                f"{name}(): Expected reduction dim to be specified for input.numel() == 0."
            )
        _, idx = arg_reduce(op, data.reshape(-1), 0, False)
        return input._new(idx.reshape((1,) * data.ndim) if keepdim else idx)
    axis = wrap_dim(dim, data.ndim)
    _check_dim_size(name, input, axis, axis)
    if data.ndim == 0:
        return input._new(arg_reduce(op, data.reshape(1), 0, False)[1])
    return input._new(arg_reduce(op, data, axis, keepdim)[1])


def argmax(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Indices (int64) of the maximum over ``dim``, or into the flattened input (not
    differentiable)."""
    return _arg("argmax", "max", input, dim, keepdim)


def argmin(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Indices (int64) of the minimum over ``dim``, or into the flattened input (not
    differentiable)."""
    return _arg("argmin", "min", input, dim, keepdim)


METHODS = {"max": max, "min": min, "amax": amax, "amin": amin, "argmax": argmax,
           "argmin": argmin}
