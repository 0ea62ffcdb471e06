"""Parsing an indexing key into its basic part (ints, slices, None, Ellipsis: a view) and its
advanced part (index arrays from integer and boolean tensors, lists and NumPy arrays), with
PyTorch's rules and error messages. ``ops/indexing.py`` and the in-place ops apply the result.
"""

from __future__ import annotations

import operator

import numpy as np

from .. import _capture
from .._warnings import warn_user_once
from ._util import Tensor

_BAD_INDEX = (
    "only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
    "indices (got {})"
)
_BAD_DTYPE = "tensors used as indices must be long, int, byte or bool tensors"


def _sequence_as_tuple(seq: list) -> bool:
    """PyTorch's legacy rule: a list holding tensors, sequences, slices, None or Ellipsis is
    read as a tuple of indices (``x[[[0, 1], [1, 0]]]`` is ``x[[0, 1], [1, 0]]``)."""
    if len(seq) >= 32:
        return False
    return any(isinstance(s, (Tensor, list, tuple, slice, np.ndarray)) or s is None
               or s is Ellipsis for s in seq)


def _index_array(item, backend):
    """An index given as a Tensor, NumPy array or list, as an array on ``backend``."""
    if isinstance(item, Tensor):
        arr = item._data
        if item._backend is not backend:
            arr = backend.asarray(item._backend.to_numpy(arr))
    else:
        host = np.asarray(item)
        if host.size == 0 and host.dtype.kind == "f":  # an empty list
            host = host.astype(np.int64)
        arr = backend.asarray(host)
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:  # PyTorch's legacy mask
        warn_user_once("indexing with dtype torch.uint8 is now deprecated, please use a dtype "
                       "torch.bool instead.")
        return arr.astype(bool)
    if kind == "b":
        return arr
    if arr.dtype != np.int64 and arr.dtype != np.int32:  # PyTorch's only integer index types
        raise IndexError(_BAD_DTYPE)
    return arr


def _checked_positions(arr, size: int, dim: int, xp, empty: bool = False):
    """Int index array -> int64 in ``[0, size)``; out-of-range raises IndexError (clamped
    instead when the indexed region is ``empty`` and the dim is not: nothing is read)."""
    arr = arr.astype(np.int64, copy=False)
    if arr.size == 0:
        return arr
    if empty and size:
        return xp.clip(arr, -size, size - 1) % size
    lo, hi = int(arr.min()), int(arr.max())
    if lo < -size or hi >= size:
        bad = int(arr[(arr < -size) | (arr >= size)].reshape(-1)[0])
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {size}")
    return xp.where(arr < 0, arr + size, arr) if lo < 0 else arr


def _plain_slice(item: slice) -> bool:
    step = item.step
    return ((item.start is None or item.start.__class__ is int)
            and (item.stop is None or item.stop.__class__ is int)
            and (step is None or (step.__class__ is int and step > 0)))


def _slice(item: slice) -> slice:
    start, stop, step = (None if v is None else operator.index(v)
                         for v in (item.start, item.stop, item.step))
    if step is not None and step <= 0:
        raise ValueError("step must be greater than zero")
    return slice(start, stop, step)


def normalize_key(x: Tensor, key):
    """``(basic, advanced)``: the basic part (a tuple for ``data[basic]``, a view) and the
    advanced part (a tuple for ``view[advanced]`` or None), validated against ``x``."""
    shape = x._data.shape
    if shape and key.__class__ is int and -shape[0] <= key < shape[0]:
        return (key,), None  # the common cases, without the general walk below
    if shape and key.__class__ is slice and _plain_slice(key):
        return (key,), None
    if key.__class__ is tuple and len(key) <= len(shape):  # ints in range: x[i, j]
        for k, n in zip(key, shape):
            if k.__class__ is not int or not -n <= k < n:
                break
        else:
            return key, None
    if isinstance(key, list) and _sequence_as_tuple(key):
        key = tuple(key)
    elif not isinstance(key, tuple):
        if _scalar_int(key):  # x[t] (PyTorch reads a 0-d integer tensor as the int it holds)
            return normalize_key(x, _as_int(key))
        key = (key,)
    for k in key:
        if _scalar_int(k):  # x[t, u] is the view x[1, 2] (a key of ints takes the path above)
            return normalize_key(x, tuple([_as_int(k) if _scalar_int(k) else k for k in key]))
    backend = x._backend
    ndim = len(shape)

    items = []  # (kind, value): kinds int, slice, none, ellipsis, bool, array, mask
    used = 0
    for item in key:
        if item is None:
            items.append(("none", None))
        elif item is Ellipsis:
            if any(k == "ellipsis" for k, _ in items):
                raise IndexError("an index can only have a single ellipsis ('...')")
            items.append(("ellipsis", None))
        elif isinstance(item, (bool, np.bool_)):
            items.append(("bool", bool(item)))
        elif isinstance(item, (int, np.integer)):
            items.append(("int", int(item)))
            used += 1
        elif isinstance(item, slice):
            items.append(("slice", _slice(item)))
            used += 1
        elif isinstance(item, (Tensor, np.ndarray, list, tuple)):
            arr = _index_array(item, backend)
            if arr.dtype.kind == "b":
                if arr.ndim == 0:
                    items.append(("bool", bool(arr)))
                    continue
                items.append(("mask", arr))
                used += arr.ndim
            else:
                items.append(("array", arr))
                used += 1
        else:
            raise IndexError(_BAD_INDEX.format(type(item).__name__))
    if used > ndim:
        if ndim == 0:
            raise IndexError(
                "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number"
            )
        raise IndexError(f"too many indices for tensor of dimension {ndim}")

    basic, advanced = [], []
    has_advanced = False
    dim = 0
    xp = backend.xp
    for kind, value in items:
        if kind == "ellipsis":
            n = ndim - used
            basic.append(Ellipsis)
            advanced.extend([slice(None)] * n)
            dim += n
        elif kind == "none":
            basic.append(None)
            advanced.append(slice(None))
        elif kind == "bool":  # a new dim of size 1 (True) or 0 (False); a copy, as PyTorch
            basic.append(None)
            advanced.append(xp.zeros(int(value), dtype=np.int64))
            has_advanced = True
        elif kind == "int":
            size = shape[dim]
            if not -size <= value < size:
                raise IndexError(
                    f"index {value} is out of bounds for dimension {dim} with size {size}"
                )
            basic.append(value)
            dim += 1
        elif kind == "slice":
            basic.append(value)
            advanced.append(slice(None))
            dim += 1
        elif kind == "array":
            basic.append(slice(None))
            advanced.append((value, shape[dim], dim))  # checked below
            has_advanced = True
            dim += 1
        else:  # a boolean mask over the next value.ndim dims
            for j, n in enumerate(value.shape):
                if n != shape[dim + j]:
                    raise IndexError(
                        f"The shape of the mask {list(value.shape)} at index {j} does not "
                        f"match the shape of the indexed tensor {list(shape)} at index {dim + j}"
                    )
            basic.extend([slice(None)] * value.ndim)
            advanced.extend(xp.nonzero(value))
            has_advanced = True
            dim += value.ndim
    if not has_advanced:
        return tuple(basic), None
    # As PyTorch, positions are checked against their dim only where elements are read: an
    # empty region (a 0:0 slice elsewhere) reads none, so any position of a non-empty dim does.
    empty = 0 in region(np.broadcast_to(np.empty((), np.int8), shape), tuple(basic)).shape
    advanced = [_checked_positions(a[0], a[1], a[2], xp, empty) if a.__class__ is tuple else a
                for a in advanced]
    return tuple(basic), tuple(advanced)


_SCALAR_INDEX_CHARS = frozenset("bhilqpHILQP")  # the integer dtypes but uint8


def _scalar_int(item) -> bool:
    """Whether ``item`` is a 0-d integer tensor (not uint8, PyTorch's legacy mask), which
    PyTorch's indexing reads as the int it holds: ``x[t]`` is then a view, as ``x[1]``."""
    if not isinstance(item, Tensor):
        return False
    arr = item._data
    return not arr.ndim and arr.dtype.char in _SCALAR_INDEX_CHARS


def _as_int(item: Tensor) -> int:
    rec = _capture.recorder
    if rec is not None and not rec.suspended:  # the value decides which view: not replayable
        rec.cannot_replay("indexing with a 0-d tensor reads its value on the host")
    return int(item._backend.to_numpy(item._data))


def region(data, basic):
    """``data[basic]`` as an array view: a trailing Ellipsis keeps NumPy from returning a
    scalar when the ints index every dim."""
    if len(basic) < data.ndim or Ellipsis in basic:  # a dim is left: NumPy returns a view
        return data[basic]
    return data[basic + (Ellipsis,)]
