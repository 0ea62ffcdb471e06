"""Zero-copy exchange with other array libraries: DLPack and ``__cuda_array_interface__``.

``gpugrad.from_dlpack(x)`` wraps the memory of a PyTorch, CuPy, JAX or NumPy array (anything
with ``__dlpack__``) as a Tensor on the same device, and ``torch.from_dlpack(t)`` /
``cupy.from_dlpack(t)`` / ``np.from_dlpack(t)`` do the reverse with a gpugrad Tensor. Nothing is
copied: writes on either side are seen by the other (and are not tracked by autograd's version
counter). ``to_dlpack``/``from_dlpack`` also exchange DLPack capsules, the older protocol
(``torch.utils.dlpack``).
"""

from __future__ import annotations

import ctypes

from ._dtype import from_numpy_dtype
from .backend import cpu_backend, get_backend
from .tensor import Tensor

__all__ = ["from_dlpack", "to_dlpack"]

_DL_CPU, _DL_CUDA, _DL_CUDA_HOST, _DL_CUDA_MANAGED = 1, 2, 3, 13


_capsule_pointer = ctypes.pythonapi.PyCapsule_GetPointer
_capsule_pointer.restype = ctypes.c_void_p
_capsule_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]


class _Capsule:
    """A DLPack capsule presented through the protocol's methods, for NumPy's and CuPy's
    ``from_dlpack``, which take only objects with ``__dlpack__``."""

    def __init__(self, capsule):
        try:
            address = _capsule_pointer(capsule, b"dltensor")
        except ValueError:  # (renamed once consumed)
            raise RuntimeError(
                "from_dlpack received an invalid capsule. Note that DLTensor capsules can be "
                "consumed only once.") from None
        # A DLManagedTensor starts with its DLTensor: the data pointer, then the device (two
        # int32: type, id).
        device = (ctypes.c_int32 * 2).from_address(address + ctypes.sizeof(ctypes.c_void_p))
        self.capsule, self.device = capsule, (device[0], device[1])

    def __dlpack__(self, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return self.device


def from_dlpack(ext_tensor) -> Tensor:
    """A Tensor sharing the memory of ``ext_tensor``, an object with ``__dlpack__`` or a
    DLPack capsule (``to_dlpack``'s; usable once)."""
    if isinstance(ext_tensor, Tensor):
        return ext_tensor
    if type(ext_tensor).__name__ == "PyCapsule":
        ext_tensor = _Capsule(ext_tensor)
    if hasattr(ext_tensor, "__dlpack_device__"):
        kind, index = ext_tensor.__dlpack_device__()
    else:
        kind, index = _DL_CUDA, None
    if int(kind) in (_DL_CPU, _DL_CUDA_HOST):
        import numpy as np

        data = np.from_dlpack(ext_tensor)
        from_numpy_dtype(data.dtype)  # (a dtype gpugrad has; a first complex one opens its gate)
        return Tensor._make(data, cpu_backend())
    if int(kind) in (_DL_CUDA, _DL_CUDA_MANAGED):
        import cupy

        data = cupy.from_dlpack(ext_tensor)
        from_numpy_dtype(data.dtype)
        index = data.device.id if index is None else int(index)
        return Tensor._make(data, get_backend(f"cuda:{index}"))
    raise RuntimeError(f"from_dlpack: unsupported DLPack device type {kind}")


def to_dlpack(tensor: Tensor):
    """A DLPack capsule of ``tensor``'s memory, for a consumer that takes capsules (as
    PyTorch's, a tensor that requires grad is exported too: autograd does not see it)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"_to_dlpack(): argument 'data' (position 1) must be Tensor, not "
            f"{type(tensor).__name__}")
    return tensor._data.__dlpack__()


def _check_export(self: Tensor, what: str) -> None:
    if self._requires_grad:
        raise RuntimeError(
            f"Can't export tensors that require gradient through {what}, use tensor.detach()"
        )


def __dlpack__(self: Tensor, *, stream=None, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule of this tensor's memory (the producer side of ``from_dlpack``)."""
    _check_export(self, "__dlpack__")
    kwargs = {"stream": stream}
    if max_version is not None:
        kwargs["max_version"] = max_version
    if dl_device is not None:
        kwargs["dl_device"] = dl_device
    if copy is not None:
        kwargs["copy"] = copy
    if self._backend.device.type == "cpu":
        kwargs.pop("stream")
        if stream is not None and stream != -1:
            raise BufferError("__dlpack__: stream must be None for a CPU tensor")
    return self._data.__dlpack__(**kwargs)


def __dlpack_device__(self: Tensor):
    """``(device_type, device_id)`` as DLPack numbers them (1 CPU, 2 CUDA)."""
    return self._data.__dlpack_device__()


def _cuda_array_interface(self: Tensor) -> dict:
    if self._backend.device.type != "cuda":
        raise AttributeError(
            f"Can't get __cuda_array_interface__ on non-CUDA tensor type: {self.device}. "
            "If CUDA data is required use tensor.cuda() to copy tensor to device memory."
        )
    _check_export(self, "__cuda_array_interface__")
    return self._data.__cuda_array_interface__


METHODS = {
    "__dlpack__": __dlpack__,
    "__dlpack_device__": __dlpack_device__,
    "__cuda_array_interface__": property(_cuda_array_interface),
}
