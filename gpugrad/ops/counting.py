"""Counting and searching (not differentiable): ``unique``, ``unique_consecutive``,
``bincount``, ``searchsorted``, ``bucketize``, ``isin``, ``argwhere`` (the histograms are
``histograms.py``).

All run on arrays: ``unique`` is a stable sort and a comparison of neighbours (NaN never equals
NaN, so each NaN is its own value, as in PyTorch).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from .. import _dtype as dt
from .._warnings import warn_user_once
from ..autograd.function import Function
from ._util import Tensor, check_range, check_tensor, wrap_dim
from .indexing import nonzero
from .sorting import _order
from .statistics import _torch_name

__all__ = ["unique", "unique_consecutive", "bincount", "searchsorted", "bucketize", "isin",
           "argwhere"]


# ---------------------------------------------------------------------- unique
def _as_rows(xp, data, axis):
    """``data`` with ``axis`` first and the rest flattened: one row per slice."""
    moved = xp.moveaxis(data, axis, 0)
    return moved.reshape(moved.shape[0], math.prod(moved.shape[1:])), moved.shape


def _row_order(backend, rows):
    """Stable indices sorting the rows of a 2-D array lexicographically (a stable sort per
    column, last column first)."""
    xp = backend.xp
    order = xp.arange(rows.shape[0], dtype=np.int64)
    for col in range(rows.shape[1] - 1, -1, -1):
        step = _order(backend, xp.ascontiguousarray(rows[order, col]), 0, False)
        order = order[step]
    return order


def _runs(input: Tensor, rows, order, return_inverse, return_counts, shape, axis, node):
    """The first row of each run of equal rows of ``rows[order]`` (through ``node``, the op's
    ``Unique`` class), and the inverse indices and counts asked for."""
    xp = input._backend.xp
    s = rows[order]
    n = s.shape[0]
    if n == 0:
        starts = xp.zeros(0, np.int64)
        group = xp.zeros(0, np.int64)
    else:
        differs = (s[1:] != s[:-1]).any(axis=1) if s.shape[1] else xp.zeros(n - 1, bool)
        new_run = xp.concatenate([xp.ones(1, bool), differs])
        starts = xp.nonzero(new_run)[0].astype(np.int64)
        group = xp.cumsum(new_run.astype(np.int64)) - 1
    values = s[starts]
    if axis is None:
        out_values = values.reshape(-1)
    else:
        out_values = xp.moveaxis(values.reshape((values.shape[0],) + shape[1:]), 0, axis)
    result = [node.apply(input, xp.ascontiguousarray(out_values))]
    if return_inverse:
        inverse = group[xp.argsort(order)]  # group of each original position
        result.append(input._new(inverse.reshape(input._data.shape if axis is None else (n,))))
    if return_counts:
        ends = xp.concatenate([starts[1:], xp.asarray([n], np.int64)])
        result.append(input._new((ends - starts).astype(np.int64)))
    return result[0] if len(result) == 1 else tuple(result)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
           return_counts: bool = False, dim=None):
    """The distinct values of ``input`` (flattened; or the distinct slices along ``dim``), in
    ascending order; with ``return_inverse`` the index of each entry's value, with
    ``return_counts`` how often each value occurs. NaN entries are each distinct."""
    check_tensor(input, "unique")
    backend = input._backend
    data = input._data
    if dim is None:
        rows, shape, axis = data.reshape(-1, 1), None, None
        order = _order(backend, rows[:, 0], 0, False)
    else:
        axis = wrap_dim(dim, data.ndim)
        rows, shape = _as_rows(backend.xp, data.reshape(1) if data.ndim == 0 else data, axis)
        order = _row_order(backend, rows)
    node = UniqueDim if dim is not None else Unique
    return _runs(input, rows, order, return_inverse, return_counts, shape, axis, node)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim=None):
    """``input`` with each run of equal consecutive values (or slices along ``dim``) reduced
    to one; inverse indices and counts as in ``unique``."""
    check_tensor(input, "unique_consecutive")
    xp = input._backend.xp
    data = input._data
    if dim is None:
        rows, shape, axis = data.reshape(-1, 1), None, None
    else:
        axis = wrap_dim(dim, data.ndim)
        rows, shape = _as_rows(xp, data.reshape(1) if data.ndim == 0 else data, axis)
    order = xp.arange(rows.shape[0], dtype=np.int64)
    return _runs(input, rows, order, return_inverse, return_counts, shape, axis,
                 UniqueConsecutive)


class Unique(Function):
    """The distinct values, computed already: PyTorch has no derivative for them, so values of
    an input that requires grad get this node, which fails in backward (rather than leaving
    the input silently without a gradient). ``op``: the name PyTorch's error gives."""

    node_name = "Unique2Backward0"
    op = "_unique2"

    @staticmethod
    def forward(ctx, x, values):
        return x._new(values)

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError(f"the derivative for '{ctx.op}' is not implemented.")


class UniqueDim(Unique):
    node_name = "UniqueDimBackward0"
    op = "unique_dim"


class UniqueConsecutive(Unique):
    node_name = "UniqueConsecutiveBackward0"
    op = "unique_consecutive"


# ---------------------------------------------------------------------- bincount
def bincount(input: Tensor, weights=None, minlength: int = 0) -> Tensor:
    """How often each value ``0..max`` occurs in the 1-D non-negative integer ``input`` (at
    least ``minlength`` bins); with ``weights``, their sums instead of counts."""
    check_tensor(input, "bincount")
    data = input._data
    if data.dtype.kind not in "iu":
        raise NotImplementedError(f"\"bincount_cpu\" not implemented for '{_torch_name(input)}'")
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if data.ndim != 1:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None:
        check_tensor(weights, "bincount", "weights")
        if weights._data.ndim != 1 or weights._data.shape[0] != data.shape[0]:
            raise RuntimeError("weights should be 1-d and have the same length as input")
    idx = data.astype(np.int64)
    check_range(idx, 0, 2**62, lambda v: RuntimeError(
        "bincount only supports 1-d non-negative integral inputs."))
    xp = input._backend.xp
    size = builtins.max(int(minlength), int(idx.max()) + 1 if idx.size else 0)
    if weights is None:
        return input._new(xp.bincount(idx, minlength=size).astype(np.int64))
    w = weights._data
    out_dtype = w.dtype if w.dtype in (np.float32, np.float64) else np.dtype(np.float64)
    out = xp.zeros(size, dtype=out_dtype)
    input._backend.add_at(out, (idx,), w.astype(out_dtype))
    return Bincount.apply(weights, input._new(out))


class Bincount(Function):
    """The weighted counts, computed already: PyTorch has no derivative for them (its node is
    ``NotImplemented``), so one that requires grad reaches backward and fails there, rather
    than leaving the weights silently without a gradient."""

    node_name = "torch::autograd::NotImplemented"

    @staticmethod
    def forward(ctx, weights, counts):
        return counts

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::bincount is not implemented")


# ---------------------------------------------------------------------- searching
def _as_array(x, like: Tensor):
    """A Tensor's array, or a number as a 0-d array on ``like``'s backend."""
    if isinstance(x, Tensor):
        return x._data
    return like._backend.xp.asarray(x)


def searchsorted(sorted_sequence: Tensor, values, *, out_int32: bool = False,
                 right: bool = False, side=None, sorter=None) -> Tensor:
    """For each of ``values``, the index where it would be inserted into ``sorted_sequence``
    (sorted along its last dim; 1-D, or matching ``values`` in the leading dims) to keep it
    sorted: before equal entries, or after them with ``right=True`` / ``side='right'``."""
    check_tensor(sorted_sequence, "searchsorted", "sorted_sequence")
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but "
                               f"got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, "
                               "got side of left while right was True")
        right = side == "right"
    seq = sorted_sequence._data
    vals = _as_array(values, sorted_sequence)
    xp = sorted_sequence._backend.xp
    if sorter is not None:
        check_tensor(sorter, "searchsorted", "sorter")
        if sorter._data.shape != seq.shape:
            raise RuntimeError("torch.searchsorted(): boundary and sorter must have the same "
                               f"size, but got boundary tensor {list(seq.shape)}and got sorter "
                               f"tensor {list(sorter._data.shape)}")
        n = seq.shape[-1] if seq.ndim else 1
        check_range(sorter._data, 0, n, lambda v: RuntimeError(
            "torch.searchsorted(): sorter index out of range"))
        seq = xp.take_along_axis(seq, sorter._data.astype(np.int64), axis=-1)
    if seq.ndim != 1 and (seq.shape[:-1] != vals.shape[:-1] or vals.ndim != seq.ndim):
        raise RuntimeError(
            "torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
            "dimensions of boundaries tensor and input value tensor must match, but we got "
            f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}")
    for what, t in (("input value", values), ("boundary", sorted_sequence)):
        if isinstance(t, Tensor) and not t.is_contiguous():  # (PyTorch's hint, once a program)
            warn_user_once(f"torch.searchsorted(): {what} tensor is non-contiguous, this will "
                           "lower the performance due to extra data copy when converting "
                           "non-contiguous tensor to contiguous, please use contiguous "
                           f"{what} tensor if possible. This message will only appear once "
                           "per program.")
    how = "right" if right else "left"
    if seq.ndim == 1:
        out = xp.searchsorted(seq, vals, side=how)
    else:
        flat_seq = seq.reshape(-1, seq.shape[-1])
        flat_vals = vals.reshape(-1, vals.shape[-1])
        out = xp.stack([xp.searchsorted(flat_seq[k], flat_vals[k], side=how)
                        for k in builtins.range(flat_seq.shape[0])]).reshape(vals.shape)
    out = xp.asarray(out).astype(np.int32 if out_int32 else np.int64)
    return sorted_sequence._new(out)


def bucketize(input, boundaries: Tensor, *, out_int32: bool = False,
              right: bool = False) -> Tensor:
    """For each entry of ``input``, the index of its bucket among the 1-D sorted
    ``boundaries``: ``boundaries[i-1] < x <= boundaries[i]`` (``<=`` / ``<`` with
    ``right=True``)."""
    check_tensor(boundaries, "bucketize", "boundaries")
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim("
                           f"{boundaries._data.ndim})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right)


def isin(elements, test_elements, *, assume_unique: bool = False,
         invert: bool = False) -> Tensor:
    """Whether each of ``elements`` is among ``test_elements`` (either may be a number);
    ``invert`` negates. The result has ``elements``' shape (bool)."""
    like = elements if isinstance(elements, Tensor) else test_elements
    if not isinstance(like, Tensor):
        raise TypeError("isin(): expected elements or test_elements to be a Tensor")
    xp = like._backend.xp
    a, b = _as_array(elements, like), _as_array(test_elements, like)
    common = dt.promote_types(dt.to_dtype(a.dtype), dt.to_dtype(b.dtype)).np
    found = xp.isin(a.astype(common), b.astype(common).reshape(-1),
                    assume_unique=assume_unique, invert=invert)
    return like._new(xp.asarray(found, dtype=bool).reshape(a.shape))


def argwhere(input: Tensor) -> Tensor:
    """The ``(n, ndim)`` int64 indices of the nonzero entries (``nonzero``)."""
    check_tensor(input, "argwhere")
    return nonzero(input)


METHODS = {"unique": unique, "unique_consecutive": unique_consecutive, "bincount": bincount,
           "argwhere": argwhere}
