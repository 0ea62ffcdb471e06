"""``repeat_interleave``: each entry repeated in place along a dim (``numpy.repeat``). It is
an ``index_select`` with the repeated positions, so its gradient sums the copies back."""

from __future__ import annotations

import numbers

import numpy as np

from ._util import Tensor, check_tensor, wrap_dim
from .indexing import index_select

__all__ = ["repeat_interleave"]


def repeat_interleave(input: Tensor, repeats=None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Repeat each entry of ``input`` along ``dim`` (the flattened input when None)
    ``repeats`` times (an int, or a tensor of one count per entry). With only a tensor of
    counts, ``repeat_interleave(counts)`` gives each position as many times as it says."""
    check_tensor(input, "repeat_interleave")
    if repeats is None:  # repeat_interleave(counts): the positions 0.. repeated
        counts = _counts(input, None)
        return input._new(input._backend.xp.asarray(
            np.repeat(np.arange(counts.size, dtype=np.int64), counts)))
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


METHODS = {"repeat_interleave": repeat_interleave}
