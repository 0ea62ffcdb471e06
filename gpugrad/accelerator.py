"""``gpugrad.accelerator``: the device-agnostic API of ``torch.accelerator``, which the PyTorch
tutorials open with::

    device = torch.accelerator.current_accelerator().type if torch.accelerator.is_available() \\
        else "cpu"

gpugrad's one accelerator is CUDA (through CuPy): with a GPU every function here is the
``gpugrad.cuda`` one of the same meaning; without one, ``is_available()`` is False,
``device_count()`` 0, and what needs a device raises as PyTorch does.
"""

from __future__ import annotations

import importlib.util
import warnings

from . import cuda
from ._device import device as _device_cls
from .backend import cuda_available

__all__ = [
    "is_available", "current_accelerator", "device_count", "current_device_index",
    "current_device_idx", "set_device_index", "set_device_idx", "device_index", "synchronize",
    "empty_cache", "memory_allocated", "max_memory_allocated", "memory_reserved",
    "reset_peak_memory_stats", "max_memory_reserved", "memory_stats", "get_memory_info",
    "reset_accumulated_memory_stats", "empty_host_cache", "current_stream", "set_stream",
    "get_device_capability",
]

_NONE = "Cannot access accelerator device when none is available."


def is_available() -> bool:
    """True when an accelerator (a CUDA GPU that CuPy sees) can be used."""
    return cuda_available()


def current_accelerator(check_available: bool = False) -> _device_cls | None:
    """``device('cuda')`` when gpugrad is installed with CuPy (with ``check_available``, only
    when a GPU is also visible); None otherwise."""
    if check_available:
        return _device_cls("cuda") if is_available() else None
    return _device_cls("cuda") if importlib.util.find_spec("cupy") is not None else None


def device_count() -> int:
    """The number of accelerator devices (0 without one)."""
    return cuda.device_count() if is_available() else 0


def _require() -> None:
    if not is_available():
        raise RuntimeError(_NONE)


def current_device_index() -> int:
    """The index of the current accelerator device."""
    _require()
    return cuda.current_device()


def set_device_index(device, /) -> None:
    """Make ``device`` (an index, ``'cuda:1'`` or a ``device``; None: no change) current."""
    _require()
    if device is not None:
        cuda.set_device(device)


def current_device_idx() -> int:
    """Deprecated name of ``current_device_index``."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_idx(device, /) -> None:
    """Deprecated name of ``set_device_index``."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


class device_index:
    """Context manager: ``device`` (an index; None changes nothing) is the current accelerator
    device inside, the previous one again after."""

    def __init__(self, device, /):
        self.index, self._previous = device, None

    def __enter__(self):
        if self.index is not None:
            self._previous = current_device_index()
            set_device_index(self.index)
        return self

    def __exit__(self, *exc) -> bool:
        if self._previous is not None:
            set_device_index(self._previous)
        return False


def synchronize(device=None, /) -> None:
    """Wait for all work queued on ``device`` (default: the current one) to finish."""
    _require()
    cuda.synchronize(device)


def empty_cache() -> None:
    """Return the memory pool's unused blocks to the driver."""
    _require()
    cuda.empty_cache()


def memory_allocated(device_index=None, /) -> int:
    """Bytes held by live tensors on the device."""
    _require()
    return cuda.memory_allocated(device_index)


def max_memory_allocated(device_index=None, /) -> int:
    """The peak of ``memory_allocated`` since ``reset_peak_memory_stats``."""
    _require()
    return cuda.max_memory_allocated(device_index)


def memory_reserved(device_index=None, /) -> int:
    """Bytes the memory pool holds on the device."""
    _require()
    return cuda.memory_reserved(device_index)


def reset_peak_memory_stats(device_index=None, /) -> None:
    """Start tracking ``max_memory_allocated`` afresh."""
    _require()
    cuda.reset_peak_memory_stats(device_index)


def max_memory_reserved(device_index=None, /) -> int:
    """The peak of ``memory_reserved`` (not tracked by gpugrad: raises NotImplementedError)."""
    _require()
    return cuda.max_memory_reserved(device_index)


def memory_stats(device_index=None, /) -> dict:
    """The memory statistics gpugrad keeps (``gpugrad.cuda.memory_stats``)."""
    _require()
    return cuda.memory_stats(device_index)


def get_memory_info(device_index=None, /) -> tuple[int, int]:
    """``(free, total)`` bytes of the device's memory, as the driver reports them."""
    _require()
    return cuda.mem_get_info(device_index)


def reset_accumulated_memory_stats(device_index=None, /) -> None:
    """Nothing to reset: gpugrad keeps no accumulated (historical) counts."""
    _require()


def empty_host_cache() -> None:
    """Return the pinned host memory pool's unused blocks."""
    _require()
    cuda._cupy().get_default_pinned_memory_pool().free_all_blocks()


def current_stream(device=None, /):
    """The current stream of ``device`` (default: the current device)."""
    _require()
    return cuda.current_stream(device)


def set_stream(stream) -> None:
    """Make ``stream`` the current stream (of the current device)."""
    _require()
    stream.use()


def get_device_capability(device=None, /) -> dict:
    """What the device supports: ``{"supported_dtypes": set of dtypes}``, every gpugrad
    dtype on a CUDA GPU."""
    _require()
    from ._dtype import _ALL

    cuda._index(device)  # (checks the device)
    return {"supported_dtypes": set(_ALL)}
