"""Padding: ``F.pad``'s four modes.

A constant pad is one op: the input copied into a tensor of the fill value (a negative pad
crops). Its adjoint is the same op with the pads negated and a zero fill, so its backward is
itself, differentiable again. The other modes read each output element from one input element
(``reflect`` mirrors about the edge element, ``replicate`` repeats it, ``circular`` wraps
around): one ``index_select`` per padded dim with the positions computed here, whose backward
sums the gradient of the repeated elements.
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from .indexing import index_select

__all__ = ["constant_pad", "index_pad"]


def _layout(shape, pads):
    """Per padded dim (last first, as ``pads`` lists them): the dim, its (before, after) pad,
    and the new size; raises when a negative pad crops more than the dim holds."""
    dims = []
    for k in range(len(pads) // 2):
        dim = len(shape) - 1 - k
        before, after = pads[2 * k], pads[2 * k + 1]
        size = shape[dim] + before + after
        if size < 0:
            raise RuntimeError(
                f"narrow(): length must be non-negative: padding ({before}, {after}) of dimension "
                f"{dim} of size {shape[dim]} leaves a size of {size}")
        dims.append((dim, before, after, size))
    return dims


def _constant_pad_array(xp, arr, pads, value):
    out_shape = list(arr.shape)
    src = [slice(None)] * arr.ndim
    dst = [slice(None)] * arr.ndim
    kept = True  # whether any of the input is kept
    for dim, before, after, size in _layout(arr.shape, pads):
        out_shape[dim] = size
        start, stop = max(-before, 0), arr.shape[dim] - max(-after, 0)
        kept = kept and stop > start
        src[dim] = slice(start, max(stop, start))
        dst[dim] = slice(max(before, 0), max(before, 0) + max(stop - start, 0))
    out = xp.full(out_shape, value, dtype=arr.dtype)
    if kept:
        out[tuple(dst)] = arr[tuple(src)]
    return out


class ConstantPadNd(Function):
    """``x`` inside a border of ``value`` (``pads``: (before, after) pairs, last dim first)."""

    node_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        ctx.pads = pads
        return x._new(_constant_pad_array(x._backend.xp, x._data, pads, value))

    @staticmethod
    def backward(ctx, grad):
        return ConstantPadNd.apply(grad, tuple(-p for p in ctx.pads), 0), None, None

    def _array_backward(self, grad):
        xp = self._backend.xp
        return _constant_pad_array(xp, grad, tuple(-p for p in self.pads), 0), None, None


def constant_pad(x, pads, value):
    """``F.pad(x, pads, "constant", value)`` after its argument checks."""
    _layout(x.shape, pads)
    return ConstantPadNd.apply(x, tuple(pads), value)


def _positions(n: int, before: int, after: int, mode: str):
    """The input position each output position of a dim of size ``n`` reads."""
    if mode == "circular":  # crop first, then wrap around what is left (as PyTorch)
        start, stop = max(-before, 0), n - max(-after, 0)
        kept = np.arange(start, stop)
        return kept[(np.arange(-max(before, 0), stop - start + max(after, 0))) % (stop - start)]
    coords = np.arange(-before, n + after)
    if mode == "reflect":
        coords = np.abs(coords)
        return np.where(coords > n - 1, 2 * (n - 1) - coords, coords)
    return np.clip(coords, 0, n - 1)  # replicate


def index_pad(x, pads, mode: str):
    """``F.pad`` in mode ``reflect``, ``replicate`` or ``circular``, after its checks."""
    out = x
    for dim, before, after, _ in _layout(x.shape, pads):
        index = _positions(x.shape[dim], before, after, mode)
        out = index_select(out, dim, x._new(x._backend.xp.asarray(index, dtype=np.int64)))
    return out
