"""The size arguments of the shape ops: parsing (``f(2, 3)``, ``f((2, 3))``, tensors),
``-1`` inference with a cache for plain-int shapes, whether a reshape can be a view (PyTorch's
stride rule), and ``expand``'s checked target shape."""

from __future__ import annotations

import math

import numpy as np

from ._util import Tensor


def _shape_args(shape) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if n.__class__ is not int:
            break
    else:
        return shape  # plain ints, the common case
    out = []
    for n in shape:
        if isinstance(n, Tensor):
            n = n.item()
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f"shape must be a sequence of ints, got {type(n).__name__}")
        out.append(int(n))
    return tuple(out)


_RESOLVED: dict = {}  # (shape of plain ints, numel) -> the resolved shape: view/reshape's cache


def _resolve_shape(shape: tuple, numel: int) -> tuple:
    """``view``/``reshape``'s size arguments as a checked shape with ``-1`` resolved; shapes of
    plain ints are remembered (a model reshapes to the same few shapes every step)."""
    if len(shape) == 1 and shape[0].__class__ in (tuple, list):
        shape = tuple(shape[0])
    for n in shape:
        if n.__class__ is not int:
            return _infer_shape(_shape_args(shape), numel)
    key = (shape, numel)
    resolved = _RESOLVED.get(key)
    if resolved is None:
        resolved = _infer_shape(shape, numel)
        if len(_RESOLVED) >= 4096:
            _RESOLVED.clear()
        _RESOLVED[key] = resolved
    return resolved


def _infer_shape(shape: tuple, numel: int) -> tuple:
    """Resolve one ``-1`` in ``shape`` and check the element count."""
    if -1 in shape:
        at = shape.index(-1)
        rest = shape[:at] + shape[at + 1:]
        if -1 in rest:
            raise RuntimeError("only one dimension can be inferred")
    else:
        at, rest = None, shape
    if rest and min(rest) < 0:
        raise RuntimeError(f"invalid shape dimension {min(rest)}")
    known = math.prod(rest)
    if at is None:
        if known != numel:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        return shape
    if known == 0:
        raise RuntimeError(
            f"cannot reshape tensor of {numel} elements into shape {list(shape)} because the "
            "unspecified dimension size -1 can be any value and is ambiguous"
        )
    if numel % known:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape[:at] + (numel // known,) + shape[at + 1:]


def _viewable(data, shape: tuple) -> bool:
    """Whether ``data`` (non-empty) can take ``shape`` without a copy: PyTorch's
    ``computeStride``, which groups the old dims into contiguous chunks that the new dims must
    each fall inside."""
    old_shape, old_strides = data.shape, data.strides
    view_d = len(shape) - 1
    chunk_stride = old_strides[-1] if old_strides else data.itemsize
    tensor_numel = view_numel = 1
    for d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[d]
        if d == 0 or (old_shape[d - 1] != 1 and old_strides[d - 1] != tensor_numel * chunk_stride):
            while view_d >= 0 and (view_numel < tensor_numel or shape[view_d] == 1):
                view_numel *= shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return False
            if d > 0:
                chunk_stride = old_strides[d - 1]
                tensor_numel = view_numel = 1
    return view_d == -1


def _expanded_shape(sizes: tuple, have: tuple) -> tuple:
    """``expand``'s target shape, checked against the input's shape ``have``."""
    if len(sizes) < len(have):
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(have)}}}, size={list(sizes)}): the number of sizes "
            f"provided ({len(sizes)}) must be greater or equal to the number of dimensions in the "
            f"tensor ({len(have)})"
        )
    lead = len(sizes) - len(have)
    shape = []
    for i, n in enumerate(sizes):
        cur = have[i - lead] if i >= lead else None
        if n == -1:
            if cur is None:
                raise RuntimeError(
                    f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                    f"non-existing dimension {i}"
                )
            n = cur
        elif cur is not None and cur != n and cur != 1:
            raise RuntimeError(
                f"The expanded size of the tensor ({n}) must match the existing size ({cur}) at "
                f"non-singleton dimension {i}.  Target sizes: {list(sizes)}.  Tensor sizes: "
                f"{list(have)}"
            )
        shape.append(n)
    return tuple(shape)
