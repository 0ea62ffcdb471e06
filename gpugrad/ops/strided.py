"""``as_strided``: a view of a tensor's memory with explicit sizes, strides and offset (in
elements of the memory the tensor views, as PyTorch's storage), and its gradient."""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ..autograd.views import track
from ._util import Tensor, check_tensor
from .tensor_info import storage_offset as _storage_offset

__all__ = ["as_strided", "as_strided_"]


def _root(t: Tensor) -> Tensor:
    return t if t._base is None else t._base


def _positions(xp, shape, strides, offset):
    """The memory position (in elements) of every element of a strided layout."""
    pos = xp.full(tuple(shape), offset, dtype=np.int64)
    for d, (n, s) in enumerate(zip(shape, strides)):
        step = xp.arange(n, dtype=np.int64) * s
        pos = pos + step.reshape((n,) + (1,) * (len(shape) - d - 1))
    return pos


class AsStrided(Function):
    node_name = "AsStridedBackward0"

    @staticmethod
    def forward(ctx, x, size, stride, offset):
        xp = x._backend.xp
        memory = _memory(xp, _root(x)._data)
        item = memory.dtype.itemsize
        data = xp.lib.stride_tricks.as_strided(
            memory[offset:], shape=size, strides=tuple(s * item for s in stride))
        ctx.layout = (tuple(x.shape), x.stride(), _storage_offset(x), memory.size)
        ctx.view = (size, stride, offset)
        return x._view(data)

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph): the array backward's scatter and gather as ops.
        xp = grad._backend.xp
        in_shape, in_stride, in_offset, extent = ctx.layout
        at_view = grad._new(_positions(xp, *ctx.view).reshape(-1))
        at_input = grad._new(_positions(xp, in_shape, in_stride, in_offset))
        memory = grad.new_zeros(extent).index_add(0, at_view, grad.reshape(-1))
        return memory[at_input], None, None, None

    def _array_backward(self, grad):
        # Every element of the view adds its gradient at its memory position (positions that
        # the view repeats add up); the input reads its own positions back.
        in_shape, in_stride, in_offset, extent = self.layout
        backend = self._backend
        xp = backend.xp
        memory = xp.zeros(extent, dtype=grad.dtype)
        backend.add_at(memory, _positions(xp, *self.view).reshape(-1), grad.reshape(-1))
        return memory[_positions(xp, in_shape, in_stride, in_offset)], None, None, None


def _memory(xp, data):
    """The elements from the lowest to the highest address ``data`` reaches, as one flat
    array (PyTorch's storage of a tensor made from such an array)."""
    flip = tuple(slice(None, None, -1) if s < 0 else slice(None) for s in data.strides)
    data = data[(*flip, ...)]  # now starts at its lowest address (a view, even when 0-d)
    item = data.dtype.itemsize
    extent = 0 if data.size == 0 else 1 + sum((n - 1) * s // item
                                              for n, s in zip(data.shape, data.strides))
    return xp.lib.stride_tricks.as_strided(data, shape=(extent,), strides=(item,))


def _checked_layout(input: Tensor, size, stride, storage_offset, fn: str) -> tuple:
    """``(size, stride, offset)`` as ints, with PyTorch's checks of a layout over the memory
    ``input`` views (the offset defaults to where ``input`` starts)."""
    check_tensor(input, fn)
    size, stride = tuple(int(n) for n in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"mismatch in length of strides and shape: {len(size)} and "
                           f"{len(stride)}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, "
                           f"got strides: {list(stride)}")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(size)}")
    root = _memory(input._backend.xp, _root(input)._data)
    offset = _storage_offset(input) if storage_offset is None else storage_offset
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    needed = 0 if math.prod(size) == 0 else offset + 1 + sum(
        (n - 1) * s for n, s in zip(size, stride))
    if needed > root.size:
        item = root.dtype.itemsize
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, "
            f"and itemsize {item} requiring a storage size of {needed * item} are out of "
            f"bounds for storage of size {root.size * item}")
    return size, stride, offset


def as_strided(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """A view with ``size`` and ``stride`` (in elements) starting ``storage_offset`` elements
    into the memory ``input`` views (default: where ``input`` starts)."""
    size, stride, offset = _checked_layout(input, size, stride, storage_offset, "as_strided")
    return track(AsStrided.apply(input, size, stride, offset), input)


class AsStridedInplace(AsStrided):
    node_name = "AsStridedBackward1"


def as_strided_(input: Tensor, size, stride, storage_offset: int | None = None) -> Tensor:
    """In-place ``as_strided``: ``input`` itself takes the layout ``size``, ``stride`` and
    ``storage_offset`` over the same memory (one version newer; recorded as PyTorch's
    ``AsStridedBackward1`` where it needs a graph; a leaf that requires grad is refused)."""
    from .structure import _restride

    size, stride, offset = _checked_layout(input, size, stride, storage_offset, "as_strided_")
    return _restride(input, AsStridedInplace, size, stride, offset)


METHODS = {"as_strided": as_strided, "as_strided_": as_strided_}
