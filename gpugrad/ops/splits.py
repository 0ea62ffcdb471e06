"""Splitting and stacking built on ``cat``, slices and ``split``: ``tensor_split``, ``hsplit``,
``vsplit``, ``dsplit``, ``split_with_sizes``, ``unsafe_split``, ``unsafe_chunk``;
``atleast_1d``/``2d``/``3d``, ``dstack``, ``column_stack``, ``row_stack``."""

from __future__ import annotations

from ..autograd.grad_mode import no_grad
from ._util import Tensor, check_tensor, wrap_dim
from .indexing import Slice
from .join import Split, _split, _tensor_list, cat, chunk, hstack, split, vstack

__all__ = ["tensor_split", "hsplit", "vsplit", "dsplit", "split_with_sizes", "unsafe_split",
           "unsafe_chunk", "atleast_1d", "atleast_2d", "atleast_3d", "dstack", "column_stack",
           "row_stack"]


# ---------------------------------------------------------------------- splits
def tensor_split(input: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Views of ``input`` split along ``dim``: into ``n`` nearly equal parts (the first ones one
    longer), or at the given indices (Python slices between them, so out-of-order or
    out-of-range indices give empty parts)."""
    check_tensor(input, "tensor_split")
    if input.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = wrap_dim(dim, input.ndim)
    size = input.shape[d]
    if isinstance(indices_or_sections, Tensor):
        if indices_or_sections.is_floating_point() or indices_or_sections.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have a "
                               "long dtype and be a 0-D or 1-D tensor")
        indices_or_sections = indices_or_sections.tolist()
    if isinstance(indices_or_sections, int):
        n = indices_or_sections
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        step, extra = divmod(size, n)
        bounds, start = [], 0
        for i in range(n - 1):
            start += step + (i < extra)
            bounds.append(start)
    else:
        bounds = [int(i) for i in indices_or_sections]
    lead = (slice(None),) * d
    edges = [0] + bounds + [None]
    # (each part a slice op, as PyTorch's: a SliceBackward0 node even where it spans the dim)
    return tuple(Slice.apply_view(input, lead + (slice(a, b),), None)
                 for a, b in zip(edges, edges[1:]))


def _directional(name: str, input: Tensor, indices_or_sections, dim: int, least: int) -> tuple:
    check_tensor(input, name)
    if input.ndim < least:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {least} dimension, but "
                           f"got a tensor with {input.ndim} dimensions!")
    if isinstance(indices_or_sections, int):
        size = input.shape[dim]
        if indices_or_sections == 0 or size % indices_or_sections:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but the "
                               f"size of the dimension {size} is not divisible by the "
                               f"split_size {indices_or_sections}!")
    return tensor_split(input, indices_or_sections, dim)


def hsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 1 (dim 0 of a 1-D input); sections must divide evenly."""
    check_tensor(input, "hsplit")
    return _directional("hsplit", input, indices_or_sections, 1 if input.ndim > 1 else 0, 1)


def vsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 0 of an at least 2-D input; sections must divide evenly."""
    return _directional("vsplit", input, indices_or_sections, 0, 2)


def dsplit(input: Tensor, indices_or_sections) -> tuple:
    """``tensor_split`` along dim 2 of an at least 3-D input; sections must divide evenly."""
    return _directional("dsplit", input, indices_or_sections, 2, 3)


def split_with_sizes(input: Tensor, split_sizes, dim: int = 0) -> tuple:
    """Views of consecutive parts of the given sizes along ``dim`` (they must sum to its
    length)."""
    check_tensor(input, "split_with_sizes")
    return split(input, list(split_sizes), dim)


class UnsafeSplit(Split):
    node_name = "UnsafeSplitBackward0"


def _unsafe(input: Tensor, parts: tuple, dim: int) -> tuple:
    d = wrap_dim(dim, input.ndim)
    return _split(input, d, [p.shape[d] for p in parts], UnsafeSplit)


def unsafe_split(tensor: Tensor, split_size: int, dim: int = 0) -> tuple:
    """``split`` by one size (PyTorch skips its view checks; here it is the same views)."""
    check_tensor(tensor, "unsafe_split")
    if not isinstance(split_size, int):
        raise TypeError(f"unsafe_split(): argument 'split_size' (position 2) must be int, not "
                        f"{type(split_size).__name__}")
    with no_grad():
        parts = split(tensor, split_size, dim)
    return _unsafe(tensor, parts, dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``chunk`` (PyTorch skips its view checks; here it is the same views)."""
    check_tensor(input, "unsafe_chunk")
    with no_grad():
        parts = chunk(input, chunks, dim)
    return _unsafe(input, parts, dim)


# ---------------------------------------------------------------------- at least n-d, stacks
def _each(tensors, fn: str, lift):
    if len(tensors) == 1 and isinstance(tensors[0], Tensor):
        return lift(tensors[0])
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for i, t in enumerate(tensors):
        check_tensor(t, fn, f"tensors[{i}]")
    return tuple(lift(t) for t in tensors)


def _lift_1d(t: Tensor) -> Tensor:
    return t.reshape(1) if t.ndim == 0 else t


def _lift_2d(t: Tensor) -> Tensor:
    return t.reshape(1, 1) if t.ndim == 0 else t.unsqueeze(0) if t.ndim == 1 else t


def _lift_3d(t: Tensor) -> Tensor:
    if t.ndim == 0:
        return t.reshape(1, 1, 1)
    if t.ndim == 1:
        return t.unsqueeze(0).unsqueeze(-1)
    return t.unsqueeze(-1) if t.ndim == 2 else t


def atleast_1d(*tensors):
    """Each input with at least one dim (a 0-d tensor becomes shape (1,)); one tensor in, one
    out, else a tuple."""
    return _each(tensors, "atleast_1d", _lift_1d)


def atleast_2d(*tensors):
    """Each input with at least two dims (a 1-D tensor becomes a row)."""
    return _each(tensors, "atleast_2d", _lift_2d)


def atleast_3d(*tensors):
    """Each input with at least three dims ((n,) becomes (1, n, 1); (m, n) becomes
    (m, n, 1))."""
    return _each(tensors, "atleast_3d", _lift_3d)


def dstack(tensors) -> Tensor:
    """Concatenate along dim 2, the inputs first made at least 3-D."""
    tensors = _tensor_list(tensors, "dstack")
    if not tensors:
        raise RuntimeError("dstack expects a non-empty TensorList")
    return cat([_lift_3d(t) for t in tensors], 2)


def column_stack(tensors) -> Tensor:
    """Concatenate along dim 1, 0-d and 1-D inputs first made columns."""
    tensors = _tensor_list(tensors, "column_stack")
    if not tensors:
        raise RuntimeError("column_stack expects a non-empty TensorList")
    return hstack([t.reshape(t.numel(), 1) if t.ndim <= 1 else t for t in tensors])


def row_stack(tensors) -> Tensor:
    """``vstack``."""
    return vstack(tensors)


METHODS = {
    "tensor_split": tensor_split, "hsplit": hsplit, "vsplit": vsplit, "dsplit": dsplit,
    "split_with_sizes": split_with_sizes, "unsafe_split": unsafe_split,
    "unsafe_chunk": unsafe_chunk,
}
