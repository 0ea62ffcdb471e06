"""``gpugrad.cuda.memory``: the memory statistics of CuPy's pool, as ``torch.cuda.memory``.

Memory is CuPy's memory pool (``cupy.get_default_memory_pool()``): ``memory_allocated`` is the
bytes of live arrays, ``memory_reserved`` what the pool holds from the driver, and
``empty_cache`` returns unused blocks to the driver. The peak of ``max_memory_allocated`` is
tracked by a CuPy memory hook that ``reset_peak_memory_stats`` installs (from then on each pool
allocation and free pays a Python call); before that it reports the current allocation.
Without CUDA the statistics read 0 and ``empty_cache`` does nothing, as PyTorch's before CUDA
starts.
"""

from __future__ import annotations

import collections
import warnings

from ..backend import cuda_available
from . import _cupy, _index

__all__ = [
    "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
    "reset_peak_memory_stats", "memory_stats", "mem_get_info", "empty_cache",
    "memory_stats_as_nested_dict", "memory_summary", "memory_cached", "max_memory_cached",
]


def _pool():
    return _cupy().get_default_memory_pool()


def memory_allocated(device=None) -> int:
    """Bytes held by live CUDA arrays on ``device`` (0 without CUDA)."""
    if not cuda_available():
        return 0
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):
        return int(_pool().used_bytes())


def memory_reserved(device=None) -> int:
    """Bytes the memory pool holds on ``device`` (live arrays plus cached free blocks; 0
    without CUDA)."""
    if not cuda_available():
        return 0
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
    it was never called; 0 without CUDA)."""
    if not cuda_available():
        return 0
    index = _index(device)
    if _tracker is None or index not in _tracker.peak:
        return memory_allocated(index)
    return int(max(_tracker.peak[index], memory_allocated(index)))


def reset_peak_memory_stats(device=None) -> None:
    """Start tracking the peak of ``memory_allocated`` afresh from its current value."""
    index = _index(device)
    _peak_tracker().reset(index, memory_allocated(index))


def max_memory_reserved(device=None) -> int:
    """0 without CUDA. With CUDA, not supported: the pool's peak is not tracked (use
    ``memory_reserved`` or ``max_memory_allocated``)."""
    if not cuda_available():
        return 0
    _index(device)
    raise NotImplementedError(
        "max_memory_reserved: gpugrad does not track the peak of the memory pool's reserved "
        "bytes; memory_reserved() gives the current value, max_memory_allocated() the peak of "
        "live arrays")


def memory_stats(device=None) -> dict:
    """The allocation statistics that gpugrad keeps, under PyTorch's keys: the bytes of live
    arrays (current and peak, as ``max_memory_allocated``) and the pool's reserved bytes. An
    empty dict without CUDA, as PyTorch's before CUDA starts."""
    if not cuda_available():
        return collections.OrderedDict()
    allocated = memory_allocated(device)
    return collections.OrderedDict([
        ("active_bytes.all.current", allocated),
        ("allocated_bytes.all.current", allocated),
        ("allocated_bytes.all.peak", max_memory_allocated(device)),
        ("reserved_bytes.all.current", memory_reserved(device)),
    ])


def memory_stats_as_nested_dict(device=None) -> dict:
    """``memory_stats`` as nested dicts, one level per part of a key
    (``{"allocated_bytes": {"all": {"current": ...}}}``); empty without CUDA."""
    nested: dict = {}
    for key, value in memory_stats(device).items():
        *path, last = key.split(".")
        level = nested
        for part in path:
            level = level.setdefault(part, {})
        level[last] = value
    return nested


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 10 * 1024:
            return f"{n} {unit}"
        n //= 1024
    return f"{n} GiB"


def memory_summary(device=None, abbreviated: bool = False) -> str:
    """A table of the memory statistics gpugrad keeps (``memory_stats``), for printing: the
    bytes of live arrays (current and peak) and the pool's reserved bytes (current; its peak is
    not tracked). Zeros without CUDA. ``abbreviated`` is accepted for PyTorch's signature: the
    table is short either way."""
    index = _index(device) if cuda_available() else 0  # (the statistics read 0 without CUDA)
    rows = [("Allocated memory", _size(memory_allocated(index)),
             _size(max_memory_allocated(index))),
            ("Reserved memory", _size(memory_reserved(index)), "-")]
    width = 62
    rule = "|" + "=" * (width - 2) + "|"
    lines = [rule, f"| {'gpugrad CUDA memory summary, device ID ' + str(index):<{width - 4}} |",
             "|" + "-" * (width - 2) + "|",
             f"| {'Metric':<24} | {'Cur Usage':>14} | {'Peak Usage':>14} |",
             "|" + "-" * (width - 2) + "|"]
    lines += [f"| {name:<24} | {cur:>14} | {top:>14} |" for name, cur, top in rows]
    lines.append(rule)
    return "\n".join(lines) + "\n"


def memory_cached(device=None) -> int:
    """Deprecated: ``memory_reserved``."""
    warnings.warn("`torch.cuda.memory_cached` has been renamed to `torch.cuda.memory_reserved`",
                  FutureWarning, stacklevel=2)
    return memory_reserved(device)


def max_memory_cached(device=None) -> int:
    """Deprecated: ``max_memory_reserved``."""
    warnings.warn("`torch.cuda.max_memory_cached` has been renamed to "
                  "`torch.cuda.max_memory_reserved`", FutureWarning, stacklevel=2)
    return max_memory_reserved(device)


def mem_get_info(device=None) -> tuple[int, int]:
    """``(free, total)`` bytes of ``device``'s memory, as the driver reports them."""
    cupy = _cupy()
    with cupy.cuda.Device(_index(device)):
        free, total = cupy.cuda.runtime.memGetInfo()
    return int(free), int(total)


def empty_cache() -> None:
    """Return the pool's unused cached blocks to the driver (live arrays are untouched);
    nothing to do without CUDA."""
    if not cuda_available():
        return
    cupy = _cupy()
    _pool().free_all_blocks()
    cupy.get_default_pinned_memory_pool().free_all_blocks()
