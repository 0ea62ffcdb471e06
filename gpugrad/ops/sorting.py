"""Sorting: ``sort``, ``argsort``, ``topk``.

The order is found on arrays (a stable argsort; not differentiable), then the values are
picked with ``gather`` at those indices, so the gradient goes back to the indices exactly as
gather's does (scatter-add, differentiable again under ``create_graph``). NaN sorts as the
largest value, as in PyTorch. ``sort`` / ``topk`` return ``(values, indices)`` as
``return_types.sort`` / ``topk``, like ``max(dim)``.
"""

from __future__ import annotations

import numpy as np

from ._return_types import result, return_types
from ._util import Tensor, check_tensor, int_arg, wrap_dim
from .indexing import Gather

__all__ = ["sort", "argsort", "topk", "msort"]

result("sort")
result("topk")


class Sort(Gather):
    node_name = "SortBackward0"


class Topk(Gather):
    node_name = "TopkBackward0"


def _order(backend, data, axis: int, descending: bool):
    """Stable int64 indices that sort ``data`` along ``axis``. Descending runs the ascending
    sort on the reversed array and reverses back, so equal values keep their original order
    and NaN (last ascending) comes first."""
    xp = backend.xp
    if data.dtype.kind == "b":
        data = data.view(np.uint8)
    if not descending:
        return xp.argsort(data, axis=axis, kind="stable").astype(np.int64, copy=False)
    n = data.shape[axis]
    rev = xp.flip(xp.argsort(xp.flip(data, axis=axis), axis=axis, kind="stable"), axis=axis)
    return (n - 1 - rev).astype(np.int64, copy=False)


def _sorted(cls, input: Tensor, axis: int, descending: bool, k: int | None):
    """``(values, indices)`` of the first ``k`` (all when None) in sorted order along ``axis``."""
    backend = input._backend
    scalar = input._data.ndim == 0
    x = input.reshape(1) if scalar else input
    idx = _order(backend, x._data, axis, descending)
    if k is not None:
        idx = idx[(slice(None),) * axis + (slice(0, k),)]
    indices = Tensor._make(backend.xp.ascontiguousarray(idx), backend)
    values = cls.apply(x, axis, indices)
    if scalar:
        values, indices = values.reshape(()), indices.reshape(())
    return values, indices


def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False):
    """Sorts ``input`` along ``dim``; returns ``(values, indices)`` (indices int64). The sort
    is always stable: equal values keep their order."""
    check_tensor(input, "sort")
    axis = wrap_dim(dim, input._data.ndim)
    values, indices = _sorted(Sort, input, axis, bool(descending), None)
    return return_types.sort(values, indices)


def argsort(input: Tensor, dim: int = -1, descending: bool = False, *,
            stable: bool = False) -> Tensor:
    """The int64 indices that sort ``input`` along ``dim`` (stable; not differentiable)."""
    check_tensor(input, "argsort")
    axis = wrap_dim(dim, input._data.ndim)
    data = input._data
    idx = _order(input._backend, data.reshape(1) if data.ndim == 0 else data, axis,
                 bool(descending))
    return input._new(idx.reshape(data.shape))


def msort(input: Tensor) -> Tensor:
    """``input`` sorted along its first dim."""
    return sort(input, 0).values


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or, with ``largest=False``, smallest) entries along ``dim``:
    ``(values, indices)``, always in sorted order (which ``sorted=False`` also allows)."""
    check_tensor(input, "topk")
    k = int_arg(k, "topk", "k")
    data = input._data
    axis = wrap_dim(dim, data.ndim)
    if data.dtype.kind == "b":
        raise RuntimeError("topk does not support bool dtypes")
    size = data.shape[axis] if data.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    values, indices = _sorted(Topk, input, axis, bool(largest), int(k))
    return return_types.topk(values, indices)


METHODS = {"sort": sort, "argsort": argsort, "topk": topk, "msort": msort}
