"""Histograms (not differentiable): ``histc``, ``histogram`` and ``histogramdd``.

Each value's bin is found by a binary search of the bin edges, so a value on an edge lands
where PyTorch puts it; ``histogram`` is ``histogramdd`` of one column.
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from .._dtype import FLOAT_KINDS
from ._return_types import result, return_types
from ._util import Tensor, check_tensor
from .statistics import _torch_name

__all__ = ["histc", "histogram", "histogramdd"]

result("histogram", "hist bin_edges")
result("histogramdd", "hist bin_edges")


def _check_float(input: Tensor, kernel: str) -> None:
    if input._data.dtype.kind not in FLOAT_KINDS:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_torch_name(input)}'")


def _edges(input: Tensor, lo: float, hi: float, bins: int):
    """``bins + 1`` equally spaced edges, rounded to ``input``'s dtype (as PyTorch's)."""
    return input._backend.xp.linspace(lo, hi, bins + 1).astype(input._data.dtype)


def _work_values(input: Tensor, columns: int):
    """``input`` as ``(N, columns)`` rows, bfloat16 widened to float32 (the bins are found in
    float32)."""
    values = input._data.reshape(-1, columns)
    return values.astype(np.float32) if values.dtype.kind == "V" else values


def _bin_of(xp, values, edges):
    """Each value's bin among the sorted ``edges`` and whether it is inside one; the last bin
    includes its right edge."""
    bins = edges.shape[0] - 1
    pos = xp.searchsorted(edges, values, side="right") - 1
    pos = xp.where(values == edges[-1], bins - 1, pos)
    inside = (values >= edges[0]) & (values <= edges[-1]) & (pos >= 0) & (pos < bins)
    return xp.where(inside, pos, 0), inside


def histc(input: Tensor, bins: int = 100, min=0, max=0) -> Tensor:  # noqa: A002
    """The histogram of ``input`` in ``bins`` equal bins over ``[min, max]`` (the data's range
    when both are equal; values outside are left out)."""
    check_tensor(input, "histc")
    _check_float(input, "histogram_cpu")
    xp = input._backend.xp
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    if min > max:
        raise RuntimeError("torch.histc: max must be larger than min")
    values = input._data.reshape(-1)
    dtype = values.dtype.type
    lo, hi = dtype(min), dtype(max)
    if lo == hi and values.size:
        lo, hi = values.min(), values.max()
    if not (math.isfinite(float(lo)) and math.isfinite(float(hi))):
        raise RuntimeError(f"torch.histc: range of [{float(lo)}, {float(hi)}] is not finite")
    if lo == hi:
        lo, hi = dtype(float(lo) - 1), dtype(float(hi) + 1)
    # PyTorch's linear interpolation, each step rounded to the input's dtype as its kernel's
    pos = ((values - lo) * dtype(bins) / (hi - lo)).astype(np.int64)
    inside = (values >= lo) & (values <= hi)
    pos = xp.where(pos >= bins, bins - 1, pos)
    out = xp.zeros(bins, dtype=np.float32 if values.dtype.kind == "V" else values.dtype)
    input._backend.add_at(out, (xp.where(inside, pos, 0),), inside.astype(out.dtype))
    return input._new(out.astype(values.dtype))


def _dim_edges(input: Tensor, column, bins, lo_hi, d: int):
    """The edges along one dimension: a tensor's sorted values, or ``bins`` equal bins over
    ``lo_hi`` (the column's range when None)."""
    if isinstance(bins, Tensor):
        return bins._data.astype(column.dtype)
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension {d}")
    if lo_hi is not None:
        lo, hi = float(lo_hi[0]), float(lo_hi[1])
        if lo > hi:
            raise RuntimeError("torch.histogramdd: min should not exceed max, but got min "
                               f"{lo:g} max {hi:g} for dimension {d}")
    elif column.size:
        lo, hi = float(column.min()), float(column.max())
    else:
        lo, hi = 0.0, 1.0
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return _edges(input, lo, hi, int(bins)).astype(column.dtype)


def _histogram_nd(input: Tensor, values, bins: list, ranges, weight):
    """``(hist, edges per dim)`` of the ``(N, D)`` rows ``values``; ``weight`` an ``(N,)`` array
    or None."""
    xp = input._backend.xp
    D = values.shape[1]
    edges = [_dim_edges(input, values[:, d], bins[d], None if ranges is None else
                        ranges[2 * d:2 * d + 2], d) for d in builtins.range(D)]
    shape = tuple(builtins.max(e.shape[0] - 1, 0) for e in edges)
    dtype = values.dtype if weight is None else weight.dtype
    hist = xp.zeros(math.prod(shape), dtype=dtype)
    if all(e.shape[0] >= 2 and bool((e[1:] >= e[:-1]).all()) for e in edges):
        flat = xp.zeros(values.shape[0], dtype=np.int64)
        inside = xp.ones(values.shape[0], dtype=bool)
        for d, e in enumerate(edges):
            pos, ok = _bin_of(xp, values[:, d], e)
            flat = flat * shape[d] + pos
            inside &= ok
        amount = inside.astype(dtype) if weight is None else xp.where(inside, weight, 0)
        input._backend.add_at(hist, (xp.where(inside, flat, 0),), amount)
    return hist.reshape(shape), edges


def _finish(input: Tensor, hist, edges, density: bool):
    """The result tensors in ``input``'s dtype; ``density`` divides by the total and each bin's
    volume."""
    xp = input._backend.xp
    if density:
        volume = xp.ones((), dtype=hist.dtype)
        for e in edges:
            volume = volume[..., None] * (e[1:] - e[:-1])
        hist = hist / (hist.sum() * volume)
    dtype = input._data.dtype
    return (input._new(hist.astype(dtype)),
            tuple(input._new(xp.ascontiguousarray(e.astype(dtype))) for e in edges))


def _check_weight(input: Tensor, weight, batch_shape, fn: str):
    if weight is None:
        return
    check_tensor(weight, fn, "weight")
    if weight._data.shape != batch_shape:
        raise RuntimeError(
            "torch.histogramdd: if weight tensor is provided it should have the same shape "
            "as the input tensor excluding its innermost dimension, but got input with "
            f"shape {list(batch_shape) + [input.shape[-1] if fn == 'histogramdd' else 1]} and "
            f"weight with shape {list(weight._data.shape)}")


def histogram(input: Tensor, bins=100, *, range=None, weight=None,  # noqa: A002
              density: bool = False):
    """``(hist, bin_edges)``: the histogram of ``input`` in ``bins`` equal bins over ``range``
    (the data's range by default), or in the bins between the sorted edges of a tensor
    ``bins``; ``weight`` sums weights instead of counting, ``density`` normalizes to a unit
    integral."""
    check_tensor(input, "histogram")
    _check_float(input, "histogramdd")
    values = _work_values(input, 1)
    _check_weight(input, weight, input._data.shape, "histogram")
    w = None if weight is None else weight._data.reshape(-1).astype(values.dtype)
    hist, edges = _histogram_nd(input, values, [bins], None if range is None else
                                list(range), w)
    hist, edges = _finish(input, hist, edges, density)
    return return_types.histogram(hist, edges[0])


def histogramdd(input: Tensor, bins=10, *, range=None, weight=None,  # noqa: A002
                density: bool = False):
    """``(hist, bin_edges)``: the ``D``-dimensional histogram of the points ``input``
    ``(*, D)``. ``bins``: an int (per dim), ``D`` ints, or ``D`` 1-D tensors of sorted edges;
    ``range``: ``2 D`` numbers ``[lo_0, hi_0, lo_1, hi_1, ...]`` (the data's range by default);
    ``weight`` ``(*)`` sums weights instead of counting; ``density`` normalizes to a unit
    integral. ``bin_edges`` is a tuple of ``D`` tensors."""
    check_tensor(input, "histogramdd")
    _check_float(input, "histogramdd")
    if input.ndim == 0:
        raise IndexError("Dimension specified as -1 but tensor has no dimensions")
    if input.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    D = input.shape[-1]
    bins = [bins] * D if isinstance(bins, (int, np.integer)) else list(bins)
    if len(bins) != D:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost "
                           "dimension of the input.")
    if range is not None and len(range) != 2 * D:
        raise RuntimeError(f"torch.histogramdd: for a {D}-dimensional histogram range should "
                           f"have {2 * D} elements, but got {len(range)}")
    values = _work_values(input, D)
    _check_weight(input, weight, input._data.shape[:-1], "histogramdd")
    w = None if weight is None else weight._data.reshape(-1).astype(values.dtype)
    hist, edges = _histogram_nd(input, values, bins, range, w)
    return return_types.histogramdd(*_finish(input, hist, edges, density))


METHODS = {"histc": histc, "histogram": histogram}
