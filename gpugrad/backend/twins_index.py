"""NumPy twins of the indexing primitives (gather/scatter) that ops cannot do with ``xp`` alone.

Keys arrive normalized by ``ops/indexing.py``: a tuple of Python ints, slices with a positive
step, ``None``, ``Ellipsis``, 0-d bool arrays, and int64 index arrays already bounds-checked
(non-negative) on this backend. Boolean masks have been turned into index arrays.
"""

from __future__ import annotations

import numpy as np


def address(arr) -> int:
    """The address of ``arr``'s first element (NumPy host memory or CuPy device memory)."""
    iface = getattr(arr, "__cuda_array_interface__", None) or arr.__array_interface__
    return int(iface["data"][0])


def byte_extent(arr) -> tuple[int, int]:
    """``(lo, hi)``: the half-open range of bytes that ``arr``'s elements touch; empty if
    ``arr`` has no elements."""
    if arr.size == 0:
        return (0, 0)
    lo = hi = address(arr)
    for n, s in zip(arr.shape, arr.strides):
        if s < 0:
            lo += (n - 1) * s
        else:
            hi += (n - 1) * s
    return lo, hi + arr.itemsize


class IndexTwins:
    """Mixin of indexing primitives for a backend with ``self.xp``."""

    def add_at(self, out, key, values) -> None:
        """``out[key] += values`` in place, accumulating over repeated indices (``np.add.at``;
        the CUDA backend uses ``cupyx.scatter_add``, which has this signature).

        ``values`` has ``out``'s dtype and broadcasts to the shape of ``out[key]``.
        """
        flat = self.flat_index(out, key)
        # (a yes/no read, not the minimum: a captured step replays it as a check, which a
        # minimum that changes with every batch would fail)
        if flat is not None and bool((flat >= 0).all()):
            # NumPy's fast path: one index array into a 1-D array (the same adds in the same
            # order as the key's, C order over ``out[key]``: an identical result)
            values = np.broadcast_to(values, flat.shape)
            np.add.at(out.reshape(-1), flat.reshape(-1), values.reshape(-1))
            return
        np.add.at(out, key, values)

    def gather(self, x, dim: int, index):
        """``out[i][j][k] = x[i][index[i][j][k]][k]`` for ``dim=1`` (as ``torch.gather``).

        ``index`` (int64, same ndim as ``x``) may be smaller than ``x`` in dims other than
        ``dim``; its values are in range.
        """
        # (``take_along_axis`` of the cropped input: 2-6x faster than one ``take`` at flat
        # positions built from the index, from 5 to 130 million elements, in bench/RESULTS.md)
        crop = tuple(slice(0, n) if d != dim else slice(None) for d, n in enumerate(index.shape))
        return self.xp.take_along_axis(x[crop], index, axis=dim)

    def flat_index(self, out, key):
        """The flat (C-order) position in a C-contiguous ``out`` of each element of
        ``out[key]`` (int64, shaped as ``out[key]``; negative where an index is negative), for
        a ``key`` of full slices around one run of adjacent integer index arrays; None for any
        other ``out`` or ``key``."""
        xp = self.xp
        if key.__class__ is not tuple or len(key) > out.ndim or not out.flags.c_contiguous:
            return None
        key = key + (slice(None),) * (out.ndim - len(key))
        arrays = []
        for d, k in enumerate(key):
            if k.__class__ is slice:
                if k.indices(out.shape[d]) != (0, out.shape[d], 1):
                    return None
            elif isinstance(k, xp.ndarray) and k.dtype.kind in "iu":
                arrays.append(d)
            else:
                return None
        if not arrays or arrays[-1] - arrays[0] + 1 != len(arrays):
            return None
        first, stop = arrays[0], arrays[-1] + 1
        group = tuple(np.broadcast_shapes(*(key[d].shape for d in arrays)))
        strides = [int(np.prod(out.shape[d + 1:], dtype=np.int64)) for d in range(out.ndim)]
        ndim = first + len(group) + out.ndim - stop
        inner = None
        for d in arrays:
            term = key[d].astype(np.int64, copy=False)
            term = term if strides[d] == 1 else term * strides[d]
            inner = term if inner is None else inner + term
        inner = xp.broadcast_to(inner, group)
        flat = inner.reshape((1,) * first + group + (1,) * (out.ndim - stop))
        for d in [*range(first), *range(stop, out.ndim)]:
            at = d if d < first else d - stop + first + len(group)
            shape = [1] * ndim
            shape[at] = out.shape[d]
            flat = flat + xp.arange(out.shape[d], dtype=np.int64).reshape(shape) * strides[d]
        full = out.shape[:first] + group + out.shape[stop:]
        return xp.broadcast_to(flat, full).copy()

    def scatter_add(self, out, dim: int, index, src) -> None:
        """``out[i][index[i][j][k]][k] += src[i][j][k]`` for ``dim=1``, in place, accumulating
        repeated indices (the backward of ``gather``). ``src`` has ``index``'s shape."""
        self.add_at(out, self.along_dim_key(index, dim), src)

    def along_dim_key(self, index, dim: int) -> tuple:
        """The advanced-indexing key that addresses ``x[..., index[...], ...]`` elementwise:
        ``index`` at ``dim``, broadcast coordinate ranges elsewhere."""
        xp = self.xp
        nd = index.ndim
        key = []
        for d, n in enumerate(index.shape):
            if d == dim:
                key.append(index)
            else:
                shape = [1] * nd
                shape[d] = n
                key.append(xp.arange(n, dtype=np.int64).reshape(shape))
        return tuple(key)

    def flat_positions(self, base, view):
        """The C-order flat index into ``base`` of each element of ``view`` (int64, shaped as
        ``view``), where ``view`` looks at memory inside ``base``; -1 for an element of
        ``view`` that is not an element of ``base``."""
        xp = self.xp
        item = base.itemsize
        offsets = self._byte_offsets(view, address(view) - address(base))
        if base.flags.c_contiguous:
            pos = offsets // item
            return xp.where((offsets % item == 0) & (pos >= 0) & (pos < base.size), pos, -1)
        # A strided base: invert its own offset map with a lookup table over its byte extent.
        own = self._byte_offsets(base, 0).reshape(-1)
        lo = int(own.min()) if own.size else 0
        span = (int(own.max()) - lo) // item + 1 if own.size else 0
        table = xp.full(span, -1, dtype=np.int64)
        table[(own - lo) // item] = xp.arange(own.size, dtype=np.int64)
        slot = (offsets - lo) // item
        inside = ((offsets - lo) % item == 0) & (slot >= 0) & (slot < span)
        return xp.where(inside, table[xp.where(inside, slot, 0)], -1)

    def _byte_offsets(self, arr, start: int):
        """Byte offset of each element of ``arr`` (shaped as ``arr``) from ``start``."""
        xp = self.xp
        out = xp.full(arr.shape, start, dtype=np.int64)
        for d, (n, s) in enumerate(zip(arr.shape, arr.strides)):
            shape = [1] * arr.ndim
            shape[d] = n
            out += xp.arange(n, dtype=np.int64).reshape(shape) * s
        return out
