"""Order statistics: ``median``, ``nanmedian``, ``kthvalue``, ``mode``, ``quantile``,
``nanquantile``.

Each finds positions on arrays (a stable sort along the dim, NaN last; not differentiable) and
picks the values with ``gather`` there, so the gradient goes to the picked entry as PyTorch's
value-selecting reductions send it. The full ``median()`` / ``nanmedian()`` share the gradient
evenly among the entries equal to the result, as PyTorch does. ``quantile`` interpolates
between two gathered order statistics (``below + w * (above - below)``), so its gradient
splits between the two as PyTorch's ``lerp`` does.
"""

from __future__ import annotations

import numpy as np

from .. import _capture
from .._dtype import FLOAT_KINDS
from ..autograd.function import Function
from ._return_types import result, return_types
from ._util import Tensor, check_tensor, int_arg, wrap_dim
from .indexing import Gather, ScatterAdd
from .scans import scan_last
from .sorting import _order

__all__ = ["median", "nanmedian", "kthvalue", "mode", "quantile", "nanquantile"]

for _name in ("median", "nanmedian", "kthvalue", "mode"):
    result(_name)


class Picked(Function):
    """``x``'s entries at ``index`` (an int64 array keeping ``axis``) along ``axis``, that dim
    dropped unless ``keepdim``: one node, as PyTorch's value-selecting reductions. A 0-d ``x``
    is its own pick."""

    @staticmethod
    def forward(ctx, x, axis, index, keepdim):
        data = x._data
        ctx.shape, ctx.axis, ctx.keepdim = data.shape, axis, keepdim
        ctx.index = index
        if data.ndim == 0:
            return x._new(data.copy())
        out = x._backend.gather(data, axis, index)
        return x._new(out if keepdim else out.squeeze(axis))

    @staticmethod
    def backward(ctx, grad):
        if not ctx.shape:
            return grad.reshape(()), None, None, None
        if not ctx.keepdim:
            grad = grad.unsqueeze(ctx.axis)
        index = Tensor._make(ctx.index, grad._backend)
        return ScatterAdd.apply(grad, ctx.shape, ctx.axis, index), None, None, None


class MedianDim(Picked):
    node_name = "MedianBackward1"


class NanmedianDim(Picked):
    node_name = "NanmedianBackward1"


class Kthvalue(Picked):
    node_name = "KthvalueBackward0"


class Mode(Picked):
    node_name = "ModeBackward0"


class MedianAll(Function):
    """The value at a flat position; the gradient shared evenly among entries equal to it
    (NaN counts as equal to NaN)."""

    node_name = "MedianBackward0"

    @staticmethod
    def forward(ctx, x, value):
        xp = x._backend.xp
        data = x._data
        if data.dtype.kind in FLOAT_KINDS:
            same = xp.where(xp.isnan(value), xp.isnan(data), data == value)
        else:
            same = data == value
        ctx.weights = same.astype(data.dtype) / same.sum()
        return x._new(value)

    @staticmethod
    def backward(ctx, grad):
        return grad * grad._new(ctx.weights), None


class NanmedianAll(MedianAll):
    node_name = "NanmedianBackward0"


def _nan_count(xp, sorted_data, axis):
    """NaNs per slice (0 for non-float arrays), keeping ``axis``."""
    if sorted_data.dtype.kind not in FLOAT_KINDS:
        return xp.zeros(sorted_data.shape[:axis] + (1,) + sorted_data.shape[axis + 1:], np.int64)
    return xp.isnan(sorted_data).sum(axis=axis, keepdims=True)


def _check_dtype(name: str, input: Tensor) -> None:
    if input._data.dtype.kind == "b":
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'Bool\'')


def _pick(cls, input: Tensor, axis: int, keepdim: bool, position):
    """``(values, indices)`` of the order statistic at ``position(sorted, n, axis)`` (an int64
    array keeping ``axis``) along ``axis``; a 0-d input is a one-element slice."""
    backend = input._backend
    xp = backend.xp
    data = input._data
    if data.ndim == 0:
        return cls.apply(input, 0, None, keepdim), input._new(xp.zeros((), np.int64))
    order = _order(backend, data, axis, False)
    if data.size == 0:
        idx = order[(slice(None),) * axis + (slice(0, min(1, data.shape[axis])),)]
    else:
        sorted_data = xp.take_along_axis(data, order, axis=axis)
        idx = xp.take_along_axis(order, position(sorted_data, data.shape[axis], axis), axis=axis)
    return _picked(cls, input, axis, xp.ascontiguousarray(idx), keepdim)


def _picked(cls, input: Tensor, axis: int, idx, keepdim: bool):
    values = cls.apply(input, axis, idx, keepdim)
    return values, input._new(idx if keepdim else idx.squeeze(axis))


def _check_reduced_size(name: str, input: Tensor, axis: int) -> None:
    shape = input._data.shape
    if shape and shape[axis] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")


def _median_position(ignore_nan: bool, xp):
    def position(sorted_data, n, axis):
        nans = _nan_count(xp, sorted_data, axis)
        if ignore_nan:  # the lower median of the numbers; NaN (position 0) when there are none
            return xp.maximum(n - nans - 1, 0) // 2
        return xp.where(nans > 0, n - nans, (n - 1) // 2)  # the first NaN, if any
    return position


def _median(name, cls_all, cls_dim, input, dim, keepdim, ignore_nan):
    check_tensor(input, name)
    _check_dtype("median" if name == "median" else "nanmedian", input)
    xp = input._backend.xp
    if dim is None:
        flat = input.reshape(-1)
        data = flat._data
        if data.size == 0:
            return cls_all.apply(input, xp.full((), np.nan, dtype=data.dtype))
        order = _order(input._backend, data, 0, False)
        sorted_data = xp.take_along_axis(data, order, axis=0)
        pos = _median_position(ignore_nan, xp)(sorted_data, data.size, 0)
        value = xp.take_along_axis(sorted_data, pos.reshape(1), axis=0).reshape(())
        return cls_all.apply(input, value)
    axis = wrap_dim(dim, input._data.ndim)
    _check_reduced_size(name, input, axis)
    values, indices = _pick(cls_dim, input, axis, keepdim, _median_position(ignore_nan, xp))
    return getattr(return_types, name)(values, indices)


def median(input: Tensor, dim=None, keepdim: bool = False):
    """The lower median of all elements (NaN if any is NaN); or along ``dim``,
    ``(values, indices)`` of the lower medians."""
    return _median("median", MedianAll, MedianDim, input, dim, keepdim, False)


def nanmedian(input: Tensor, dim=None, keepdim: bool = False):
    """``median`` ignoring NaN (NaN only where a slice holds nothing else)."""
    return _median("nanmedian", NanmedianAll, NanmedianDim, input, dim, keepdim, True)


def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """``(values, indices)`` of the ``k``-th smallest element (1-based) along ``dim``; NaN
    counts as the largest value."""
    check_tensor(input, "kthvalue")
    k = int_arg(k, "kthvalue", "k")
    _check_dtype("kthvalue", input)
    axis = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[axis] if input._data.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {axis}")
    xp = input._backend.xp

    def position(sorted_data, n, ax):
        return xp.full(sorted_data.shape[:ax] + (1,) + sorted_data.shape[ax + 1:], k - 1,
                       np.int64)

    return return_types.kthvalue(*_pick(Kthvalue, input, axis, keepdim, position))


def mode(input: Tensor, dim: int = -1, keepdim: bool = False):
    """``(values, indices)`` of the most frequent value along ``dim`` (the smallest among
    equally frequent ones) and the last position where it occurs."""
    check_tensor(input, "mode")
    _check_dtype("mode", input)
    axis = wrap_dim(dim, input._data.ndim)
    _check_reduced_size("mode", input, axis)
    backend = input._backend
    xp = backend.xp
    data = input._data
    if data.ndim == 0 or data.size == 0:
        return return_types.mode(*_pick(Mode, input, axis, keepdim, None))
    n = data.shape[axis]
    # Sort, then measure each run of equal values: a run ends where the next value differs.
    moved = xp.moveaxis(data, axis, -1)
    order = _order(backend, moved, moved.ndim - 1, False)
    s = xp.take_along_axis(moved, order, axis=-1)
    differs = s[..., 1:] != s[..., :-1]
    if s.dtype.kind in FLOAT_KINDS:
        differs &= ~(xp.isnan(s[..., 1:]) & xp.isnan(s[..., :-1]))
    ends = xp.concatenate([differs, xp.ones(s.shape[:-1] + (1,), bool)], axis=-1)
    starts = xp.concatenate([xp.ones(s.shape[:-1] + (1,), bool), differs], axis=-1)
    positions = xp.arange(n)
    (run_start,) = scan_last(xp, (xp.where(starts, positions, 0),),
                             lambda a, b: (xp.maximum(a[0], b[0]),))
    length = xp.where(ends, positions - run_start + 1, 0)
    best_end = xp.argmax(length, axis=-1)[..., None]  # the first longest run: smallest value
    # Equal values keep their order in the stable sort: a run's end is the last occurrence.
    idx = xp.moveaxis(xp.take_along_axis(order, best_end, axis=-1), -1, axis)
    return return_types.mode(*_picked(Mode, input, axis, xp.ascontiguousarray(idx), keepdim))


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


@_capture.island(repeatable=True)  # checked at each replay of a captured step
def _check_q_range(arr) -> None:
    if arr.size and not bool(((arr >= 0) & (arr <= 1)).all()):
        raise RuntimeError("quantile() q values must be in the range [0, 1]")


def _quantile(name: str, input: Tensor, q, dim, keepdim: bool, interpolation: str,
              ignore_nan: bool) -> Tensor:
    check_tensor(input, name)
    data = input._data
    backend = input._backend
    xp = backend.xp
    if data.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype")
    if isinstance(q, Tensor):
        if q._data.ndim > 1:
            raise RuntimeError(f"{name}() q must be a scalar or 1D tensor")
        if q._data.dtype != data.dtype:
            raise RuntimeError(f"{name}() q tensor must be same dtype as the input tensor")
        q_data, q_shape = q._data.reshape(-1), q._data.shape
    else:
        if not isinstance(q, (int, float, np.number)) or isinstance(q, bool):
            raise TypeError(f"{name}(): argument 'q' must be float or Tensor, not "
                            f"{type(q).__name__}")
        if not 0 <= q <= 1:
            raise RuntimeError(f"{name}() q must be in the range [0, 1] but got {q}")
        q_data, q_shape = xp.asarray([q], dtype=data.dtype), ()
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError(f"{name}() interpolation must be one of linear, lower, higher, "
                           f"midpoint or nearest, but got {interpolation}")
    if data.size == 0:
        raise RuntimeError(f"{name}() input tensor must be non-empty")
    if isinstance(q, Tensor):
        _check_q_range(q_data)
    if dim is None:
        x = input.reshape(-1)
        axis = 0
        kept = (1,) * data.ndim
    else:
        axis = wrap_dim(dim, data.ndim)
        x = input.reshape(1) if data.ndim == 0 else input
        kept = list(data.shape)
        if kept:
            kept[axis] = 1
        kept = tuple(kept)
    # Work on (..., n) with the dim last; the q values become a leading dim.
    x = x.movedim(axis, -1)
    n = x._data.shape[-1]
    order = _order(backend, x._data, x._data.ndim - 1, False)
    sorted_data = xp.take_along_axis(x._data, order, axis=-1)
    nans = xp.isnan(sorted_data).sum(axis=-1, keepdims=True)
    qs = q_data.reshape((-1,) + (1,) * x._data.ndim)
    if ignore_nan:  # ranks among the numbers; the first (NaN) where there are none
        count = (n - nans).astype(data.dtype)
        ranks = xp.where(count == 0, 0, qs * (count - 1))
    else:  # NaN in a slice: its last entry (a NaN)
        ranks = xp.where(nans > 0, n - 1, qs * data.dtype.type(n - 1))
    ranks = ranks.astype(data.dtype)
    if interpolation == "lower":
        lo = hi = xp.floor(ranks)
    elif interpolation == "higher":
        lo = hi = xp.ceil(ranks)
    elif interpolation == "nearest":
        lo = hi = xp.round(ranks)
    else:
        lo, hi = xp.floor(ranks), xp.ceil(ranks)
    lead = (qs.shape[0],) + x._data.shape
    order_b = xp.broadcast_to(order, lead)
    xb = x.unsqueeze(0).expand(lead)

    def at(ranks_float):
        pos = xp.broadcast_to(ranks_float.astype(np.int64), lead[:-1] + (1,))
        idx = xp.ascontiguousarray(xp.take_along_axis(order_b, pos, axis=-1))
        return Gather.apply(xb, x._data.ndim, Tensor._make(idx, backend))

    below = at(lo)
    if interpolation in ("lower", "higher", "nearest"):
        out = below
    else:
        above = at(hi)
        weight = xp.full_like(ranks, 0.5) if interpolation == "midpoint" else ranks - lo
        out = below + (above - below) * Tensor._make(xp.broadcast_to(
            weight, lead[:-1] + (1,)).astype(data.dtype), backend)
    out = out.squeeze(-1)  # (nq, ...rest)
    if keepdim:
        out = out.reshape((out.shape[0],) + kept)
    return out.reshape(out.shape[1:]) if not q_shape else out


def quantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
             interpolation: str = "linear") -> Tensor:
    """The ``q``-th quantiles (``q`` a number or a 0-d/1-D tensor in [0, 1]) of ``input``
    flattened, or along ``dim``; a 1-D ``q`` gives a leading dim of its size. ``interpolation``
    picks between the two nearest order statistics: ``linear``, ``lower``, ``higher``,
    ``midpoint`` or ``nearest``. NaN anywhere in a slice gives NaN."""
    return _quantile("quantile", input, q, dim, keepdim, interpolation, False)


def nanquantile(input: Tensor, q, dim=None, keepdim: bool = False, *,
                interpolation: str = "linear") -> Tensor:
    """``quantile`` ignoring NaN (NaN only where a slice holds nothing else)."""
    return _quantile("nanquantile", input, q, dim, keepdim, interpolation, True)


METHODS = {"median": median, "nanmedian": nanmedian, "kthvalue": kthvalue, "mode": mode,
           "quantile": quantile, "nanquantile": nanquantile}
