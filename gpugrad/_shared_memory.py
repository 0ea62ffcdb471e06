"""CPU tensors in memory that other processes can map: ``Tensor.share_memory_`` and the way a
shared tensor crosses a process boundary.

``share_memory_`` copies a tensor's NumPy array into an anonymous shared file (``memfd`` on
Linux, an unlinked temporary file elsewhere) mapped with ``mmap`` and points the tensor at the
copy. A child started by ``fork`` inherits the mapping. For ``spawn``, ``forkserver`` and
queues, ``multiprocessing``'s pickler (``ForkingPickler``, which ``Process`` arguments and
``Queue`` items go through) sends a shared tensor as the file's descriptor plus its layout, and
the receiver maps the same pages; a tensor that is not shared goes as a copy (its ordinary
pickle). Plain ``pickle``, ``gpugrad.save`` and ``deepcopy`` always copy.

The file stays open as long as some array maps it (``weakref.finalize`` closes it with the
mapping), so that a process that received a shared tensor can pass it on.
"""

from __future__ import annotations

import mmap
import os
import sys
import tempfile
import weakref
from multiprocessing.reduction import DupFd, ForkingPickler

import numpy as np

from .autograd.views import forget


class SharedMapping(mmap.mmap):
    """A shared file's pages mapped into this process; ``fd`` is the file."""

    fd: int


def _map(fd: int, nbytes: int) -> SharedMapping:
    mapping = SharedMapping(fd, nbytes)
    mapping.fd = fd
    weakref.finalize(mapping, os.close, fd)
    return mapping


def _new_file(nbytes: int) -> int:
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("gpugrad-shared", os.MFD_CLOEXEC)
    else:  # an unlinked temporary file: gone from the file system, alive while mapped
        with tempfile.TemporaryFile() as f:
            fd = os.dup(f.fileno())
    os.ftruncate(fd, nbytes)
    return fd


def mapping_of(array) -> SharedMapping | None:
    """The shared mapping whose pages ``array`` (a NumPy array) lies in, or None."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):  # (np.frombuffer's array holds a memoryview of the map)
        base = base.obj
    return base if isinstance(base, SharedMapping) else None


def shared_copy(array: np.ndarray) -> np.ndarray:
    """A copy of ``array`` (same shape and dtype, row-major) in a new shared mapping."""
    nbytes = array.size * array.dtype.itemsize
    mapping = _map(_new_file(max(nbytes, 1)), max(nbytes, 1))  # (mmap refuses 0 bytes)
    out = np.frombuffer(mapping, dtype=array.dtype, count=array.size).reshape(array.shape)
    out[...] = array
    return out


def move_to_shared(t) -> None:
    """Point the CPU tensor ``t`` (not shared yet) at a shared copy of its array. Refused
    while other tensors or arrays use its memory: they would go on with the private copy."""
    if _others_use(t):
        raise RuntimeError(
            "share_memory_(): other tensors use this tensor's memory (the tensor it views, its "
            "views, .data or detach() aliases, arrays from .numpy(), or values saved for "
            "backward), and gpugrad cannot move them with it; call share_memory_() on the "
            "tensor before making them")
    register()
    t._data = shared_copy(t._data)
    if t._base is not None:  # it viewed memory nothing else reaches: now it has its own
        forget(t)
        t._base = None


def _others_use(t) -> bool:
    """Whether anything but ``t`` reaches ``t``'s memory, counted in references: ``t``'s array
    is held by ``t`` (and ``getrefcount``'s argument); a view's base tensor by ``t._base``,
    ``t``'s view registration and this frame; the base's array by the base and ``t``'s
    array (a NumPy view of it). Anything more is another user."""
    if sys.getrefcount(t._data) > 2:
        return True
    base = t._base
    if base is None:
        return False
    info = t._view_of
    holders = 3 + (info is not None and info[0] is base)  # (+1: getrefcount's argument)
    return sys.getrefcount(base) > holders or sys.getrefcount(base._data) > 3


def _rebuild_shared(cls, fd_handle, nbytes: int, dtype, shape: tuple, strides: tuple,
                    offset: int, requires_grad: bool):
    from .backend import cpu_backend
    from .tensor import Tensor

    register()
    mapping = _map(fd_handle.detach(), nbytes)
    array = np.ndarray(shape, dtype, buffer=mapping, offset=offset, strides=strides)
    t = Tensor._make(array, cpu_backend())
    if cls is not Tensor:  # nn.Parameter (the only other class registered)
        return cls(t, requires_grad)
    t._requires_grad = requires_grad
    return t


def _reduce_for_process(t):
    """How ``ForkingPickler`` sends ``t``: by its shared file, if it has one; else a copy."""
    mapping = mapping_of(t._data) if t.device.type == "cpu" else None
    if mapping is None:
        return t.__reduce_ex__(4)
    data = t._data
    start = data.__array_interface__["data"][0]
    offset = start - np.frombuffer(mapping, np.uint8, count=1).__array_interface__["data"][0]
    return (_rebuild_shared, (type(t), DupFd(mapping.fd), len(mapping), data.dtype,
                              data.shape, data.strides, offset, bool(t._requires_grad)))


_registered = []


def register() -> None:
    """Have ``ForkingPickler`` send Tensors and Parameters by their shared memory (done on the
    first ``share_memory_``, and by a process that receives a shared tensor)."""
    if _registered:
        return
    from .nn.parameter import Parameter
    from .tensor import Tensor

    for cls in (Tensor, Parameter):
        ForkingPickler.register(cls, _reduce_for_process)
    _registered.append(True)
