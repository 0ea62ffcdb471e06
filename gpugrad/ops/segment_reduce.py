"""``segment_reduce``: reduce consecutive runs (segments) of ``data`` along ``axis``, their sizes
given by ``lengths`` or their bounds by ``offsets``.

Built on ``scatter_reduce``: each position along ``axis`` gets the number of its segment (one
extra number for positions outside every segment, whose result is dropped), so values and
gradients (even shares among tied maxima, PyTorch's product rule with zeros) are that op's.
The segment numbers come from the lengths on the host: checking them reads them there anyway.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ._util import Tensor, check_tensor, math_ns, wrap_dim
from .scatter_reduce import scatter_reduce

__all__ = ["segment_reduce"]

# reduce -> (scatter_reduce's name, its start: an empty segment's value without ``initial``;
# mean's is nan, set after the division)
_REDUCES = {"sum": ("sum", 0.0), "mean": ("sum", 0.0), "prod": ("prod", 1.0),
            "max": ("amax", -np.inf), "amax": ("amax", -np.inf),
            "min": ("amin", np.inf), "amin": ("amin", np.inf)}

_IMPROVE = ("  (Could this error message be improved?  If so, please report an enhancement "
            "request to PyTorch.)")


def _host_bounds(data: Tensor, axis: int, lengths, offsets, unsafe: bool):
    """The segments' bounds as a host int64 array (rows: data's dims before ``axis``, then
    S + 1 bounds), with PyTorch's checks of ``lengths`` / ``offsets``."""
    name, given = ("offsets", offsets) if offsets is not None else ("lengths", lengths)
    check_tensor(given, "segment_reduce", name)
    if given.dtype.is_floating_point or given.dtype == dt.bool:
        raise dt.not_implemented_for(f"_segment_reduce_{name}_cpu_kernel1", given.dtype)
    if given.dim() > data.dim():
        raise RuntimeError(f"Expected data.dim() >= {name}_value.dim() to be true, but got "
                           f"false.{_IMPROVE}")
    if axis != given.dim() - 1:
        raise RuntimeError(f"segment_reduce(): Expected axis to be the last dimension of {name} "
                           f"but got {axis}.")
    values = given._backend.to_numpy(given._data).astype(np.int64)
    size = data.shape[axis]
    if offsets is None:
        if not unsafe and np.any(values < 0):
            raise RuntimeError("lengths contains negative value!")
        if not unsafe and np.any(values.sum(axis=-1) != size):
            raise RuntimeError("segment_reduce(): Expected all rows of lengths along axis to "
                               "sum to data.size(lengths.dim()-1) when !unsafe.")
        zero = np.zeros(values.shape[:-1] + (1,), np.int64)
        values = np.concatenate([zero, np.cumsum(values, axis=-1)], axis=-1)
    if np.any(np.diff(values, axis=-1) < 0):
        raise RuntimeError(f"Expected segment_length >= 0 to be true, but got false.{_IMPROVE}")
    rows = values.reshape(-1, values.shape[-1])
    lead = int(np.prod(data.shape[:axis]))
    if len(rows) < lead:  # (PyTorch reads past the end of such lengths)
        raise RuntimeError(f"segment_reduce(): expected {name} of shape "
                           f"{list(data.shape[:axis]) + [values.shape[-1]]}, got "
                           f"{list(given.shape)}")
    return rows[:lead]


def _segment_ids(bounds: np.ndarray, size: int) -> np.ndarray:
    """(rows, size): each position's segment along a row, S for a position in none."""
    bounds = np.clip(bounds, 0, size)  # (PyTorch reads past the end when unsafe; we stop)
    count = bounds.shape[1] - 1
    runs = np.concatenate([bounds[:, :1], np.diff(bounds, axis=1), size - bounds[:, -1:]],
                          axis=1)
    labels = np.tile(np.r_[count, np.arange(count), count], len(bounds))
    return np.repeat(labels, runs.reshape(-1)).reshape(len(bounds), size)


def segment_reduce(data: Tensor, reduce: str, *, lengths: Tensor | None = None,
                   indices: Tensor | None = None, offsets: Tensor | None = None, axis: int = 0,
                   unsafe: bool = False, initial=None) -> Tensor:
    """Reduce the segments of ``data`` along ``axis`` by ``reduce`` (``"sum"``, ``"mean"``,
    ``"max"``, ``"min"``, ``"prod"``): segment sizes ``lengths`` (rows of sizes summing to
    ``data.size(axis)`` unless ``unsafe``) or bounds ``offsets`` (S + 1 per row; they win
    over ``lengths``); ``axis`` is the last dim of either. An empty segment gives
    ``initial``, or 0 / nan / -inf / inf / 1; ``initial`` also joins every reduction (for
    ``mean``, the sum)."""
    check_tensor(data, "segment_reduce", "data")
    if reduce not in _REDUCES:
        raise RuntimeError("reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    if lengths is None and offsets is None:
        raise RuntimeError("segment_reduce(): Either lengths or offsets must be defined.")
    axis = wrap_dim(axis, data.dim())
    bounds = _host_bounds(data, axis, lengths, offsets, unsafe)
    if not data.is_floating_point():
        raise dt.not_implemented_for("_segment_reduce_cpu", data.dtype)
    if isinstance(initial, Tensor):
        initial = initial.item()
    lead, size = bounds.shape[0], data.shape[axis]
    count, trail = bounds.shape[1] - 1, data.shape[axis + 1:]
    width = int(np.prod(trail))
    ids = _segment_ids(bounds, size)
    backend = data._backend
    index = Tensor._make(backend.asarray(np.ascontiguousarray(
        np.broadcast_to(ids[:, :, None], (lead, size, width)))), backend)
    op, empty = _REDUCES[reduce]
    ties_with_initial = op in ("amax", "amin") and initial is not None
    fill = empty if initial is None or ties_with_initial else initial
    start = Tensor._make(backend.xp.full((lead, count + 1, width), fill, data._data.dtype),
                         backend)
    # amax/amin: the initial value joins after, so data keeps the whole gradient at a tie
    out = scatter_reduce(start, 1, index, data.reshape(lead, size, width), op)[:, :count]
    m = math_ns()
    if ties_with_initial:
        keep = out >= initial if op == "amax" else out <= initial
        out = m.where(keep, out, m.full_like(out, initial))
    if reduce == "mean":
        runs = np.diff(np.clip(bounds, 0, size), axis=1)[:, :, None]
        counts = Tensor._make(backend.asarray(np.maximum(runs, 1).astype(data._data.dtype)),
                              backend)
        vacant = Tensor._make(backend.asarray(np.broadcast_to(runs == 0, out.shape).copy()),
                              backend)
        out = (out / counts).masked_fill(vacant, np.nan if initial is None else initial)
    return out.reshape(data.shape[:axis] + (count,) + trail)


METHODS: dict = {}
