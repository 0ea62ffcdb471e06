"""The copies that repeat or reverse entries: ``repeat`` and ``tile`` (the whole tensor
tiled), ``repeat_interleave`` (each entry repeated in place along a dim, as ``numpy.repeat``:
an ``index_select`` with the repeated positions, so its gradient sums the copies back), and
``flip``."""

from __future__ import annotations

import numbers

import numpy as np

from ..autograd.function import Function
from ._util import Tensor, check_tensor, wrap_dim
from .indexing import index_select

__all__ = ["repeat_interleave", "tile", "flip", "fliplr", "flipud"]


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each entry of ``input`` along ``dim`` (the flattened input when None)
    ``repeats`` times (an int, or a tensor of one count per entry). With only a tensor of
    counts, ``repeat_interleave(counts)`` gives each position as many times as it says."""
    check_tensor(input, "repeat_interleave")
    if repeats is None:  # repeat_interleave(counts): the positions 0.. repeated (counts' dtype)
        counts = _counts(input, None)
        if output_size is not None and output_size != int(counts.sum()):
            raise RuntimeError("allocated size does not match required size")
        return input._new(input._backend.xp.asarray(
            np.repeat(np.arange(counts.size, dtype=input._data.dtype), counts)))
    if dim is None:
        input, dim = input.reshape(-1), 0
    dim = wrap_dim(dim, max(input.dim(), 1))
    size = input.shape[dim] if input.dim() else 1
    counts = _counts(repeats, size)
    if output_size is not None and output_size != int(counts.sum()):
        raise RuntimeError("allocated size does not match required size")
    positions = np.repeat(np.arange(size, dtype=np.int64), counts)
    if input.dim() == 0:
        input = input.reshape(1)
    return index_select(input, dim, input._new(input._backend.xp.asarray(positions)))


def _counts(repeats, size: int | None) -> np.ndarray:
    """The repeat count of each of ``size`` entries, checked as PyTorch checks them."""
    if isinstance(repeats, Tensor):
        if repeats.dim() > 1:
            raise RuntimeError("repeats must be 0-dim or 1-dim tensor")
        if repeats.dtype.is_floating_point or repeats.dtype.name == "bool":
            raise NotImplementedError(
                f'"repeat_interleave" not implemented for \'{repeats.dtype.name}\'')
        counts = np.asarray(repeats.cpu().numpy(), dtype=np.int64).reshape(-1)
        if (counts < 0).any():
            raise RuntimeError("repeats can not be negative")
    elif isinstance(repeats, numbers.Integral) and not isinstance(repeats, bool):
        if repeats < 0:
            raise RuntimeError("Repeats must be non-negative")
        counts = np.array([int(repeats)], dtype=np.int64)
    else:
        raise TypeError(f"repeat_interleave(): repeats must be an int or a tensor, got "
                        f"{type(repeats).__name__}")
    if size is None:
        return counts
    if counts.size == 1:
        return np.full(size, counts[0], dtype=np.int64)
    if counts.size != size:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {counts.size} and input.size(0) = {size}")
    return counts


# ---------------------------------------------------------------------- repeat, flip
class Repeat(Function):
    node_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx, x, reps):
        shape = (1,) * (len(reps) - x._data.ndim) + x._data.shape
        ctx.in_shape, ctx.shape, ctx.reps = x._data.shape, shape, reps
        return x._new(x._backend.xp.tile(x._data.reshape(shape), reps))

    @staticmethod
    def backward(ctx, grad):
        # out[r*s + i] = x[i] along each dim: view the gradient as (r0, s0, r1, s1, ...) and
        # sum over the r axes.
        paired = tuple(v for r, s in zip(ctx.reps, ctx.shape) for v in (r, s))
        axes = tuple(range(0, len(paired), 2))
        return grad.reshape(paired).sum(axes).reshape(ctx.in_shape), None


def _sizes(sizes) -> tuple:
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    return tuple(int(n) for n in sizes)


def repeat(input: Tensor, *sizes) -> Tensor:
    """Tile ``input`` ``sizes[i]`` times along each dim (``sizes`` may add leading dims)."""
    reps = _sizes(sizes)
    if len(reps) < input._data.ndim:
        raise RuntimeError(
            "Number of dimensions of repeat dims can not be smaller than number of dimensions "
            "of tensor"
        )
    shape = (1,) * (len(reps) - input._data.ndim) + input._data.shape
    target = [r * s for r, s in zip(reps, shape)]
    if any(r < 0 for r in reps):
        bad = min(target)
        raise RuntimeError(f"Trying to create tensor with negative dimension {bad}: {target}")
    return Repeat.apply(input, reps)


def tile(input: Tensor, dims) -> Tensor:
    """``repeat`` with ``dims`` padded with leading ones to ``input``'s number of dims."""
    reps = _sizes((dims,))
    return repeat(input, (1,) * (input._data.ndim - len(reps)) + reps)


class Flip(Function):
    node_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._new(x._backend.xp.flip(x._data, axis=dims).copy())

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, ctx.dims), None


def flip(input: Tensor, dims) -> Tensor:
    """A copy with the order of entries reversed along ``dims``."""
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    n = input._data.ndim
    wrapped = []
    for d in dims:
        w = wrap_dim(d, n)
        if w in wrapped:
            raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
        wrapped.append(w)
    if n == 0:
        return Flip.apply(input, None)
    return Flip.apply(input, tuple(wrapped))


def fliplr(input: Tensor) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


METHODS = {
    "repeat_interleave": repeat_interleave, "repeat": repeat, "tile": tile, "flip": flip,
    "fliplr": fliplr, "flipud": flipud,
}
