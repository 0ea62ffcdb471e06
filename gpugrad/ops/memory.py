"""A tensor's memory as PyTorch exposes it: ``untyped_storage()`` and the deprecated
``storage()``, read-only descriptions of the memory a tensor and its views share, and
``dim_order``, the order of a tensor's dimensions in memory.

A tensor's storage is the memory of the tensor it views (its root), from the lowest to the
highest address the root's array reaches, as PyTorch's storage of a tensor made from that array.
The storage objects only describe that memory: writing through them (``fill_``, ``copy_``,
item assignment, ``resize_``) and ``Tensor.set_`` raise NotImplementedError.
"""

from __future__ import annotations

import numpy as np

from .._typeinfo import channels_last as channels_last_format
from .._warnings import warn_user_once
from ._util import Tensor
from .strided import _memory, _root
from .tensor_info import _lowest_address, _start

__all__ = ["is_storage"]


class _Storage:
    """What both storage kinds report: the memory of ``root``, a tensor that views no other."""

    def __init__(self, root: Tensor):
        self._root = root  # read on each call: ``resize_`` may give the root new memory

    def data_ptr(self) -> int:
        """The address of the first byte."""
        return _lowest_address(self._root._data)

    def nbytes(self) -> int:
        root = self._root
        return int(_memory(root._backend.xp, root._data).nbytes)

    @property
    def device(self):
        return self._root.device

    @property
    def is_cuda(self) -> bool:
        return self._root.device.type == "cuda"

    # writing through storages is not supported
    def __setitem__(self, key, value):
        _refuse("__setitem__")

    def fill_(self, value):
        _refuse("fill_")

    def copy_(self, source, non_blocking=None):
        _refuse("copy_")

    def resize_(self, size):
        _refuse("resize_")


class UntypedStorage(_Storage):
    """The bytes of memory a tensor shares with its views (``Tensor.untyped_storage()``)."""

    def size(self) -> int:
        """The length in bytes."""
        return self.nbytes()

    def __len__(self) -> int:
        return self.nbytes()

    def element_size(self) -> int:
        return 1

    def untyped(self) -> UntypedStorage:
        return self

    def __repr__(self) -> str:
        return f"gpugrad.storage.UntypedStorage(device={self.device}) of size {len(self)}"


class TypedStorage(_Storage):
    """The storage seen as elements of the tensor's dtype (``Tensor.storage()``, deprecated)."""

    def __init__(self, untyped: UntypedStorage, dtype):
        super().__init__(untyped._root)
        self._untyped_storage = untyped
        self.dtype = dtype

    def size(self) -> int:
        """The length in elements."""
        return self.nbytes() // self.element_size()

    def __len__(self) -> int:
        return self.size()

    def element_size(self) -> int:
        return self.dtype.itemsize

    def untyped(self) -> UntypedStorage:
        return self._untyped_storage

    def __repr__(self) -> str:
        return (f"gpugrad.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of size "
                f"{len(self)}")


def _refuse(method: str):
    raise NotImplementedError(f"{method}: gpugrad's storages are read-only descriptions of a "
                              "tensor's memory; write through the tensor instead")


def untyped_storage(self: Tensor) -> UntypedStorage:
    """The memory this tensor shares with its views, as bytes: one object for a tensor and all
    its views (its ``data_ptr()`` is the tensor's minus ``storage_offset()`` elements)."""
    root = _root(self)
    storage = root.__dict__.get("_untyped_storage")
    if storage is None:
        storage = root.__dict__["_untyped_storage"] = UntypedStorage(root)
    return storage


_TYPED_STORAGE_WARNING = (
    "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be the "
    "only storage class. This should only matter to you if you are using storages directly.  "
    "To access UntypedStorage directly, use tensor.untyped_storage() instead of "
    "tensor.storage()")


def storage(self: Tensor) -> TypedStorage:
    """Deprecated: ``untyped_storage()`` seen as elements of this tensor's dtype."""
    warn_user_once(_TYPED_STORAGE_WARNING)
    return TypedStorage(untyped_storage(self), self.dtype)


def set_(self: Tensor, source=None, storage_offset=0, size=None, stride=None):
    """Not supported: gpugrad cannot point a tensor at other memory."""
    raise NotImplementedError("set_: gpugrad cannot point a tensor at another tensor's or "
                              "storage's memory")


def deepcopied(t: Tensor, memo: dict) -> Tensor:
    """``t``'s array in a new tensor, for ``copy.deepcopy``: the memory of ``t``'s root (``t``,
    or its ``_base``) is copied once per ``memo``, and every tensor on it copied under the same
    ``memo`` (a tensor and its views, as in one deep-copied container) gets the same place, sizes
    and strides in the copy, sharing it as they shared the original, as PyTorch's deepcopy
    shares a copied storage. The root's copy is the owner of the copied memory (the ``_base`` of
    the views' copies, hidden where the root itself is not copied). A view that reads the memory
    as another dtype gets memory of its own."""
    base = t._base
    root = t if base is None else base
    key = ("memory", id(root))  # (the entry keeps the root alive: its id stays unique)
    entry = memo.get(key)
    if entry is None:
        xp = root._backend.xp
        memory = _memory(xp, root._data).copy()
        entry = memo[key] = (root, type(root)._make(_placed(xp, memory, root._data, root._data),
                                                    root._backend), memory)
    _, root_copy, memory = entry
    if base is None:
        return root_copy
    data = t._data
    if data.dtype != memory.dtype:
        return type(t)._make(data.copy(), t._backend)
    view = root_copy._view(_placed(t._backend.xp, memory, data, root._data))
    view.__class__ = type(t)
    return view


def _placed(xp, memory, data, root_data):
    """The array over ``memory`` (the copy of ``root_data``'s memory) that lies where ``data``
    lies in ``root_data``'s, with its sizes and strides (read-only where ``data`` is: an
    expanded view's)."""
    offset = (_start(data) - _lowest_address(root_data)) // data.dtype.itemsize
    out = xp.lib.stride_tricks.as_strided(memory[offset:], shape=data.shape,
                                          strides=data.strides)
    if isinstance(data, np.ndarray) and not data.flags.writeable:
        out.flags.writeable = False
    return out


def is_storage(obj) -> bool:
    """Whether ``obj`` is a storage object (``untyped_storage()``, ``storage()``)."""
    return isinstance(obj, _Storage)


def dim_order(self: Tensor, *, ambiguity_check=False) -> tuple:
    """The dimensions from outermost to innermost in memory (``(0, 1, ..., n-1)`` when
    contiguous). Dimensions whose order memory does not fix (a stride of 0; equal strides,
    told apart by size) keep their logical order. ``ambiguity_check``: True, or a list of
    memory formats of which the tensor must match exactly one, raises RuntimeError when
    several orders fit."""
    sizes, strides = tuple(self.shape), self.stride()
    n = len(sizes)
    if ambiguity_check is not False:
        formats = ambiguity_check if isinstance(ambiguity_check, list) else []
        ambiguous = 1 in sizes or any(a == b for a, b in zip(strides, strides[1:]))
        if ambiguous and sum(self.is_contiguous(memory_format=f) for f in formats) != 1:
            raise RuntimeError("The tensor does not have unique dim order, or cannot map to "
                               "exact one of the given memory formats.")
    if n < 2:
        return tuple(range(n))
    row_major = self.is_contiguous()
    # PyTorch's shortcut looks at channels_last only (not channels_last_3d)
    channels_last = n == 4 and self.is_contiguous(memory_format=channels_last_format)
    if row_major != channels_last:
        return tuple(range(n)) if row_major else (0, *range(2, n), 1)
    order = list(range(n))
    # insertion sort from the innermost side with a partial order: a dim moves inward past
    # another only when memory says it is inner; when it cannot tell, the dims stay in order
    for i in range(n - 2, -1, -1):
        pos = i
        for j in range(i + 1, n):
            inward = _belongs_inside(order[pos], order[j], sizes, strides)
            if inward > 0:
                order[pos], order[j] = order[j], order[pos]
                pos = j
            elif inward < 0:
                break
    if ambiguity_check and any(_belongs_inside(a, b, sizes, strides) != -1
                               for a, b in zip(order, order[1:])):
        raise RuntimeError("The tensor does not have unique dim order.")
    return tuple(order)


def _belongs_inside(a: int, b: int, sizes, strides) -> int:
    """For dim ``a`` placed outside dim ``b``: 1 when memory puts ``a`` inside (a smaller
    stride, or an equal stride and a smaller size), -1 when it puts ``a`` outside, 0 when it
    does not tell (a 0 stride, or equal strides and sizes)."""
    if strides[a] == 0 or strides[b] == 0:
        return 0
    if strides[a] != strides[b]:
        return 1 if strides[a] < strides[b] else -1
    return 1 if sizes[a] < sizes[b] else 0


METHODS = {
    "untyped_storage": untyped_storage, "storage": storage, "set_": set_,
    "dim_order": dim_order,
}
