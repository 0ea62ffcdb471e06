"""Reducing writes: ``scatter_reduce`` (sum, prod, mean, amax, amin) and ``index_reduce``
(prod, mean, amax, amin), with ``include_self``, and their in-place Tensor methods.

Forward, on arrays: the entries of ``src`` are grouped by the flat position they go to (a stable
sort), each group is reduced by a segmented scan (``scans.scan_last``; the same code on NumPy
and CuPy), and the result is combined with ``input`` there (or replaces it, without
``include_self``). ``index_reduce(dim, index, source)`` is ``scatter_reduce`` with ``index``
laid along ``dim`` over ``source``'s shape.

The gradients are PyTorch's, in Tensor ops (so differentiable again):

    sum:    d input = grad,                      d src = gather(grad)
    mean:   d input = grad / N,                  d src = gather(grad / N)   (N: the count)
    prod:   d input = grad * out / input,        d src = gather(grad * out) / src
            (zeros handled by recomputing the product with the zero left out)
    amax/amin: the gradient shared evenly among the input and src entries equal to the result

and without ``include_self`` the gradient of the overwritten ``input`` entries is zero.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._dtype import FLOAT_KINDS
from .._warnings import warn_user
from ..autograd.function import Function
from ._util import Tensor, check_range, check_tensor, math_ns, wrap_dim
from .indexing import Gather, _index_tensor
from .inplace import _apply
from .scans import scan_last
from .scatter import ScatterAddInto, _check_scatter, _scalar_input
from .statistics import _torch_name

__all__ = ["scatter_reduce", "index_reduce"]

_UFUNCS = {"sum": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum",
           "mean": "add", "max": "maximum", "min": "minimum"}


def _flat_destination(xp, shape, dim: int, index):
    """The C-order flat position in an array of ``shape`` that each entry of ``index`` (along
    ``dim``) addresses."""
    if index.size == 0:
        return xp.zeros(0, np.int64)
    flat = xp.zeros(index.shape, np.int64)
    stride = 1
    for d in range(len(shape) - 1, -1, -1):
        if d == dim:
            coord = index
        else:
            view = [1] * index.ndim
            view[d] = index.shape[d]
            coord = xp.arange(index.shape[d], dtype=np.int64).reshape(view)
        flat = flat + coord * stride
        stride *= shape[d]
    return flat.reshape(-1)


def _segments(xp, dest, values, op: str):
    """``(positions, reduced)``: each distinct destination and the ``op`` reduction of the
    ``values`` that go there."""
    order = xp.argsort(dest, kind="stable")
    d, v = dest[order], values[order]
    if d.size == 0:
        return d, v
    change = d[1:] != d[:-1]
    start = xp.concatenate([xp.ones(1, bool), change])
    ufunc = getattr(xp, _UFUNCS[op])

    def combine(earlier, later):
        (va, fa), (vb, fb) = earlier, later
        return xp.where(fb, vb, ufunc(va, vb)), fa | fb

    reduced, _ = scan_last(xp, (v, start), combine)
    end = xp.concatenate([change, xp.ones(1, bool)])
    return d[end], reduced[end]


def _scatter_reduce_array(backend, x, src, dim, index, reduce, include_self):
    xp = backend.xp
    out = x.copy()
    flat = out.reshape(-1)
    dest = _flat_destination(xp, x.shape, dim, index)
    positions, reduced = _segments(xp, dest, src.reshape(-1), reduce)  # (src: index's shape)
    if reduce == "mean":
        _, counts = _segments(xp, dest, xp.ones(dest.shape, x.dtype), "sum")
        if include_self:
            reduced, counts = reduced + flat[positions], counts + 1
        reduced = reduced / counts if x.dtype.kind in FLOAT_KINDS else reduced // counts
    elif include_self:
        reduced = getattr(xp, _UFUNCS[reduce])(flat[positions], reduced)
    flat[positions] = reduced
    return out


class ScatterReduce(Function):
    """``input`` with the entries of ``src`` reduced into it at ``index`` along ``dim``."""

    node_name = "ScatterReduceBackward0"

    @staticmethod
    def forward(ctx, x, src, dim, index, reduce, include_self):
        ctx.dim, ctx.reduce, ctx.include_self = dim, reduce, include_self
        out = x._new(_scatter_reduce_array(x._backend, x._data, src._data, dim, index._data,
                                           reduce, include_self))
        ctx.save_for_backward(x, src, index, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, src, index, out = ctx.saved_tensors
        dim, reduce, include_self = ctx.dim, ctx.reduce, ctx.include_self
        if reduce in ("max", "min"):  # PyTorch's forward takes these names, its backward not
            raise RuntimeError("Expected 'reduce' to be one of 'sum', 'prod', 'mean', 'amax', "
                               f"'amin' but got {reduce}.")
        m = math_ns()
        if reduce == "sum":
            gx, gsrc = grad, Gather.apply(grad, dim, index)
        elif reduce == "mean":
            counts = m.ones_like(grad) if include_self else m.zeros_like(grad)
            counts = ScatterAddInto.apply(counts, m.ones_like(src), dim, index)
            counts = counts.masked_fill(counts == 0, 1)
            gx = grad / counts
            gsrc = Gather.apply(grad, dim, index) / Gather.apply(counts, dim, index)
        elif reduce == "prod":
            gx, gsrc = _prod_grads(grad, x, src, dim, index, out, include_self)
        else:
            value = Gather.apply(out, dim, index)
            x_is = (x == out).to(grad.dtype)
            src_is = (src == value).to(grad.dtype)
            shared = grad / ScatterAddInto.apply(x_is, src_is, dim, index)
            gx = x_is * shared
            gsrc = src_is * Gather.apply(shared, dim, index)
        if not include_self:
            gx = gx.scatter(dim, index, 0)
        return gx, gsrc, None, None, None, None


def _prod_grads(grad, x, src, dim, index, out, include_self):
    m = math_ns()
    x_nonzero = x.masked_fill(x == 0, 1)
    without_x_zeros = ScatterReduce.apply(x_nonzero, src, dim, index, "prod", include_self)
    gx = grad * without_x_zeros / x_nonzero
    src_zero = src == 0
    zeros_per_slot = ScatterAddInto.apply(m.zeros_like(x), src_zero.to(x.dtype), dim, index)
    single_zero = src_zero & (Gather.apply(zeros_per_slot, dim, index) == 1)
    without_src_zero = ScatterReduce.apply(x, src.masked_fill(single_zero, 1), dim, index,
                                           "prod", include_self)
    gsrc = m.where(single_zero, Gather.apply(grad * without_src_zero, dim, index),
                   Gather.apply(grad * out, dim, index) / src.masked_fill(src_zero, 1))
    return gx, gsrc


_SCATTER_REDUCES = ("sum", "prod", "mean", "amax", "amin", "max", "min")  # max/min: amax/amin


def _check_reduce_name(fn: str, reduce) -> None:
    if not isinstance(reduce, str):
        raise TypeError(f"{fn}(): argument 'reduce' must be str, not {type(reduce).__name__}")


def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    """Out-of-place ``input.scatter_reduce_(dim, index, src, reduce)``: for ``dim=0``, reduces
    ``src[i][j]`` into ``out[index[i][j]][j]`` by ``reduce`` (``"sum"``, ``"prod"``,
    ``"mean"``, ``"amax"``, ``"amin"``), counting ``input``'s entry in unless
    ``include_self=False``."""
    check_tensor(src, "scatter_reduce", "src")
    _check_reduce_name("scatter_reduce", reduce)
    if reduce not in _SCATTER_REDUCES:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    d, idx, cropped = _check_scatter("scatter_reduce", input, dim, index, src)
    if idx is None:  # nothing written; src still gets its (zero) gradient, as in PyTorch
        idx = Tensor._make(input._backend.xp.zeros((0,), np.int64), input._backend)
        cropped = src.reshape(-1)[:0]
    elif src._data.shape == index._data.shape:
        cropped = src  # (no view node in between, as PyTorch)
    return _scalar_input(
        lambda x: ScatterReduce.apply(x, cropped, d, idx, reduce, bool(include_self)), input)


class ScatterWithReduce(Function):
    """``scatter``'s old ``reduce``: ``src`` added or multiplied into ``input`` at ``index``.
    PyTorch has no derivative for it (its node is ``NotImplemented``); nor has this."""

    node_name = "torch::autograd::NotImplemented"

    @property
    def _next_inputs(self):  # PyTorch's node lists only the inputs that require grad
        return tuple(i for i in (0, 1) if self.needs_input_grad[i])

    @staticmethod
    def forward(ctx, x, src, dim, index, reduce):
        return x._new(_scatter_reduce_array(x._backend, x._data, src._data, dim, index._data,
                                            reduce, True))

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::scatter is not implemented")


_SCATTER_OPS = {"add": "sum", "multiply": "prod"}


def scatter_with_reduce(input: Tensor, dim: int, index: Tensor, src, reduce: str) -> Tensor:
    """``scatter(input, dim, index, src, reduce=reduce)``: ``src`` (a Tensor, or a number
    everywhere ``index`` points) ``"add"``-ed or ``"multiply"``-ed into ``input``."""
    if reduce not in _SCATTER_OPS:
        raise RuntimeError("reduce argument must be either add or multiply.")
    tensor_src = src if isinstance(src, Tensor) else None
    if tensor_src is not None:
        warn_user("The reduce argument of torch.scatter with Tensor src is deprecated and will "
                  "be removed in a future PyTorch release. Use torch.scatter_reduce instead for "
                  "more reduction options.")
    d, idx, cropped = _check_scatter("scatter", input, dim, index, tensor_src)
    if idx is None:
        return input.clone()
    if cropped is None:
        xp = input._backend.xp
        cropped = Tensor._make(xp.full(idx._data.shape, src, dtype=input._data.dtype),
                               input._backend)
    return _scalar_input(
        lambda x: ScatterWithReduce.apply(x, cropped, d, idx, _SCATTER_OPS[reduce]), input)


class IndexReduce(ScatterReduce):
    node_name = "IndexReduceBackward0"


_INDEX_REDUCES = ("prod", "mean", "amax", "amin")


def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """Out-of-place ``input.index_reduce_(dim, index, source, reduce)``: reduces
    ``source[.., i, ..]`` into ``input[.., index[i], ..]`` along ``dim`` by ``reduce``
    (``"prod"``, ``"mean"``, ``"amax"``, ``"amin"``), counting ``input``'s entries in unless
    ``include_self=False``."""
    check_tensor(input, "index_reduce")
    check_tensor(source, "index_reduce", "source")
    warnings.warn("index_reduce() is in beta and the API may change at any time.",
                  UserWarning, stacklevel=2)
    _check_reduce_name("index_reduce", reduce)
    if reduce not in _INDEX_REDUCES:
        raise RuntimeError("index_reduce(): Expected reduce to be one of prod, mean, amax or "
                           f"amin but got {reduce}.")
    arr = _index_tensor(index, "index_reduce", input._backend)
    if arr.ndim > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: "
                         f"{arr.ndim}")
    x, s = input._data, source._data
    if s.dtype != x.dtype:
        raise RuntimeError(f"index_reduce_(): self ({_torch_name(input)}) and source "
                           f"({_torch_name(source)}) must have the same scalar type")
    d = wrap_dim(dim, x.ndim)
    shape, s_shape = x.shape or (1,), s.shape or (1,)
    arr = arr.reshape(-1)
    if arr.size != s_shape[d]:
        raise RuntimeError(f"index_reduce_(): Number of indices ({arr.size}) should be equal to "
                           f"source.size(dim): ({s_shape[d]}), for dim: {d}")
    if len(shape) != len(s_shape) or any(
            a != b for k, (a, b) in enumerate(zip(shape, s_shape)) if k != d):
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(x.shape)} source.shape = {list(s.shape)}")
    check_range(arr, 0, shape[d], lambda v: IndexError("index out of range in self"))
    view = [1] * len(s_shape)
    view[d] = -1
    xp = input._backend.xp
    full = Tensor._make(xp.ascontiguousarray(xp.broadcast_to(arr.reshape(view), s_shape)),
                        input._backend)
    src = source if source._data.shape == s_shape else source.reshape(s_shape)
    return _scalar_input(
        lambda t: IndexReduce.apply(t, src, d, full, reduce, bool(include_self)), input)


def scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                    include_self: bool = True) -> Tensor:
    """In-place ``scatter_reduce``."""
    return _apply(self, lambda s: scatter_reduce(s, dim, index, src, reduce,
                                                 include_self=include_self), (src,))


def index_reduce_(self: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                  include_self: bool = True) -> Tensor:
    """In-place ``index_reduce``."""
    return _apply(self, lambda s: index_reduce(s, dim, index, source, reduce,
                                               include_self=include_self), (source,))


METHODS = {"scatter_reduce": scatter_reduce, "scatter_reduce_": scatter_reduce_,
           "index_reduce": index_reduce, "index_reduce_": index_reduce_}
