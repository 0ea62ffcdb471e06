"""Writes into a tensor whose elements share memory (an ``expand``ed tensor).

PyTorch lets the fills and index writes (``fill_`` with a number, ``zero_``, ``masked_fill_``,
``index_fill_``, ``index_put_`` and ``x[idx] = v``, ``fill_diagonal_``) write into such a tensor,
through to the memory it shares, and refuses every other in-place op (``check_target``). Our
expanded arrays are read-only NumPy views on purpose (the engine must never accumulate into
them), so these writes go into the root's memory, at the flat positions of the written
elements: where several written elements are one location, the last one written wins.
Recorded, the write is a ``CopySlices`` whose backward refuses, as PyTorch's does.
"""

from __future__ import annotations

from .. import _dtype as dt
from .._warnings import warn_user
from ..autograd.views import view_info
from ._index_key import region
from ._inplace_graph import (
    LEAF,
    SharedCopySlices,
    cast_like,
    check_target,
    commit,
    needs_graph,
    shares_elements,
    written_positions,
)
from ._util import Tensor
from .indexing import Index, _check_mask, fill_value

_EXPANDED = ("Use of {} on expanded tensors is deprecated. Please clone() the tensor before "
             "performing this operation. This also applies to advanced indexing e.g. {}")


def root_of(t: Tensor) -> Tensor:
    """The tensor whose memory ``t`` differentiably views (``t`` itself if none)."""
    info = view_info(t)
    return t if info is None else info[0]


def writes_directly(data) -> bool:
    """Whether a write can go into the array ``data`` itself (not shared, not read-only)."""
    return getattr(data.flags, "writeable", True) and not shares_elements(data)


def _writable_root(t: Tensor) -> Tensor:
    """``root_of(t)``, or, when its array is read-only (``t`` is ``b.detach()`` of an
    expanded ``b``), a tensor over the writable array that owns that memory."""
    root = root_of(t)
    data = root._data
    while not getattr(data.flags, "writeable", True) and isinstance(data.base, type(data)):
        data = data.base
    return root if data is root._data else Tensor._make(data, root._backend)


def write_at(self: Tensor, key, data, accumulate: bool = False) -> None:
    """The unrecorded ``self[key] = data`` (``+=`` with ``accumulate``; ``key`` normalized:
    ``(basic, advanced)``), then the version bump."""
    basic, advanced = key
    target = region(self._data, basic)
    if not accumulate and writes_directly(target):
        if advanced is None:
            target[...] = data
        else:
            target[advanced] = data
    else:
        root = _writable_root(self)
        memory = root._data if root._data.ndim else root._data.reshape(1)
        xp = self._backend.xp
        at = xp.unravel_index(written_positions(root, self, key), memory.shape)
        if accumulate:
            self._backend.add_at(memory, at, xp.asarray(data, dtype=memory.dtype))
        else:
            memory[at] = data
    self._vc.value += 1


def put_at(self: Tensor, key, value, node=SharedCopySlices, leaf_message: str = LEAF,
           accumulate: bool = False, shared_ok: bool = True, warn=None) -> Tensor:
    """``self[key] = value`` (``+=`` with ``accumulate``), recorded as ``node`` when the graph
    needs it; ``value`` a number or a tensor of ``self``'s device. ``shared_ok``: see
    ``check_target``, which checks ``self[key[0]]``; ``warn``: ``(op, example)`` for PyTorch's
    deprecation warning of ``op`` into an expanded tensor, given once the checks pass."""
    recorded = needs_graph(self, (value,), leaf_message)  # (autograd's errors come first)
    check_target(self, (value,), data=region(self._data, key[0]), shared_ok=shared_ok)
    if warn is not None:
        warn_user(_EXPANDED.format(*warn))
    if recorded:
        if not isinstance(value, Tensor):
            value = self._new(self._backend.asarray(value, dtype=self._data.dtype))
        value = cast_like(value, self)
        if accumulate:  # (the old values plus ``value``: a location written twice adds once)
            value = Index.apply(self, *key) + value
        commit(self, value, key=key, node=node)
        return self
    write_at(self, key, value._data if isinstance(value, Tensor) else value, accumulate)
    return self


def fill_where(self: Tensor, mask: Tensor, value, node=SharedCopySlices, warn=None) -> Tensor:
    """``self.masked_fill_(mask, value)`` into a tensor whose elements share memory."""
    _check_mask(mask, "masked_fill_")
    value = fill_value(self, value)
    xp = self._backend.xp
    key = ((), (xp.broadcast_to(mask._data, self._data.shape),))
    return put_at(self, key, value, node, warn=warn)


def check_values_dtype(input: Tensor, values: Tensor) -> None:
    """PyTorch's refusal of an index write (``index_put_``, ``x[idx] = v`` with an advanced
    index) whose values are a tensor of another dtype."""
    if values._data.dtype != input._data.dtype:
        names = [dt.SCALAR_TYPE_NAMES[t.dtype.name] for t in (input, values)]
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{names[0]} for the destination and {names[1]} for the source.")
