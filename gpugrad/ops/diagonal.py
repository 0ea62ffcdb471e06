"""Diagonals and regions: the views ``diagonal`` and ``Tensor.unfold``; ``diag_embed``, ``diag``,
``diagflat``, ``trace``; the scatters ``diagonal_scatter``, ``select_scatter``,
``slice_scatter`` (a copy of the input with a region replaced) and ``Tensor.fill_diagonal_``.

A region is an object with ``array(data)`` (a writable view of an array) and ``tensor(t)`` (the
same view as a differentiable Tensor op): a diagonal, or a basic index key. The view of a region
and the scatter into it are each other's backward.
"""

from __future__ import annotations

from ..autograd.function import Function, ViewFunction
from . import inplace
from ._inplace_graph import CopySlices, shares_elements
from ._shared_write import fill_where
from ._util import Tensor, check_tensor, int_arg, wrap_dim
from .indexing import masked_fill

__all__ = ["diagonal", "diag_embed", "diag", "diagflat", "trace", "diagonal_scatter",
           "select_scatter", "slice_scatter"]


class _Diagonal:
    """The diagonal ``offset`` of dims ``dim1``, ``dim2``, as the last dim (PyTorch's order)."""

    __slots__ = ("offset", "dim1", "dim2")

    def __init__(self, offset: int, dim1: int, dim2: int):
        self.offset, self.dim1, self.dim2 = offset, dim1, dim2

    def array(self, data):
        view = data.diagonal(self.offset, self.dim1, self.dim2)
        flags = view.flags
        # NumPy hands diagonals out read-only (CuPy's flags have no such field): writable when
        # the viewed array is
        if getattr(flags, "writeable", True) is False and data.flags.writeable:
            flags.writeable = True
        return view

    def tensor(self, t: Tensor) -> Tensor:
        return diagonal(t, self.offset, self.dim1, self.dim2)


class _Key:
    """A basic index key (ints and slices)."""

    __slots__ = ("key",)

    def __init__(self, key: tuple):
        self.key = key

    def array(self, data):
        return data[self.key]

    def tensor(self, t: Tensor) -> Tensor:
        return t[self.key]


# ---------------------------------------------------------------------- view and scatter
class Diagonal(ViewFunction):
    """The view of a region; backward scatters the gradient into zeros."""

    node_name = "DiagonalBackward0"

    @staticmethod
    def view_array(ctx, x, params):
        region = params[0]
        ctx.shape, ctx.region = x._data.shape, region
        return region.array(x._data)

    @staticmethod
    def backward(ctx, grad):
        zeros = grad._new(grad._backend.xp.zeros(ctx.shape, dtype=grad._data.dtype))
        return DiagEmbed.apply(zeros, grad, ctx.region), None

    def _array_backward(self, grad):
        out = self._backend.xp.zeros(self.shape, dtype=grad.dtype)
        self.region.array(out)[...] = grad
        return out, None


class DiagonalScatter(Function):
    """A copy of ``x`` with ``region`` replaced by ``src`` (cast to ``x``'s dtype)."""

    node_name = "DiagonalScatterBackward0"

    @staticmethod
    def forward(ctx, x, src, region):
        ctx.region, ctx.src_shape = region, src._data.shape
        out = x._data.copy()
        region.array(out)[...] = src._data
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        gx = gsrc = None
        if ctx.needs_input_grad[0]:
            zeros = grad._new(grad._backend.xp.zeros(ctx.src_shape, dtype=grad._data.dtype))
            gx = type(ctx).apply(grad, zeros, ctx.region)
        if ctx.needs_input_grad[1]:
            gsrc = ctx.region.tensor(grad).clone()
        return gx, gsrc, None

    def _array_backward(self, grad):
        gx = gsrc = None
        if self.needs_input_grad[0]:
            gx = grad.copy()
            self.region.array(gx)[...] = 0
        if self.needs_input_grad[1]:
            gsrc = self.region.array(grad).copy()
        return gx, gsrc, None


class SelectScatter(DiagonalScatter):
    node_name = "SelectScatterBackward0"


class SliceScatter(DiagonalScatter):
    node_name = "SliceScatterBackward0"


class DiagEmbed(DiagonalScatter):
    """``src`` on a diagonal of zeros (the zeros need no gradient)."""

    node_name = "DiagEmbedBackward0"
    _next_inputs = (1,)


def _diagonal_dims(ndim: int, dim1: int, dim2: int) -> tuple:
    d1, d2 = wrap_dim(dim1, ndim), wrap_dim(dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return d1, d2


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The view of the diagonal ``offset`` (above the main one if positive) of dims ``dim1``
    and ``dim2``, as the last dim."""
    check_tensor(input, "diagonal")
    d1, d2 = _diagonal_dims(input.ndim, dim1, dim2)
    return _diagonal_view(input, int(offset), d1, d2)


def _diagonal_view(input: Tensor, offset: int, d1: int, d2: int) -> Tensor:
    return Diagonal.apply_view(input, _Diagonal(offset, d1, d2))


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Zeros with the last dim of ``input`` on the diagonal ``offset`` of the new dims
    ``dim1`` and ``dim2`` (each of size ``input.size(-1) + abs(offset)``)."""
    check_tensor(input, "diag_embed")
    d1, d2 = _diagonal_dims(input.ndim + 1, dim1, dim2)
    n = (input.shape[-1] if input.ndim else 1) + abs(int(offset))
    shape = list(input.shape[:-1])
    for d in sorted((d1, d2)):
        shape.insert(d, n)
    src = input if input.ndim else input.reshape(1)
    zeros = input._new(input._backend.xp.zeros(tuple(shape), dtype=input._data.dtype))
    return DiagEmbed.apply(zeros, src, _Diagonal(int(offset), d1, d2))


def diag(input: Tensor, diagonal: int = 0) -> Tensor:  # noqa: A002 (PyTorch's name)
    """A 1-D input: the square matrix with it on diagonal ``diagonal``; a 2-D input: a copy of
    that diagonal."""
    check_tensor(input, "diag")
    if input.ndim == 1:
        return diag_embed(input, diagonal, 0, 1)
    if input.ndim == 2:
        return _diagonal_view(input, int(diagonal), 0, 1).clone()
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {input.ndim}D")


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened input on diagonal ``offset`` of a square matrix."""
    check_tensor(input, "diagflat")
    return diag_embed(input.reshape(-1), offset, 0, 1)


def trace(input: Tensor) -> Tensor:
    """The sum of the main diagonal of a matrix (integers sum to int64, as ``sum``)."""
    check_tensor(input, "trace")
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.ndim}")
    return diagonal(input).sum()


def _scatter(cls, input: Tensor, src: Tensor, region, fn: str) -> Tensor:
    check_tensor(input, fn)
    check_tensor(src, fn, "src")
    want = region.array(input._data).shape
    if tuple(src.shape) != want:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(want)}")
    return cls.apply(input, src, region)


def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0,
                     dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``diagonal(input, offset, dim1, dim2)`` replaced by ``src``."""
    check_tensor(input, "diagonal_scatter")
    d1, d2 = _diagonal_dims(input.ndim, dim1, dim2)
    return _scatter(DiagonalScatter, input, src, _Diagonal(int(offset), d1, d2),
                    "diagonal_scatter")


def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``input.select(dim, index)`` replaced by ``src``."""
    check_tensor(input, "select_scatter")
    if input.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input.ndim)
    size = input.shape[d]
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"{list(input.shape)} at dimension {d}")
    key = (slice(None),) * d + (int(index) % size,)
    return _scatter(SelectScatter, input, src, _Key(key), "select_scatter")


def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1) -> Tensor:
    """A copy of ``input`` with ``input[..., start:end:step, ...]`` (along ``dim``) replaced by
    ``src``."""
    check_tensor(input, "slice_scatter")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    d = wrap_dim(dim, input.ndim)
    key = (slice(None),) * d + (slice(start, end, step),)
    return _scatter(SliceScatter, input, src, _Key(key), "slice_scatter")


# ---------------------------------------------------------------------- unfold
class Unfold(ViewFunction):
    """The view of the windows of ``size`` elements every ``step`` along ``dim``, the window
    as a new last dim; backward adds each window's gradient back where it was read."""

    node_name = "UnfoldBackward0"

    @staticmethod
    def view_array(ctx, x, params):
        data = x._data
        ctx.shape, ctx.params = data.shape, params
        dim, size, step = params
        if data.ndim == 0:  # (one window of the one element, or none)
            return data.reshape(1)[:size]
        count = (data.shape[dim] - size) // step + 1
        shape = data.shape[:dim] + (count,) + data.shape[dim + 1:] + (size,)
        strides = (data.strides[:dim] + (data.strides[dim] * step,) + data.strides[dim + 1:]
                   + (data.strides[dim],))
        return x._backend.xp.lib.stride_tricks.as_strided(data, shape, strides)

    @staticmethod
    def backward(ctx, grad):
        return UnfoldBackward.apply(grad, ctx.shape, *ctx.params), None, None, None

    def _array_backward(self, grad):
        return _fold(self._backend.xp, grad, self.shape, *self.params), None, None, None


def _fold(xp, grad, shape, dim, size, step):
    """Zeros of ``shape`` plus each window's gradient at the window's place: one strided add
    per position in the window, or one add per window where there are fewer windows (long
    windows, as ``istft``'s frames are)."""
    out = xp.zeros(shape, dtype=grad.dtype)
    if not shape:
        out[...] = grad.reshape(())
        return out
    count = grad.shape[dim]
    lead = (slice(None),) * dim
    if count < size:
        for j in range(count):
            window = xp.moveaxis(xp.take(grad, j, axis=dim), -1, dim)
            out[lead + (slice(j * step, j * step + size),)] += window
        return out
    for k in range(size):
        out[lead + (slice(k, k + step * (count - 1) + 1, step),)] += grad[..., k]
    return out


class UnfoldBackward(Function):
    node_name = "UnfoldBackwardBackward0"

    @staticmethod
    def forward(ctx, grad, shape, dim, size, step):
        ctx.params = (dim, size, step)
        return grad._new(_fold(grad._backend.xp, grad._data, shape, dim, size, step))

    @staticmethod
    def backward(ctx, grad):
        return unfold(grad, *ctx.params), None, None, None, None


def unfold(self: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """The view of all windows of ``size`` elements, ``step`` apart, along ``dimension``: that
    dim counts the windows and a new last dim holds each window."""
    size, step = int_arg(size, "unfold", "size", 2), int_arg(step, "unfold", "step", 3)
    d = wrap_dim(dimension, self.ndim)
    have = self.shape[d] if self.ndim else 1
    if size > have:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {have} but size is "
                           f"{size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    return Unfold.apply_view(self, d, size, step)


# ---------------------------------------------------------------------- fill_diagonal_
def fill_diagonal_(self: Tensor, fill_value, wrap: bool = False) -> Tensor:
    """Fill the main diagonal (all dims equal, or a matrix) with ``fill_value``; ``wrap``
    continues a tall matrix's diagonal below each square block, as NumPy does."""
    shape = tuple(self.shape)
    if len(shape) < 2:
        raise RuntimeError("dimensions must larger than 1")
    if len(shape) > 2 and len(set(shape)) > 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    xp = self._backend.xp
    flat_step = 1  # from one diagonal element to the next in the flattened tensor
    stride = 1
    for n in reversed(shape[1:]):
        stride *= n
        flat_step += stride
    total = self.numel()
    end = total if wrap or len(shape) > 2 else min(total, shape[1] * shape[1])
    mask = xp.zeros(total, dtype=bool)
    mask[0:end:flat_step] = True
    mask = self._new(mask.reshape(shape))
    if self._base is not None and shares_elements(self._data):
        # PyTorch writes the diagonal's elements, which share no memory: recorded, a plain
        # CopySlices
        return fill_where(self, mask, fill_value, CopySlices)
    return inplace._apply(self, lambda s: masked_fill(s, mask, fill_value), (fill_value,))


METHODS = {
    "diagonal": diagonal, "diag_embed": diag_embed, "diag": diag, "diagflat": diagflat,
    "trace": trace, "diagonal_scatter": diagonal_scatter, "select_scatter": select_scatter,
    "slice_scatter": slice_scatter, "fill_diagonal_": fill_diagonal_, "unfold": unfold,
}
