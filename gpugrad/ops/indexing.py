"""Indexing: ``__getitem__`` with ints, slices, None, Ellipsis, integer and boolean tensors;
``index_select``, ``gather``, ``masked_fill``, ``nonzero``. (``__setitem__`` lives with the
in-place ops.)

A key is applied in two stages, as PyTorch does: first the basic part (ints, slices, None,
Ellipsis), which gives a view; then, if the key has index arrays, the advanced part on that view,
which gives a copy (NumPy's rule on the dims left, so ``x[0, :, [1, 2]]`` has PyTorch's shape).
Backward scatters the gradient into zeros of the input's shape, accumulating repeated indices.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from .._scalar_fit import fit_scalar
from ..autograd.function import Function, ViewFunction
from ._index_key import _as_int, _scalar_int, normalize_key, region
from ._util import Tensor, check_range, wrap_dim

__all__ = ["index_select", "gather", "masked_fill", "nonzero", "nonzero_static", "masked_select",
           "take"]

# ---------------------------------------------------------------------- getitem
class Index(ViewFunction):
    """``x[basic][advanced]``; a view when there is no advanced part (``apply_view`` takes
    only those)."""

    node_name = "IndexBackward0"

    @staticmethod
    def view_array(ctx, x, params):
        data = x._data
        ctx.shape, ctx.key = data.shape, params  # (basic, advanced)
        return region(data, params[0])

    @staticmethod
    def forward(ctx, x, basic, advanced):
        data = Index.view_array(ctx, x, (basic, advanced))
        if advanced is None:
            return x._view(data)
        return x._new(data[advanced])

    @staticmethod
    def backward(ctx, grad):
        return scatter_to_shape(grad, ctx.shape, ctx.key), None, None

    def _array_backward(self, grad):
        return _scatter_array(self._backend, grad, self.shape, self.key), None, None


class Select(Index):
    node_name = "SelectBackward0"


class Slice(Index):
    node_name = "SliceBackward0"


class IndexUnsqueeze(Index):
    node_name = "UnsqueezeBackward0"


class IndexAlias(Index):
    node_name = "AliasBackward0"


class IndexSelect(Index):
    node_name = "IndexSelectBackward0"


class IndexScatter(Function):
    """Zeros of ``shape`` with ``grad`` added at ``key``: the backward of ``Index``."""

    node_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, grad, shape, key):
        ctx.key = key
        return _scatter(grad, shape, key)

    @staticmethod
    def backward(ctx, grad):
        return Index.apply(grad, *ctx.key), None, None


def _scatter(grad: Tensor, shape, key) -> Tensor:
    return grad._new(_scatter_array(grad._backend, grad._data, shape, key))


def _scatter_array(backend, grad, shape, key):
    """Zeros of ``shape`` with the array ``grad`` added at ``key`` (repeated indices sum)."""
    out = backend.xp.zeros(shape, dtype=grad.dtype)
    basic, advanced = key
    target = region(out, basic)
    if advanced is None:
        target[...] = grad
    elif all(a.__class__ is slice or a.ndim == 0 for a in advanced):
        target[advanced] = grad  # one position per index array: nothing repeats to add up
    else:
        backend.add_at(target, advanced, grad)
    return out


def scatter_to_shape(grad: Tensor, shape, key) -> Tensor:
    """The gradient of ``x[key]`` w.r.t. ``x`` (differentiable under create_graph)."""
    return IndexScatter.apply(grad, shape, key)


def getitem(self: Tensor, key) -> Tensor:
    """``self[key]``: basic indexing returns a view; integer or boolean tensors a copy."""
    shape = self._data.shape
    if key.__class__ is Tensor and _scalar_int(key):  # x[t]: the int the 0-d tensor holds
        key = _as_int(key)
    if key.__class__ is int and shape and -shape[0] <= key < shape[0]:
        return Select.apply_view(self, (key,), None)  # x[i]: no walk through the key
    basic, advanced = normalize_key(self, key)
    if advanced is not None:
        return Index.apply_unary(self, basic, advanced)
    return _view_class(basic, shape).apply_view(self, basic, None)


def _view_class(basic: tuple, shape: tuple):
    """The node PyTorch records for ``x[basic]``, named by the key's last step that does
    something: an int selects, a slice that is not the whole dim slices, None unsqueezes; a
    key of whole-dim slices and Ellipsis is an alias."""
    if basic and basic[-1].__class__ is int:
        return Select
    cls, dim = IndexAlias, 0
    used = sum(1 for k in basic if k is not None and k is not Ellipsis)
    for k in basic:
        if k is Ellipsis:
            dim += len(shape) - used
        elif k is None:
            cls = IndexUnsqueeze
        elif k.__class__ is int:
            cls = Select
            dim += 1
        else:
            if k.indices(shape[dim]) != (0, shape[dim], 1):
                cls = Slice
            dim += 1
    return cls


# ---------------------------------------------------------------------- index_select, take
# PyTorch's check of an index's dtype, worded per op; take, put_ and index_fill_ take int64
# only, the others int32 too.
_INDEX_DTYPE_ERRORS = {
    "gather": (RuntimeError, "gather(): Expected dtype int32/int64 for index"),
    "index_reduce": (RuntimeError,
                     "index_reduce_(): Expected dtype int32/int64 for index but got: {}"),
    "take": (RuntimeError, "take(): Expected a long tensor for index, but got {}"),
    "put_": (RuntimeError, "put_(): Expected a long tensor for index, but got {}"),
    "index_fill_": (IndexError, "index_fill_(): Expected dtype int64 for index."),
}
_INT64_ONLY = ("take", "put_", "index_fill_")


def _index_tensor(index, fn: str, backend):
    if not isinstance(index, Tensor):
        raise TypeError(f"{fn}(): argument 'index' must be Tensor, not {type(index).__name__}")
    kind = index._data.dtype
    if kind.kind not in "iu" or (fn in _INT64_ONLY and kind != np.int64):
        error, message = _INDEX_DTYPE_ERRORS.get(
            fn, (RuntimeError, f"{fn}(): Expected dtype int32 or int64 for index"))
        raise error(message.format(dt.SCALAR_TYPE_NAMES[index.dtype.name]))
    arr = index._data
    if index._backend is not backend:
        arr = backend.asarray(index._backend.to_numpy(arr))
    return arr.astype(np.int64, copy=False)


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` at ``index`` (a 1-D integer tensor) along ``dim``."""
    if input.is_sparse:
        return input.index_select(dim, index)
    arr = _index_tensor(index, "index_select", input._backend)
    if arr.ndim > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    d = wrap_dim(dim, input._data.ndim)
    if input._data.ndim == 0:
        if arr.size != 1:
            raise RuntimeError(
                f"index_select(): Index to scalar can have only 1 value, got {arr.size} value(s)"
            )
        if int(arr.reshape(-1)[0]) != 0:
            raise IndexError("index out of range in self")
        return Slice.apply(input, (), None).clone()
    size = input._data.shape[d]
    arr = arr.reshape(-1)
    check_range(arr, 0, size, lambda v: IndexError("index out of range in self"))
    return IndexSelect.apply(input, (), (slice(None),) * d + (arr,))


def take(input: Tensor, index: Tensor) -> Tensor:
    """``input`` read as 1-D at ``index``; the result has ``index``'s shape."""
    arr = _index_tensor(index, "take", input._backend)
    n = input._data.size
    check_range(arr, -n, n, lambda v: IndexError(
        f"out of range: tried to access index {v} on a tensor of {n} elements."))
    return input.reshape(-1)[Tensor._make(arr, input._backend)]


# ---------------------------------------------------------------------- gather
class Gather(Function):
    node_name = "GatherBackward0"

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim = x._data.shape, dim
        ctx.save_for_backward(index)
        return x._new(x._backend.gather(x._data, dim, index._data))

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return ScatterAdd.apply(grad, ctx.shape, ctx.dim, index), None, None


class ScatterAdd(Function):
    """Zeros of ``shape`` with ``src`` added at ``index`` along ``dim`` (gather's backward)."""

    node_name = "ScatterAddBackward0"

    @staticmethod
    def forward(ctx, src, shape, dim, index):
        ctx.dim = dim
        ctx.save_for_backward(index)
        return _scatter_add(src, shape, dim, index)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        return Gather.apply(grad, ctx.dim, index), None, None, None


def _scatter_add(src: Tensor, shape, dim: int, index: Tensor) -> Tensor:
    backend = src._backend
    out = backend.xp.zeros(shape, dtype=src._data.dtype)
    backend.scatter_add(out, dim, index._data, src._data)
    return src._new(out)


def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False) -> Tensor:
    """``out[i][j] = input[i][index[i][j]]`` for ``dim=1``: picks along ``dim`` at ``index``
    (an integer tensor with ``input``'s number of dims, no larger in the other dims).
    ``sparse_grad=True`` is refused: gpugrad has no sparse tensors (as ``Embedding(sparse=)``)."""
    if sparse_grad:
        raise NotImplementedError("gather(sparse_grad=True): sparse gradients are not supported")
    arr = _index_tensor(index, "gather", input._backend)
    x = input._data
    d = wrap_dim(dim, x.ndim)
    if arr.ndim != x.ndim and not (arr.ndim <= 1 and x.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    if x.ndim == 0 or arr.ndim == 0:  # PyTorch treats 0-d as 1-element 1-d here
        out = gather(input.reshape(-1), 0, Tensor._make(arr.reshape(-1), input._backend))
        return out.reshape(arr.shape)
    for k, (n_index, n_self) in enumerate(zip(arr.shape, x.shape)):
        if k != d and n_index > n_self:
            raise RuntimeError(
                f"Size does not match at dimension {k} expected index {list(arr.shape)} to be no "
                f"larger than self {list(x.shape)} apart from dimension {d}"
            )
    size = x.shape[d]
    check_range(arr, 0, size, lambda v: RuntimeError(
        f"index {v} is out of bounds for dimension {d} with size {size}"))
    return Gather.apply(input, d, Tensor._make(arr, input._backend))


# ---------------------------------------------------------------------- masks
def _check_mask(mask, fn: str) -> None:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{fn}(): argument 'mask' must be Tensor, not {type(mask).__name__}")
    if mask._data.dtype.kind != "b":
        if fn == "masked_select":
            raise RuntimeError("masked_select: expected BoolTensor for mask")
        # (masked_fill_ names the mask's C++ type, masked_scatter_ its scalar type)
        names = dt.CPP_TYPE_NAMES if fn == "masked_fill_" else dt.SCALAR_TYPE_NAMES
        raise RuntimeError(f"{fn} only supports boolean masks, but got mask with dtype "
                           f"{names[mask.dtype.name]}")


def fill_value(input: Tensor, value):
    """``masked_fill``'s ``value`` checked (a number or a 0-d tensor) and cast to ``input``'s
    dtype."""
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(
                "masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                f"{value._data.ndim} dimension(s)."
            )
        return value.to(input.dtype)
    value = fit_scalar(value.item() if isinstance(value, np.generic) else value, input.dtype)
    if input._data.dtype.kind == "b":
        return bool(value)
    if input._data.dtype.kind in "iu":
        return int(value)
    if not isinstance(value, (int, float, bool, np.number)):
        raise TypeError(f"masked_fill(): value must be a number or a Tensor, got "
                        f"{type(value).__name__}")
    return value


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """``input`` with ``value`` (a number or a 0-d tensor) where ``mask`` (bool, broadcast)
    is True."""
    _check_mask(mask, "masked_fill_")
    value = fill_value(input, value)
    from .select import MaskedFill, MaskedFillTensor, select_where

    node = MaskedFillTensor if isinstance(value, Tensor) else MaskedFill
    out = select_where(mask, value, input, node)
    return out if out.dtype == input.dtype else out.to(input.dtype)


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The 1-D tensor of the entries of ``input`` where ``mask`` (broadcast) is True."""
    _check_mask(mask, "masked_select")
    from ._broadcast import broadcast_shape

    shape = broadcast_shape(mask, input)
    return input.expand(shape)[mask.expand(shape)]


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """Indices of the nonzero entries: an ``(n, ndim)`` int64 tensor, or with ``as_tuple`` a
    tuple of ``ndim`` 1-D tensors (one 1-D tensor for a 0-d input)."""
    xp = input._backend.xp
    data = input._data
    if as_tuple:
        found = xp.nonzero(data.reshape(1) if data.ndim == 0 else data)
        return tuple(input._new(a.astype(np.int64, copy=False)) for a in found)
    return input._new(xp.argwhere(data).astype(np.int64, copy=False))

def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """``nonzero(input)`` with exactly ``size`` rows: cut short, or filled with
    ``fill_value`` rows (a shape known before the values are)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    found = nonzero(input)._data[:size]
    xp = input._backend.xp
    out = xp.full((size, found.shape[1]), fill_value, dtype=np.int64)
    out[:found.shape[0]] = found
    return input._new(out)


METHODS = {
    "__getitem__": getitem, "index_select": index_select, "gather": gather, "take": take,
    "masked_fill": masked_fill, "masked_select": masked_select, "nonzero": nonzero,
    "nonzero_static": nonzero_static,
}
