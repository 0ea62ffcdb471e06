"""Joining and splitting: ``cat``, ``stack``, ``split``, ``chunk``, ``unbind``, ``narrow``,
``select``. (The copying shape ops ``repeat``, ``tile``, ``flip`` live in ``repeat.py``.)

``split``, ``chunk`` and ``unbind`` return views, all outputs of one node whose backward
joins their gradients in one pass.
"""

from __future__ import annotations

import math

from .. import _dtype as dt
from .._tensor_metadata import NoDenseArray
from ..autograd.function import Function, new_node
from ..autograd.grad_mode import state as grad_state
from ..autograd.record import record
from ..autograd.views import track
from ._util import Tensor, wrap_dim
from .indexing import Index, Select, Slice

__all__ = [
    "cat", "concat", "concatenate", "stack", "hstack", "vstack", "split", "chunk", "unbind",
    "narrow", "narrow_copy", "select",
]


def _tensor_list(tensors, fn: str) -> list:
    if tensors.__class__ is list or tensors.__class__ is tuple:
        for t in tensors:
            if t.__class__ is not Tensor:
                break
        else:
            return list(tensors)  # plain Tensors (the common case): no per-item checks
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(
            f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, not "
            f"{type(tensors).__name__}"
        )
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(
                f"{fn}(): argument 'tensors' (position 1) must be tuple of Tensors, but found "
                f"element of type {type(t).__name__} at pos {i}"
            )
    return list(tensors)


# ---------------------------------------------------------------------- cat, stack
class Cat(Function):
    node_name = "CatBackward0"

    @property
    def _next_inputs(self):  # every tensor, integer ones too (not the dim)
        return range(1, len(self.needs_input_grad))

    @staticmethod
    def forward(ctx, dim, *tensors):
        # (what ``cat`` does not take directly: mixed shapes, dtypes or Tensor subclasses)
        tensors = _tensor_list(tensors, "cat")  # raises PyTorch's TypeError
        backend = tensors[0]._backend
        d, arrays, np_dtype = _checked_arrays(ctx, tensors, dim)
        if not arrays:
            return Tensor._make(backend.xp.zeros((0,), dtype=np_dtype), backend)
        return Tensor._make(backend.xp.concatenate(arrays, axis=d), backend)

    @staticmethod
    def backward(ctx, grad):
        dim, out, start = ctx.dim, [None], 0
        for n in ctx.sizes:
            if n is None:
                out.append(grad._new(grad._backend.xp.zeros((0,), dtype=grad._data.dtype)))
                continue
            out.append(grad.narrow(dim, start, n))
            start += n
        return tuple(out)

    def _array_backward(self, grad):
        dim, out, start = self.dim, [None], 0
        for n in self.sizes:
            if n is None:
                out.append(self._backend.xp.zeros((0,), dtype=grad.dtype))
                continue
            out.append(grad[(slice(None),) * dim + (slice(start, start + n),)])
            start += n
        return tuple(out)


def _checked_arrays(ctx, tensors, dim) -> tuple:
    """``cat``'s dim, arrays and promoted dtype with PyTorch's checks, 0-d tensors (refused)
    and the legacy rule that skips 1-D empty tensors whatever their shape; sets ``ctx.dim``
    and ``ctx.sizes`` (None for a skipped tensor)."""
    np_dtype = tensors[0]._data.dtype
    for t in tensors:  # one dtype (the common case): no promotion to work out
        if t._data.dtype is not np_dtype:
            np_dtype = dt.result_type(*tensors).np
            break
    kept = [(i, t) for i, t in enumerate(tensors) if t._data.shape != (0,)]
    d = 0
    if kept:
        i0, first = kept[0]
        if first._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i0}) cannot be concatenated")
        ref = first._data.shape
        d = wrap_dim(dim, len(ref))
        for i, t in kept[1:]:
            shape = t._data.shape
            if len(shape) != len(ref):
                if not shape:
                    raise RuntimeError(
                        f"zero-dimensional tensor (at position {i}) cannot be concatenated"
                    )
                raise RuntimeError(
                    f"Tensors must have same number of dimensions: got {len(ref)} and {len(shape)}"
                )
            for k, (a, b) in enumerate(zip(ref, shape)):
                if k != d and a != b:
                    raise RuntimeError(
                        f"Sizes of tensors must match except in dimension {d}. Expected size {a} "
                        f"but got size {b} for tensor number {i} in the list."
                    )
    else:
        wrap_dim(dim, 1)
    ctx.dim = d
    ctx.sizes = [None if t._data.shape == (0,) else t._data.shape[d] for t in tensors]
    return d, [t._data.astype(np_dtype, copy=False) for _, t in kept], np_dtype


def _alike_arrays(tensors) -> list | None:
    """The arrays of ``tensors`` when they are plain Tensors of one shape (neither 0-d nor the
    legacy empty ``(0,)``), dtype and backend; None otherwise."""
    first = tensors[0]
    if first.__class__ is not Tensor:
        return None
    backend, ref = first._backend, first._data
    shape, np_dtype = ref.shape, ref.dtype
    if not shape or shape == (0,):
        return None
    arrays = []
    for t in tensors:
        if t.__class__ is not Tensor or t._backend is not backend:
            return None
        a = t._data
        if a.dtype is not np_dtype or a.shape != shape:
            return None
        arrays.append(a)
    return arrays


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate ``tensors`` along ``dim`` (all other sizes must match); the result has
    their promoted dtype."""
    if tensors.__class__ is not list and tensors.__class__ is not tuple:
        tensors = _tensor_list(tensors, "cat")
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    # Pieces alike (a model's step joins the same pieces over and over) take a direct path:
    # one pass over them, then the node recorded through ``record`` (as ``apply`` would, with
    # nothing of its generality: the forward is one backend call on arrays). The rest take
    # ``apply``, with PyTorch's checks and promotion.
    try:  # (free unless raised: a sparse tensor has no dense array to read)
        arrays = _alike_arrays(tensors)
        if arrays is None:
            return Cat.apply(dim, *tensors)
    except NoDenseArray:
        from ..sparse._math import cat as sparse_cat

        return sparse_cat(tensors, dim)
    shape = arrays[0].shape
    d = wrap_dim(dim, len(shape))
    backend = tensors[0]._backend
    out = Tensor._make(backend.xp.concatenate(arrays, axis=d), backend)
    if grad_state.enabled:
        for t in tensors:
            if t._requires_grad:
                args = (dim, *tensors)
                node = new_node(Cat, args)
                node.dim, node.sizes = d, [shape[d]] * len(arrays)
                record(node, args, (out,))
                break
    return out


concat = concatenate = cat


class Stack(Function):
    node_name = "StackBackward0"

    @property
    def _next_inputs(self):  # every tensor (not the dim and dtype)
        return range(2, len(self.needs_input_grad))

    @staticmethod
    def forward(ctx, dim, np_dtype, *tensors):
        ctx.dim = dim
        backend = tensors[0]._backend
        # Each array with the new dim (a view), joined along it: what xp.stack does, without
        # its 2.5 µs of Python checks (stack checked the shapes).
        key = (slice(None),) * dim + (None,)
        arrays = [t._data[key] if t._data.dtype is np_dtype else t._data.astype(np_dtype)[key]
                  for t in tensors]
        return Tensor._make(backend.xp.concatenate(arrays, axis=dim), backend)

    @staticmethod
    def backward(ctx, grad):
        return (None, None) + unbind(grad, ctx.dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join equally-shaped ``tensors`` along a new dim ``dim``."""
    tensors = _tensor_list(tensors, "stack")
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    ref = tensors[0]._data.shape
    d = wrap_dim(dim, len(ref) + 1)
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != ref:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got {list(ref)} at entry 0 and "
                f"{list(t._data.shape)} at entry {i}"
            )
    np_dtype = tensors[0]._data.dtype
    for t in tensors:  # one dtype (the common case): no promotion to work out
        if t._data.dtype is not np_dtype:
            np_dtype = dt.result_type(*tensors).np
            break
    return Stack.apply(d, np_dtype, *tensors)


def hstack(tensors) -> Tensor:
    """Concatenate along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [t.reshape(1) if t.ndim == 0 else t for t in _tensor_list(tensors, "hstack")]
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Concatenate along dim 0, 0-d and 1-D tensors first made rows."""
    tensors = _tensor_list(tensors, "vstack")
    return cat([t.unsqueeze(0) if t.ndim == 1 else t.reshape(1, 1) if t.ndim == 0 else t
                for t in tensors], 0)


# ---------------------------------------------------------------------- split, chunk, unbind
class Split(Function):
    node_name = "SplitWithSizesBackward0"

    @staticmethod
    def forward(ctx, x, dim, sizes):
        ctx.dim = dim
        data, lead, start, out = x._data, (slice(None),) * dim, 0, []
        for n in sizes:
            out.append(x._view(data[lead + (slice(start, start + n),)]))
            start += n
        return tuple(out)

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.dim), None, None


class Unbind(Function):
    node_name = "UnbindBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        data, lead = x._data, (slice(None),) * dim
        return tuple(x._view(data[lead + (i, ...)]) for i in range(data.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads, ctx.dim), None


class SplitEqual(Split):
    node_name = "SplitBackward0"  # PyTorch's node of split by one size (and of chunk)


def _split(x: Tensor, dim: int, sizes, cls=Split) -> tuple:
    return tuple([track(p, x) for p in cls.apply_unary(x, dim, tuple(sizes))])


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Views of consecutive pieces along ``dim``: of ``split_size`` each (the last may be
    smaller), or of the sizes in a list ``split_size_or_sections``."""
    if tensor._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    d = wrap_dim(dim, tensor._data.ndim)
    size = tensor._data.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [int(n) for n in split_size_or_sections]
        if any(n < 0 for n in sizes):
            raise RuntimeError(
                "split_with_sizes expects split_sizes have only non-negative entries, but got "
                f"split_sizes={sizes}"
            )
        if sum(sizes) != size:
            raise RuntimeError(
                f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's "
                f"size at dimension {dim}), but got split_sizes={sizes}"  # (as given)
            )
        return _split(tensor, d, sizes)
    step = int(split_size_or_sections)
    if step < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={step}")
    if step == 0:
        if size:
            raise RuntimeError(
                f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}"
            )
        return _split(tensor, d, [0], SplitEqual)
    count = max(1, math.ceil(size / step))
    return _split(tensor, d, [min(step, size - i * step) for i in range(count)], SplitEqual)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Split into ``chunks`` views of equal size along ``dim`` (the last may be smaller, and
    there may be fewer)."""
    if input._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    if size == 0:
        return _split(input, d, [0] * chunks)
    return split(input, math.ceil(size / chunks), d)


def unbind(input: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, each without that dim (views)."""
    if input._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input._data.ndim)
    return tuple([track(p, input) for p in Unbind.apply_unary(input, d)])


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The view of ``length`` entries from ``start`` along ``dim``."""
    return Slice.apply_view(input, _narrowed(input, dim, start, length), None)


class NarrowCopy(Index):
    """``narrow_copy``: the entries ``narrow`` views, copied (its backward is the view's)."""

    node_name = "NarrowCopyBackward0"

    @staticmethod
    def forward(ctx, x, basic, advanced):
        return x._new(Index.view_array(ctx, x, (basic, advanced)).copy())


def narrow_copy(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """A copy of ``length`` entries from ``start`` along ``dim`` (``narrow``'s, not a view)."""
    return NarrowCopy.apply(input, _narrowed(input, dim, start, length), None)


def _narrowed(input: Tensor, dim: int, start: int, length: int) -> tuple:
    """``narrow``'s checks, then its basic index key."""
    if input._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    if isinstance(start, Tensor):
        start = start.item()
    d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -size <= start <= size:
        raise IndexError(
            f"start out of range (expected to be in range of [{-size}, {size}], but got {start})"
        )
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return (slice(None),) * d + (slice(start, start + length),)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The view at ``index`` along ``dim``, without that dim."""
    if input._data.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(
            f"select(): index {index} out of range for tensor of size {list(input.shape)} at "
            f"dimension {d}"
        )
    key = (slice(None),) * d + (index,)
    return Select.apply_view(input, key, None)


METHODS = {
    "split": split, "chunk": chunk, "unbind": unbind, "narrow": narrow, "select": select,
    "narrow_copy": narrow_copy,
}
