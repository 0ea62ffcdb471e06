"""Coordinate arithmetic of sparse COO tensors, on the coordinate arrays: linear positions,
the entries grouped by coordinate (coalescing), and the entries matching wanted coordinates."""

from __future__ import annotations

from ..tensor import Tensor


def _linear(data, sizes):
    """Each entry's position in the row-major flattening of the sparse dims ``sizes``, for the
    coordinate array ``data`` (one row per dim of ``sizes``)."""
    lin = data[0] if len(sizes) else data.sum(0)
    for k in range(1, len(sizes)):
        lin = lin * sizes[k] + data[k]
    return lin


def _groups(indices: Tensor, size, dims) -> tuple:
    """The entries grouped by their coordinates along ``dims`` (sparse dims): the distinct
    coordinates' linear positions, sorted, and each entry's group (an int64 Tensor)."""
    xp = indices._backend.xp
    data = indices._data[list(dims)]
    unique, inverse = xp.unique(_linear(data, [size[d] for d in dims]), return_inverse=True)
    return unique, Tensor._make(inverse.reshape(-1), indices._backend)


def _merge(indices: Tensor, values: Tensor, size, dims) -> tuple:
    """The coordinates along ``dims`` (sparse dims) of the distinct entries, sorted, and the
    values of the entries that share them summed (differentiable in ``values``)."""
    sizes = [size[d] for d in dims]
    xp = indices._backend.xp
    unique, group = _groups(indices, size, dims)
    coords = xp.stack(xp.unravel_index(unique, sizes)) if sizes else \
        xp.zeros((0, len(unique)), dtype=unique.dtype)
    new_indices = Tensor._make(coords.astype(xp.int64).reshape(len(sizes), -1), indices._backend)
    summed = values.new_zeros((len(unique),) + tuple(values.shape[1:])).index_add(0, group,
                                                                                  values)
    return new_indices, summed


def _matches(keys, queries, xp) -> tuple:
    """Every (query, entry) pair whose entry's key equals the query: the query positions and
    the entry positions, ordered by query, then by entry."""
    order = xp.argsort(keys, kind="stable")
    ranked = keys[order]
    low = xp.searchsorted(ranked, queries, side="left")
    counts = xp.searchsorted(ranked, queries, side="right") - low
    total = int(counts.sum())
    query = xp.repeat(xp.arange(queries.size), counts)
    first = xp.repeat(low - (xp.cumsum(counts) - counts), counts)
    return query, order[first + xp.arange(total)]
