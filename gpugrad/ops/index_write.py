"""Indexed writes: ``index_copy``, ``index_fill``, ``index_put``, ``masked_scatter``, ``put``
(and their in-place Tensor methods ``index_copy_``, ``index_fill_``, ``index_put_``,
``masked_scatter_``, ``put_``).

Each forward copies ``input`` once and writes into the copy. The gradients:

    index_copy:     d input = grad with zeros at the written rows,  d source = grad's rows
    index_fill:     d input = grad with zeros at the filled rows,   d value  = sum of those rows
    index_put:      d input = grad (accumulate) or grad with zeros where written,
                    d values = grad[indices] (summed back to values' shape)
    masked_scatter: d input = grad with zeros under the mask,
                    d source = grad[mask] in the first entries, zeros after
    put:            index_put on the flattened input
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._index_key import normalize_key, region
from ._inplace_graph import shares_elements
from ._shared_write import check_values_dtype, put_at
from ._util import Tensor, check_range, check_tensor, math_ns, wrap_dim
from .indexing import Index, _check_mask, _index_tensor, index_select
from .inplace import _apply
from .scatter import _scalar_input
from .statistics import _torch_name

__all__ = ["index_copy", "index_fill", "index_put", "index_put_", "masked_scatter", "put"]


def _rows_key(dim: int, index) -> tuple:
    return (slice(None),) * dim + (index,)


class IndexCopy(Function):
    node_name = "IndexCopyBackward0"

    @staticmethod
    def forward(ctx, x, source, dim, index):
        ctx.dim = dim
        ctx.save_for_backward(index)
        out = x._data.copy()
        out[_rows_key(dim, index._data)] = source._data
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        gx = IndexFill.apply(grad, None, ctx.dim, index, 0) if ctx.needs_input_grad[0] else None
        gsource = index_select(grad, ctx.dim, index) if ctx.needs_input_grad[1] else None
        return gx, gsource, None, None


class IndexFill(Function):
    """``input`` with ``value`` (a number, or a 0-d Tensor ``value_tensor``) in the rows at
    ``index`` along ``dim``."""

    node_name = "IndexFillBackward0"

    @staticmethod
    def forward(ctx, x, value_tensor, dim, index, value):
        ctx.dim = dim
        ctx.save_for_backward(index)
        out = x._data.copy()
        out[_rows_key(dim, index._data)] = value if value_tensor is None else value_tensor._data
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        (index,) = ctx.saved_tensors
        gx = IndexFill.apply(grad, None, ctx.dim, index, 0) if ctx.needs_input_grad[0] else None
        gvalue = None
        if ctx.needs_input_grad[1]:
            gvalue = index_select(grad, ctx.dim, index).sum()
        return gx, gvalue, None, None, None


class IndexFillTensor(IndexFill):
    node_name = "IndexFillBackward1"


def _vector_index(fn: str, input: Tensor, dim, index):
    """(dim, the int64 index as a 1-D array checked against the size of ``dim``)."""
    arr = _index_tensor(index, fn, input._backend)
    if arr.ndim > 1:
        raise IndexError(f"{fn}(): Index should have dimension 1 or 0 (got {arr.ndim})")
    d = wrap_dim(dim, input._data.ndim)
    size = (input._data.shape or (1,))[d]
    arr = arr.reshape(-1)
    check_range(arr, -size, size, lambda v: IndexError(
        f"{fn}(): index {v} is out of bounds for dimension {d} with size {size}"
        if fn == "index_copy_" else f"index {v} is out of bounds for dimension {d} with size "
                                    f"{size}"))
    return d, Tensor._make(arr % max(size, 1), input._backend)


def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """Out-of-place ``input.index_copy_(dim, index, source)``: ``input`` with its rows
    ``index[i]`` along ``dim`` replaced by ``source``'s rows ``i``."""
    check_tensor(input, "index_copy")
    check_tensor(source, "index_copy", "source")
    if isinstance(index, Tensor) and index._data.dtype != np.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{_torch_name(index)}")
    d, idx = _vector_index("index_copy_", input, dim, index)
    x, s = input._data, source._data
    shape, s_shape = x.shape or (1,), s.shape or (1,)
    if len(s_shape) != len(shape) or any(
            a != b for k, (a, b) in enumerate(zip(shape, s_shape)) if k != d):
        raise IndexError(f"index_copy_(): Source/destination tensor must have same slice "
                         f"shapes. Destination slice shape: {list(x.shape)} at dimension {d} "
                         f"and source slice shape: {list(s.shape)} at dimension {d}.")
    if idx._data.size != s_shape[d]:
        raise IndexError(f"index_copy_(): Number of indices ({idx._data.size}) should be equal "
                         f"to source.size(dim) ({s_shape[d]})")
    if s.dtype != x.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {_torch_name(input)} and (source) "
                           f"{_torch_name(source)}")
    src = source if s.shape == s_shape else source.reshape(s_shape)
    return _scalar_input(lambda t: IndexCopy.apply(t, src, d, idx), input)


def _check_fill_value(value) -> None:
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError("index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._data.ndim} dimension(s).")


def index_fill(input: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """Out-of-place ``input.index_fill_(dim, index, value)``: ``input`` with ``value`` (a
    number or a 0-d tensor) in its rows ``index`` along ``dim``."""
    check_tensor(input, "index_fill")
    d, idx = _vector_index("index_fill_", input, dim, index)
    _check_fill_value(value)
    if isinstance(value, Tensor):
        value = value.to(input.dtype)
        return _scalar_input(lambda t: IndexFillTensor.apply(t, value, d, idx, None), input)
    return _scalar_input(lambda t: IndexFill.apply(t, None, d, idx, value), input)


class IndexPut(Function):
    node_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, x, values, key, accumulate):
        ctx.key, ctx.accumulate = key, accumulate
        out = x._data.copy()
        basic, advanced = key
        target = region(out, basic)
        if accumulate:
            x._backend.add_at(target, advanced, values._data)
        else:
            target[advanced] = values._data
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        gx = gvalues = None
        if ctx.needs_input_grad[0]:
            gx = grad if ctx.accumulate else IndexPut.apply(
                grad, grad._new(grad._backend.xp.zeros((), grad._data.dtype)), ctx.key, False)
        if ctx.needs_input_grad[1]:
            gvalues = Index.apply(grad, *ctx.key)
        return gx, gvalues, None, None


def index_put(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """Out-of-place ``input[indices] = values`` (``indices`` a tuple of index tensors);
    with ``accumulate``, ``values`` are added, repeated indices adding up."""
    check_tensor(input, "index_put")
    check_tensor(values, "index_put", "values")
    if not isinstance(indices, (tuple, list)):
        raise TypeError("index_put(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    check_values_dtype(input, values)
    basic, advanced = normalize_key(input, tuple(indices))
    if advanced is None:
        advanced = ()
    target_shape = region(input._data, basic)[advanced].shape
    try:
        np.broadcast_shapes(values._data.shape, target_shape)
    except ValueError:
        raise RuntimeError(f"shape mismatch: value tensor of shape {list(values._data.shape)} "
                           "cannot be broadcast to indexing result of shape "
                           f"{list(target_shape)}") from None
    return IndexPut.apply(input, values, (basic, advanced), bool(accumulate))


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the entries where ``mask`` (bool, broadcast) is True taken from
    ``source`` in order (row-major)."""
    check_tensor(input, "masked_scatter")
    _check_mask(mask, "masked_scatter_")
    check_tensor(source, "masked_scatter", "source")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError("masked_scatter: expected self and source to have same dtypes but got"
                           f"{_torch_name(input)} and {_torch_name(source)}")
    shape = _broadcast_shape(input, mask)
    x = input if tuple(input._data.shape) == shape else input.expand(shape)
    m = mask if tuple(mask._data.shape) == shape else mask.expand(shape)
    count = int(m._data.sum())
    if count > source._data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return MaskedScatter.apply(x, source, m, count)


def _broadcast_shape(a: Tensor, b: Tensor) -> tuple:
    try:
        return tuple(np.broadcast_shapes(a._data.shape, b._data.shape))
    except ValueError:
        from ._broadcast import raise_broadcast_error

        raise_broadcast_error(a._data, b._data)


class MaskedScatter(Function):
    node_name = "MaskedScatterBackward0"

    @staticmethod
    def forward(ctx, x, source, mask, count):
        ctx.source_shape = source._data.shape
        ctx.save_for_backward(mask)
        out = x._data.copy()
        out[mask._data] = source._data.reshape(-1)[:count]
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        (mask,) = ctx.saved_tensors
        gx = grad.masked_fill(mask, 0) if ctx.needs_input_grad[0] else None
        gsource = None
        if ctx.needs_input_grad[1]:
            picked = grad[mask]
            n = int(np.prod(ctx.source_shape))
            rest = math_ns().zeros(n - picked._data.shape[0], dtype=grad.dtype,
                                   device=grad.device)
            gsource = math_ns().cat([picked, rest]).reshape(ctx.source_shape)
        return gx, gsource, None, None


def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """Out-of-place ``input.put_(index, source)``: ``input`` read as 1-D gets ``source`` at
    ``index`` (negative counts from the end); with ``accumulate``, added."""
    check_tensor(input, "put")
    check_tensor(source, "put", "source")
    arr = _index_tensor(index, "put_", input._backend)
    if source._data.size != arr.size:
        raise IndexError("put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source._data.size}, "
                         f"index.numel() = {arr.size}")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError("put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {_torch_name(input)} and source.dtype = "
                           f"{_torch_name(source)}")
    n = input._data.size
    check_range(arr, -n, n, lambda v: IndexError(
        f"out of range: tried to access index {v} on a tensor of {n} elements."))
    flat_index = Tensor._make(arr.reshape(-1) % max(n, 1), input._backend)
    flat = index_put(input.reshape(-1), (flat_index,), source.reshape(-1), accumulate)
    return flat.reshape(input.shape)


def index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    """In-place ``index_copy``."""
    return _apply(self, lambda s: index_copy(s, dim, index, source), (source,))


def index_fill_(self: Tensor, dim: int, index: Tensor, value) -> Tensor:
    """In-place ``index_fill``."""
    operands = (value,) if isinstance(value, Tensor) else ()
    if self._base is not None and shares_elements(self._data):  # PyTorch writes through
        d, idx = _vector_index("index_fill_", self, dim, index)
        _check_fill_value(value)
        return put_at(self, ((), (slice(None),) * d + (idx._data,)), value,
                      warn=("index_fill_", "tensor[mask] = scalar"))
    return _apply(self, lambda s: index_fill(s, dim, index, value), operands)


def index_put_(input: Tensor, indices, values: Tensor, accumulate: bool = False) -> Tensor:
    """In-place ``index_put``: ``input[indices] = values`` (or ``+=`` with ``accumulate``)."""
    if input._base is not None and shares_elements(input._data):  # PyTorch writes through
        check_tensor(values, "index_put", "values")
        check_values_dtype(input, values)
        return put_at(input, normalize_key(input, tuple(indices)), values, accumulate=accumulate,
                      warn=("index_put_", "tensor[indices] = tensor"))
    return _apply(input, lambda s: index_put(s, indices, values, accumulate), (values,))


def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """In-place ``masked_scatter`` (``mask`` broadcasts to ``self``)."""
    return _apply(self, lambda s: masked_scatter(s, mask, source), (source,))


def put_(self: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """In-place ``put``."""
    return _apply(self, lambda s: put(s, index, source, accumulate), (source,))


METHODS = {"index_copy": index_copy, "index_copy_": index_copy_, "index_fill": index_fill,
           "index_fill_": index_fill_, "index_put": index_put, "index_put_": index_put_,
           "masked_scatter": masked_scatter, "masked_scatter_": masked_scatter_, "put": put,
           "put_": put_}
