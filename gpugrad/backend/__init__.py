"""Backends: one per device, each the array module plus the fused primitives.

``get_backend(device)`` returns the backend object that tensors on that device carry. CPU tensors
use the NumPy twins, or with ``GPUGRAD_KERNELS=interpret`` the Triton kernels under Triton's
interpreter (slow; for tests). CUDA tensors use CuPy arrays and compiled Triton kernels.
"""

from __future__ import annotations

import warnings

from .._device import device
from .._env import kernels_setting
from .numpy_backend import NumpyBackend

__all__ = ["NumpyBackend", "get_backend", "cpu_backend", "cuda_available", "kernel_mode"]

# NumPy warns where PyTorch silently returns inf or nan (log(0), exp overflow, 0/0). Hide those
# warnings for code in gpugrad only; the caller's own NumPy code keeps its warnings.
warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"gpugrad(\..*)?$")


kernel_mode = kernels_setting  # "numpy" (twins on CPU) or "interpret" (kernels interpreted)


_backends: dict = {}


def cpu_backend() -> NumpyBackend:
    """The backend of CPU tensors."""
    b = _backends.get("cpu")
    if b is None:
        if kernel_mode() == "interpret":
            from .interpret_backend import InterpretBackend

            b = InterpretBackend()
        else:
            b = NumpyBackend()
        _register("cpu", b)
    return b


def _cuda_backend(index: int | None):
    if not cuda_available():
        raise RuntimeError(
            "CUDA is not available: gpugrad needs CuPy and a visible NVIDIA GPU for "
            "device='cuda' (pip install gpugrad[gpu]); use device='cpu' instead"
        )
    from .cuda_backend import CudaBackend, current_device_index

    if index is None:
        index = current_device_index()
    key = ("cuda", index)
    b = _backends.get(key)
    if b is None:
        count = device_count()
        if index >= count:
            raise RuntimeError(f"CUDA device {index} does not exist: {count} device(s) visible")
        b = _register(key, CudaBackend(index))
    return b


def get_backend(dev) -> NumpyBackend:
    """The backend for a ``device`` (or device string)."""
    if dev.__class__ is not device:
        dev = device(dev)
    if dev.type == "cpu":
        return cpu_backend()
    if dev.type == "meta":
        return _meta_backend()
    return _cuda_backend(dev.index)


def _meta_backend():
    b = _backends.get("meta")
    if b is None:
        from .meta_backend import MetaBackend

        b = _register("meta", MetaBackend())
    return b


_cuda_ok: bool | None = None


def cuda_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    global _cuda_ok
    if _cuda_ok is None:
        _cuda_ok = device_count() > 0
    return _cuda_ok


def device_count() -> int:
    try:
        import cupy
    except Exception:  # not installed, or its CUDA libraries are missing
        return 0
    try:
        return int(cupy.cuda.runtime.getDeviceCount())
    except Exception:  # no driver or no device
        return 0


_seed: int | None = None


def manual_seed(seed: int) -> None:
    """Seed every backend, including those created later."""
    global _seed
    _seed = seed
    for b in _backends.values():
        b.manual_seed(seed)


def _register(key, b):
    if _seed is not None:
        b.manual_seed(_seed)
    _backends[key] = b
    return b


if kernels_setting() == "interpret":
    # Built at import: building it imports PyTorch (the interpreter's bridge), and that import
    # keeps the frames on the stack alive until the garbage collector runs (kernels/_launch.py);
    # at a first op those would be the caller's, holding its tensors.
    cpu_backend()
