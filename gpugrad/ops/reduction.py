"""Reductions over dims with ``keepdim``: sum, mean, prod, var, std, norm, all, any; cumsum.

max/min and their kin live in ``minmax.py`` and are re-exported here. The gradients of sum,
mean, var, std and norm are formulas (``backend/formulas_reduce.py``), their backward written
once in ``_reduction_base.py``; prod's is its own (below).
"""

from __future__ import annotations

import builtins
import math
import warnings

import numpy as np

from .. import _dtype as dt
from .._tensor_metadata import NoDenseArray
from ..autograd.function import Function
from . import minmax
from ._reduction_base import Reduction, kept_shape
from ._util import Tensor, math_ns, wrap_dim, wrap_dims
from .minmax import amax, amin, argmax, argmin, max, min, return_types  # noqa: A004

__all__ = ["sum", "mean", "prod", "var", "std", "norm", "all", "any", "cumsum", "sum_to_size",
           "max", "min", "amax", "amin", "argmax", "argmin", "return_types"]


def _count(shape, dims) -> int:
    return math.prod(shape) if dims is None else math.prod(shape[d] for d in dims)


def _as_dtype(input: Tensor, dtype) -> Tensor:
    return input if dtype is None else input.to(dtype)


def in_asked_dtype(out: Tensor, dtype) -> Tensor:
    """The result of sum, prod or a scan in the ``dtype=`` asked for: integers and bools are
    accumulated in int64 (PyTorch's default for them), so a narrower integer type asked for is
    a cast of that result; the two agree, as sums and products modulo 2**k do."""
    if dtype is None or out.dtype is dt.to_dtype(dtype):
        return out
    return out.to(dtype)


class Sum(Reduction):
    node_name = "SumBackward1"
    op = "sum"

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        data = x._data if np_dtype is None else x._data.astype(np_dtype)
        backend = x._backend
        return ctx.reduced(x, Tensor._make(backend.reduce("sum", data, dims, keepdim), backend),
                           dims)


class SumAll(Sum):
    node_name = "SumBackward0"  # PyTorch's node for the overload without ``dim``


def sum(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``dim`` (an int, a tuple of ints, or None for all).

    Integer and bool inputs sum into int64; ``dtype`` casts the input first.
    """
    try:  # (free unless raised: a sparse tensor has no dense array to read)
        if dtype is None:
            if dim is None:
                return SumAll.apply_unary(input, None, keepdim, None)
            return Sum.apply_unary(input, wrap_dims(dim, input._data.ndim), keepdim, None)
        np_dtype = dt.to_dtype(dtype).np
        if dim is None:
            return in_asked_dtype(SumAll.apply_unary(input, None, keepdim, np_dtype), dtype)
        return in_asked_dtype(
            Sum.apply_unary(input, wrap_dims(dim, input._data.ndim), keepdim, np_dtype), dtype)
    except NoDenseArray:
        return input.sum(dim, keepdim, dtype=dtype)  # SparseCooTensor.sum


class Mean(Reduction):
    node_name = "MeanBackward1"
    op = "mean"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        return ctx.reduced(x, x._new(x._backend.reduce("mean", x._data, dims, keepdim)), dims)


class MeanAll(Mean):
    node_name = "MeanBackward0"


def mean(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over ``dim``; floating-point inputs only (or pass ``dtype``)."""
    input = _as_dtype(input, dtype)
    if input._data.dtype.kind not in dt.GRAD_KINDS:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be either a floating point "
            f"or complex dtype. Got: {dt.SCALAR_TYPE_NAMES[input.dtype.name]}"
        )
    cls = MeanAll if dim is None else Mean
    return cls.apply_unary(input, wrap_dims(dim, input._data.ndim), keepdim)


class Prod(Function):
    """Product over one axis or all. Its gradient, the product of the other entries, has two
    forms: exclusive prefix and suffix products on arrays (``backend.prod_grad``, O(n)), and an
    O(n^2) product of Tensor slabs that stays differentiable at zeros (create_graph). The op
    registry's create_graph test holds the two equal."""

    node_name = "ProdBackward1"

    @staticmethod
    def forward(ctx, x, axis, keepdim):
        ctx.axis, ctx.keepdim = axis, keepdim
        ctx.save_for_backward(x)
        dims = None if axis is None else (axis,)
        return x._new(x._backend.reduce("prod", x._data, dims, keepdim))

    def _flat(self, shape):
        """A full product is the product along the one axis of the flattened input: that
        shape, and the axis."""
        if self.axis is None:
            return (math.prod(shape),), 0
        return shape, self.axis

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph); the engine otherwise calls _array_backward.
        (x,) = ctx.saved_tensors
        flat, axis = ctx._flat(x._data.shape)
        others = _others_product(x.reshape(flat), axis)
        return (grad.reshape(kept_shape(flat, (axis,))) * others).reshape(x.shape), None, None

    def _array_backward(self, grad):
        (x,) = self.saved_arrays()
        flat, axis = self._flat(x.shape)
        gx = self._backend.prod_grad(grad.reshape(kept_shape(flat, (axis,))), x.reshape(flat),
                                     axis)
        return gx.reshape(x.shape), None, None


def _others_product(x: Tensor, axis: int) -> Tensor:
    """For each entry, the product of the other entries along ``axis``, as Tensor ops.

    An (n, n) slab per slice whose diagonal is 1, multiplied along its second axis: O(n^2),
    used only under create_graph, where it keeps prod differentiable at zeros.
    """
    shape = x._data.shape
    n = shape[axis]
    xp = x._backend.xp
    slab = x.reshape(shape[:axis] + (1,) + shape[axis:]).expand(shape[:axis] + (n,) + shape[axis:])
    diag = xp.eye(n, dtype=bool).reshape((n, n) + (1,) * (len(shape) - axis - 1))
    return math_ns().where(x._new(diag), 1, slab).prod(axis + 1)


class ProdAll(Prod):
    node_name = "ProdBackward0"


def prod(input: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product of all elements, or over one ``dim`` (an int).

    Integer and bool inputs multiply into int64; ``dtype`` casts the input first.
    """
    input = _as_dtype(input, dtype)
    ndim = input._data.ndim
    axis = None if dim is None else wrap_dim(dim, ndim)
    if ndim == 0:
        axis = None
    return in_asked_dtype((ProdAll if dim is None else Prod).apply(input, axis, keepdim), dtype)


class Var(Reduction):
    node_name = "VarBackward0"
    op = "var"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        out = x._backend.var(x._data, dims, correction, keepdim)
        if ctx.op == "std":
            out = x._backend.unary("sqrt", out)
        return ctx.reduced(x, x._new(out), dims, correction)


class Std(Var):
    node_name = "StdBackward0"
    op = "std"


def variance(cls, name: str, input: Tensor, dim, unbiased, keepdim: bool, correction):
    """``cls`` (Var or Std) over ``dim`` with PyTorch's argument rules; ``name``: the function
    its warning names (``var``, ``std_mean``...)."""
    if isinstance(dim, bool):  # the legacy form var(input, unbiased)
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}(): pass either unbiased or correction, not both")
    if not input.is_floating_point():
        raise RuntimeError("std and var only support floating point and complex dtypes")
    if correction is None:
        correction = 0 if unbiased is False else 1
    dims = wrap_dims(dim, input._data.ndim)
    # As PyTorch: also when the output is empty (its reduction factor is 0/0).
    if _count(input._data.shape, dims) - correction > 0 and input._data.size:
        return cls.apply(input, dims, correction, keepdim)
    warnings.warn(
        f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
        "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3,
    )
    with np.errstate(invalid="ignore", divide="ignore"):  # (that warning is the only one)
        return cls.apply(input, dims, correction, keepdim)


def var(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (default 1; ``unbiased=False`` is 0)."""
    return variance(Var, "var", input, dim, unbiased, keepdim, correction)


def std(input: Tensor, dim=None, unbiased=None, keepdim: bool = False, *,
        correction=None) -> Tensor:
    """Standard deviation over ``dim``; arguments as ``var``."""
    return variance(Std, "std", input, dim, unbiased, keepdim, correction)


class Norm(Reduction):
    node_name = "LinalgVectorNormBackward0"
    op = "norm"

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        return ctx.reduced(x, x._new(x._backend.norm(x._data, p, dims, keepdim)), dims, p)


def norm(input: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The vector ``p``-norm over ``dim`` (all elements when None).

    ``p`` is a number (``inf``, ``-inf`` and ``0`` included), ``"fro"`` (the 2-norm, over one
    or two dims) or ``"nuc"`` (the nuclear norm of the matrices over two dims, the last two
    when ``dim`` is None).
    """
    input = _as_dtype(input, dtype)
    if p is None or isinstance(p, str):
        p = "fro" if p is None else p
        if p == "nuc":
            from .linalg_norms import matrix_norm

            dims = tuple(range(input.ndim)) if dim is None else dim  # (all: must be two)
            return matrix_norm(input, "nuc", dims, keepdim)
        if p != "fro":
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        if isinstance(dim, (tuple, list)) and len(dim) > 2:
            raise RuntimeError(
                f"linalg.matrix_norm: dim must be a 2-tuple. Got {' '.join(map(str, dim))}"
            )
        p = 2.0
    if not input.is_floating_point():
        raise RuntimeError(
            "linalg.vector_norm: Expected a floating point or complex tensor as input. "
            f"Got {dt.SCALAR_TYPE_NAMES[input.dtype.name]}"
        )
    p = float(p)
    dims = wrap_dims(dim, input._data.ndim)
    if math.isinf(p) and input._data.size == 0:
        shape = input._data.shape
        empty = [d for d in range(len(shape)) if shape[d] == 0 and (dims is None or d in dims)]
        if empty:
            where = "an empty tensor" if dims is None else f"the dimension {empty[0]}"
            raise RuntimeError(
                f"linalg.vector_norm cannot compute the {p:g} norm on {where} because the "
                "operation does not have an identity"
            )
    return Norm.apply(input, p, dims, keepdim)


def _logical_reduce(op: str, input: Tensor, dim, keepdim: bool) -> Tensor:
    dims = wrap_dims(dim, input._data.ndim)
    out = input._backend.reduce(op, input._data, dims, keepdim)
    if input._data.dtype == dt.uint8.np:  # as PyTorch: uint8 in, uint8 out
        out = out.astype(input._data.dtype)
    return input._new(out)


def all(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where every element over ``dim`` is nonzero (bool; not differentiable)."""
    return _logical_reduce("all", input, dim, keepdim)


def any(input: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where some element over ``dim`` is nonzero (bool; not differentiable)."""
    return _logical_reduce("any", input, dim, keepdim)


class Cumsum(Function):
    """Cumulative sum; its gradient is the cumulative sum from the other end."""

    node_name = "CumsumBackward0"

    @staticmethod
    def forward(ctx, x, axis, reverse):
        ctx.axis, ctx.reverse = axis, reverse
        data = x._data
        out = x._backend.cumsum(data.reshape(1) if data.ndim == 0 else data, axis, reverse)
        return x._new(out.reshape(data.shape))

    @staticmethod
    def backward(ctx, grad):
        return Cumsum.apply(grad, ctx.axis, not ctx.reverse), None, None


def cumsum(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Cumulative sum along ``dim``; integer and bool inputs accumulate into int64."""
    input = _as_dtype(input, dtype)
    return in_asked_dtype(Cumsum.apply(input, wrap_dim(dim, input._data.ndim), False), dtype)


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
    if len(shape) > len(have) or builtins.any(
        s != 1 and s != h for s, h in zip(shape, have[len(have) - len(shape):])
    ):
        raise RuntimeError(f"size {list(shape)} is not expandable to size {list(have)}")
    if shape == have:
        return self
    return SumToSize.apply(self, shape)


METHODS = {
    "sum": sum, "mean": mean, "prod": prod, "var": var, "std": std, "norm": norm, "all": all,
    "any": any, "cumsum": cumsum, "sum_to_size": sum_to_size, **minmax.METHODS,
}
