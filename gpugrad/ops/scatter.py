"""The scatter family: ``scatter``, ``scatter_add``, ``index_add`` (and their in-place Tensor
methods ``scatter_``, ``scatter_add_``, ``index_add_``), and ``take_along_dim`` (gather with
broadcasting).

Each forward copies ``input`` once and writes into the copy through the backend's indexing
primitives (``scatter_add``, ``add_at``, ``along_dim_key``). The gradients are gathers:

    scatter:      d input = grad with zeros where written,   d src    = gather(grad, dim, index)
    scatter_add:  d input = grad,                            d src    = gather(grad, dim, index)
    index_add:    d input = grad,                            d source = alpha * grad[.., index, ..]
"""

from __future__ import annotations

import types

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ._broadcast import raise_broadcast_error
from ._util import Tensor, check_range, check_tensor, wrap_dim
from .indexing import Gather, _index_tensor, gather, index_select
from .inplace import _apply
from .statistics import _torch_name

__all__ = ["scatter", "scatter_add", "index_add", "take_along_dim"]


def _crop(src: Tensor, shape) -> Tensor:
    """The leading ``shape`` block of ``src`` (PyTorch reads only that much of ``src``)."""
    if tuple(src._data.shape) == tuple(shape):
        return src
    return src[tuple(slice(0, n) for n in shape)]


class Scatter(Function):
    """``input`` with ``src`` (a Tensor shaped as ``index``) or ``value`` written at ``index``
    along ``dim``."""

    node_name = "ScatterBackward0"

    @staticmethod
    def forward(ctx, x, src, dim, index, value):
        ctx.dim = dim
        ctx.save_for_backward(index)
        backend = x._backend
        out = x._data.copy()
        key = backend.along_dim_key(index._data, dim)
        out[key] = value if src is None else src._data
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        need_x, need_src = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        gx = gsrc = None
        if need_x:
            gx = Scatter.apply(grad, None, ctx.dim, index, 0)
        if need_src:
            gsrc = Gather.apply(grad, ctx.dim, index)
        return gx, gsrc, None, None, None


class ScatterAddInto(Function):
    """``input`` with ``src`` (shaped as ``index``) added at ``index`` along ``dim``."""

    node_name = "ScatterAddBackward0"

    @staticmethod
    def forward(ctx, x, src, dim, index):
        ctx.dim = dim
        ctx.save_for_backward(index)
        out = x._data.copy()
        x._backend.scatter_add(out, dim, index._data, src._data)
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        gsrc = Gather.apply(grad, ctx.dim, index) if ctx.needs_input_grad[1] else None
        return grad, gsrc, None, None


class IndexAdd(Function):
    """``input`` with ``alpha * source`` added at the 1-D ``index`` along ``dim``."""

    node_name = "IndexAddBackward0"

    @staticmethod
    def forward(ctx, x, source, dim, index, alpha):
        ctx.dim, ctx.alpha = dim, alpha
        ctx.save_for_backward(index)
        out = x._data.copy()
        values = source._data if alpha == 1 else source._data * alpha
        key = (slice(None),) * dim + (index._data,)
        x._backend.add_at(out, key, values.astype(out.dtype, copy=False))
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        gsource = None
        if ctx.needs_input_grad[1]:
            gsource = index_select(grad, ctx.dim, index)
            if ctx.alpha != 1:
                gsource = gsource * ctx.alpha
        return grad, gsource, None, None, None


def _check_scatter(fn: str, input: Tensor, dim, index, src):
    """Validate as PyTorch does; returns (dim, int64 index Tensor, src cropped or None)."""
    check_tensor(input, fn)
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    if index._data.dtype.kind not in "iu":
        raise RuntimeError("scatter(): Expected dtype int32/int64 for index")
    x = input._data
    d = wrap_dim(dim, x.ndim)
    arr = _index_tensor(index, fn, input._backend)
    if src is not None and src._data.dtype != x.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if arr.size == 0:
        return d, None, None
    if max(arr.ndim, 1) != max(x.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    if src is not None and max(src._data.ndim, 1) != max(arr.ndim, 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")
    shape = x.shape or (1,)
    arr = arr.reshape(arr.shape or (1,))
    src_shape = (src._data.shape or (1,)) if src is not None else None
    for k, n in enumerate(arr.shape):
        if (k != d and n > shape[k]) or (src_shape is not None and n > src_shape[k]):
            raise RuntimeError(
                f"Expected index {list(index.shape)} to be no larger than self {list(x.shape)} "
                f"apart from dimension {d}"
                + ("" if src is None else f" and to be no larger size than src "
                                          f"{list(src._data.shape)}")
            )
    size = shape[d]
    # (PyTorch's kernel for one-dimensional inputs says it differently)
    check_range(arr, 0, size, lambda v: IndexError("index out of range in self")
                if len(shape) <= 1 else
                RuntimeError(f"index {v} is out of bounds for dimension {d} with size {size}"))
    idx = Tensor._make(arr, input._backend)
    if src is not None:
        if src._data.shape != src_shape:
            src = src.reshape(src_shape)
        src = _crop(src, arr.shape)
    return d, idx, src


def _scalar_input(fn, input: Tensor, *args):
    """Run ``fn`` on a 0-d ``input`` as a 1-element 1-d tensor (PyTorch's rule here)."""
    if input._data.ndim:
        return fn(input, *args)
    return fn(input.reshape(1), *args).reshape(())


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce: str | None = None) -> Tensor:
    """Out-of-place ``input.scatter_(dim, index, src)``: for ``dim=0``,
    ``out[index[i][j]][j] = src[i][j]`` (``src`` a Tensor, or a number written everywhere
    ``index`` points). With repeated indices, one of the written values wins. ``reduce``
    (``"add"`` or ``"multiply"``; deprecated for a Tensor ``src``) combines each written value
    with the entry there instead, as ``scatter_reduce`` does, without a derivative."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    if reduce is not None:
        from .scatter_reduce import scatter_with_reduce  # (that module builds on this one)

        return scatter_with_reduce(input, dim, index, src, reduce)
    tensor_src = src if isinstance(src, Tensor) else None
    d, idx, cropped = _check_scatter("scatter", input, dim, index, tensor_src)
    if idx is None:
        return input.clone()
    fill = None if tensor_src is not None else src

    def run(x):
        return Scatter.apply(x, cropped, d, idx, fill)

    return _scalar_input(run, input)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Out-of-place ``input.scatter_add_(dim, index, src)``: for ``dim=0``,
    ``out[index[i][j]][j] += src[i][j]``, adding up repeated indices."""
    if not isinstance(src, Tensor):
        raise TypeError(
            f"scatter_add(): argument 'src' (position 4) must be Tensor, not {type(src).__name__}"
        )
    d, idx, cropped = _check_scatter("scatter_add", input, dim, index, src)
    if idx is None:
        return input.clone()
    return _scalar_input(lambda x: ScatterAddInto.apply(x, cropped, d, idx), input)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """Out-of-place ``input.index_add_(dim, index, source, alpha=alpha)``: adds
    ``alpha * source[.., i, ..]`` to ``input[.., index[i], ..]`` along ``dim``."""
    check_tensor(input, "index_add")
    check_tensor(source, "index_add", "source")
    if not isinstance(index, Tensor):
        raise TypeError(f"index_add(): argument 'index' must be Tensor, not "
                        f"{type(index).__name__}")
    if index._data.dtype.kind not in "iu":
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                           f"{_torch_name(index)}")
    x, s = input._data, source._data
    d = wrap_dim(dim, x.ndim)
    arr = _index_tensor(index, "index_add", input._backend)
    if arr.ndim > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                         f"{arr.ndim}")
    if s.dtype != x.dtype:
        raise RuntimeError(f"index_add_(): self ({_torch_name(input)}) and source "
                           f"({_torch_name(source)}) must have the same scalar type")
    shape, s_shape = x.shape or (1,), s.shape or (1,)
    if len(shape) != len(s_shape) or any(
            a != b for k, (a, b) in enumerate(zip(shape, s_shape)) if k != d):
        raise RuntimeError(
            "source tensor shape must match self tensor shape, excluding the specified "
            f"dimension. Got self.shape = {list(x.shape)} source.shape = {list(s.shape)}"
        )
    arr = arr.reshape(-1)
    if arr.size != s_shape[d]:
        raise RuntimeError(f"index_add_(): Number of indices ({arr.size}) should be equal to "
                           f"source.size(dim): ({s_shape[d]}), for dim: {d}")
    size = shape[d]
    # (PyTorch's kernel for one-dimensional inputs says it differently)
    check_range(arr, 0, size, lambda v: IndexError("index out of range in self")
                if len(shape) <= 1 else
                RuntimeError(f"index {v} is out of bounds for dimension {d} with size {size}"))
    idx = Tensor._make(arr, input._backend)
    src = source if s.shape == s_shape else source.reshape(s_shape)  # (no view node between)
    return _scalar_input(lambda t: IndexAdd.apply(t, src, d, idx, alpha), input)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Picks ``input``'s entries at ``indices`` along ``dim`` (as ``gather``), broadcasting
    the two in the other dims; with ``dim=None`` both are read flattened."""
    check_tensor(input, "take_along_dim")
    check_tensor(indices, "take_along_dim", "indices")
    if indices._data.dtype != np.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{dt.SCALAR_TYPE_NAMES[indices.dtype.name]}")
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    x, idx = input._data, indices._data
    if x.ndim != idx.ndim:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {x.ndim} dimensions for input, and {idx.ndim} dimensions "
            "for indices"
        )
    d = wrap_dim(dim, x.ndim)
    if x.ndim == 0:
        return gather(input, 0, indices)
    others = [s if k != d else 1 for k, s in enumerate(x.shape)]
    idx_others = [s if k != d else 1 for k, s in enumerate(idx.shape)]
    try:
        shape = list(np.broadcast_shapes(tuple(others), tuple(idx_others)))
    except ValueError:
        raise_broadcast_error(types.SimpleNamespace(shape=tuple(others)),
                              types.SimpleNamespace(shape=tuple(idx_others)))
    x_shape, i_shape = list(shape), list(shape)
    x_shape[d], i_shape[d] = x.shape[d], idx.shape[d]
    return gather(input.expand(x_shape), d, indices.expand(i_shape))


def scatter_(self: Tensor, dim: int, index: Tensor, src=None, *, value=None,
             reduce: str | None = None) -> Tensor:
    """In-place ``scatter``."""
    return _apply(self, lambda s: scatter(s, dim, index, src, value=value, reduce=reduce),
                  (src,))


def scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place ``scatter_add``."""
    return _apply(self, lambda s: scatter_add(s, dim, index, src), (src,))


def index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """In-place ``index_add``."""
    return _apply(self, lambda s: index_add(s, dim, index, source, alpha=alpha), (source,))


METHODS = {"scatter": scatter, "scatter_add": scatter_add, "index_add": index_add,
           "take_along_dim": take_along_dim, "scatter_": scatter_, "scatter_add_": scatter_add_,
           "index_add_": index_add_}
