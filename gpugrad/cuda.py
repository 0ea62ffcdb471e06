"""``gpugrad.cuda``: devices, synchronization, seeds, streams and memory statistics.

Memory is CuPy's memory pool (``cupy.get_default_memory_pool()``): ``memory_allocated`` is the
bytes of live arrays, ``memory_reserved`` what the pool holds from the driver, and
``empty_cache`` returns unused blocks to the driver. The peak of ``max_memory_allocated`` is
tracked by a CuPy memory hook that ``reset_peak_memory_stats`` installs (from then on each pool
allocation and free pays a Python call); before that it reports the current allocation.
"""

from __future__ import annotations

from .backend import cuda_available
from .backend import device_count as _device_count

__all__ = [
    "is_available", "device_count", "current_device", "set_device", "device", "get_device_name",
    "get_device_capability", "synchronize", "manual_seed", "manual_seed_all", "memory_allocated",
    "max_memory_allocated", "memory_reserved", "reset_peak_memory_stats", "empty_cache",
    "Stream", "stream", "current_stream", "Event", "OutOfMemoryError",
]


class OutOfMemoryError(RuntimeError):
    """A device ran out of memory (``torch.OutOfMemoryError``, also ``torch.cuda``'s)."""


OutOfMemoryError.__module__ = "gpugrad"


def __getattr__(name: str):
    """The legacy CUDA types: ``gpugrad.cuda.FloatTensor``, ``gpugrad.cuda.LongTensor`` ..."""
    from .legacy import CUDA_TYPES

    if name in CUDA_TYPES and not name.startswith("UInt"):  # (PyTorch has no UInt16Tensor)
        return CUDA_TYPES[name]
    raise AttributeError(f"module 'gpugrad.cuda' has no attribute {name!r}")


def is_available() -> bool:
    """True when CuPy is installed and sees at least one GPU."""
    return cuda_available()


def device_count() -> int:
    """The number of GPUs CuPy sees (0 without CuPy or a driver)."""
    return _device_count()


def _cupy():
    if not cuda_available():
        raise RuntimeError("CUDA is not available: gpugrad needs CuPy and a visible NVIDIA GPU")
    import cupy

    return cupy


def _index(dev) -> int:
    """A device index from None (current), an int, a string or a ``gpugrad.device``."""
    if dev is None:
        return current_device()
    if isinstance(dev, int):
        return dev
    from ._device import device as device_cls

    d = device_cls(dev)
    if d.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {d}")
    return current_device() if d.index is None else d.index


def current_device() -> int:
    """The index of the current CUDA device."""
    return int(_cupy().cuda.runtime.getDevice())


def set_device(device) -> None:
    """Make ``device`` the current CUDA device (where new CUDA work goes)."""
    _cupy().cuda.runtime.setDevice(_index(device))


class device:
    """Context manager that makes ``device`` current and restores the previous one on exit."""

    def __init__(self, device):
        self.index = _index(device)
        self._previous = None

    def __enter__(self):
        self._previous = current_device()
        set_device(self.index)
        return self

    def __exit__(self, *exc):
        set_device(self._previous)
        return False


def get_device_name(device=None) -> str:
    name = _cupy().cuda.runtime.getDeviceProperties(_index(device))["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


def get_device_capability(device=None) -> tuple[int, int]:
    props = _cupy().cuda.runtime.getDeviceProperties(_index(device))
    return int(props["major"]), int(props["minor"])


def synchronize(device=None) -> None:
    """Wait until all work queued on ``device`` (every stream) has finished."""
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):
        cupy.cuda.runtime.deviceSynchronize()


def manual_seed(seed: int) -> None:
    """Seed the random generator of the current CUDA device (ignored without CUDA)."""
    if not cuda_available():
        return
    from .backend import get_backend

    get_backend(f"cuda:{current_device()}").manual_seed(int(seed))


def manual_seed_all(seed: int) -> None:
    """Seed the random generators of every CUDA device (ignored without CUDA)."""
    if not cuda_available():
        return
    from .backend import get_backend

    for i in range(device_count()):
        get_backend(f"cuda:{i}").manual_seed(int(seed))


# ------------------------------------------------------------------------------- memory
def _pool():
    return _cupy().get_default_memory_pool()


def memory_allocated(device=None) -> int:
    """Bytes held by live CUDA arrays on ``device``."""
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):
        return int(_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes the memory pool holds on ``device`` (live arrays plus cached free blocks)."""
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):
        return int(_pool().total_bytes())


_tracker = None


def _peak_tracker():
    """The memory hook that follows the pool's used bytes per device, created on first use."""
    global _tracker
    if _tracker is None:
        from cupy.cuda import memory_hook

        class PeakTracker(memory_hook.MemoryHook):
            name = "gpugrad_peak_memory"

            def __init__(self):
                self.used: dict = {}
                self.peak: dict = {}

            def reset(self, index: int, used: int) -> None:
                self.used[index] = used
                self.peak[index] = used

            def malloc_postprocess(self, device_id, size, mem_size, mem_ptr, pmem_id):
                used = self.used.get(device_id, 0) + mem_size
                self.used[device_id] = used
                if used > self.peak.get(device_id, 0):
                    self.peak[device_id] = used

            def free_postprocess(self, device_id, mem_size, mem_ptr, pmem_id):
                self.used[device_id] = self.used.get(device_id, 0) - mem_size

        _tracker = PeakTracker()
        _tracker.__enter__()  # installed for this thread for the rest of the process
    return _tracker


def max_memory_allocated(device=None) -> int:
    """The peak of ``memory_allocated`` since ``reset_peak_memory_stats`` (the current value if
    it was never called)."""
    index = _index(device)
    if _tracker is None or index not in _tracker.peak:
        return memory_allocated(index)
    return int(max(_tracker.peak[index], memory_allocated(index)))


def reset_peak_memory_stats(device=None) -> None:
    """Start tracking the peak of ``memory_allocated`` afresh from its current value."""
    index = _index(device)
    _peak_tracker().reset(index, memory_allocated(index))


def empty_cache() -> None:
    """Return the pool's unused cached blocks to the driver (live arrays are untouched)."""
    cupy = _cupy()
    _pool().free_all_blocks()
    cupy.get_default_pinned_memory_pool().free_all_blocks()


# ------------------------------------------------------------------------------ streams
def current_stream(device=None):
    """CuPy's current stream (where gpugrad's kernels and CuPy's own work are queued)."""
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):
        return cupy.cuda.get_current_stream()


_stream_cls = None


def Stream(device=None, priority: int = 0):  # noqa: N802 - PyTorch's name for a class
    """A new CUDA stream on ``device`` (a ``cupy.cuda.Stream`` with PyTorch's ``wait_stream``);
    ``with gpugrad.cuda.stream(s):`` queues gpugrad's kernels and CuPy's work on it."""
    global _stream_cls
    cupy = _cupy()
    if _stream_cls is None:

        class _Stream(cupy.cuda.Stream):
            def wait_stream(self, other) -> None:
                """Make later work on this stream wait for the work queued on ``other``."""
                self.wait_event(other.record())

        _stream_cls = _Stream
    with cupy.cuda.Device(_index(device)):
        return _stream_cls()


def stream(s):
    """Context manager that makes ``s`` the current stream (``None``: no change)."""
    import contextlib

    return contextlib.nullcontext() if s is None else s


def Event(*args, **kwargs):  # noqa: N802 - PyTorch's name for a class
    """A CUDA event (``cupy.cuda.Event``): ``record()``, ``synchronize()``, ``elapsed_time``."""
    return _cupy().cuda.Event(*args, **kwargs)
