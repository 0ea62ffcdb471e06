"""How the benchmark suite reads a device: the clocks around a batch of calls (the host
clock on the CPU; CUDA events of the implementation's own library, after a synchronize, on a
GPU) and the peak memory of one call (tracemalloc on the CPU; PyTorch's peak counter or the
growth of CuPy's pool on a GPU)."""

from __future__ import annotations

import gc
import time
import tracemalloc

__all__ = ["CpuClock", "CudaEventClock", "clock_for", "peak_memory", "release_device_memory"]

# Implementations whose GPU work is queued by PyTorch (timed with torch's events).
_TORCH_IMPLS = {"torch", "torch.compile", "liger"}


# ----------------------------------------------------------------------------------- clocks
class CpuClock:
    """Host clock around a batch of calls."""

    def sync(self) -> None:
        pass

    def time(self, step, number: int) -> float:
        start = time.perf_counter()
        for _ in range(number):
            step()
        return time.perf_counter() - start


class CudaEventClock:
    """CUDA events on the current stream of ``lib`` ("cupy" or "torch") around a batch."""

    def __init__(self, lib: str):
        import importlib

        self.lib = lib
        self.module = importlib.import_module(lib)

    def sync(self) -> None:
        _cuda_sync_all()

    def time(self, step, number: int) -> float:
        self.sync()
        if self.lib == "torch":
            cuda = self.module.cuda
            start, end = cuda.Event(enable_timing=True), cuda.Event(enable_timing=True)
            start.record()
            for _ in range(number):
                step()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3
        cuda = self.module.cuda
        start, end = cuda.Event(), cuda.Event()
        start.record()
        for _ in range(number):
            step()
        end.record()
        end.synchronize()
        return cuda.get_elapsed_time(start, end) / 1e3


def _cuda_sync_all() -> None:
    """Wait for both libraries' queued GPU work (whichever of them this process has imported)."""
    import sys

    if "cupy" in sys.modules:
        sys.modules["cupy"].cuda.Device().synchronize()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def clock_for(device: str, impl: str):
    if device == "cpu":
        return CpuClock()
    if impl in _TORCH_IMPLS:
        return CudaEventClock("torch")
    return CudaEventClock("cupy")



def peak_memory(step, device: str, impl: str) -> int | None:
    """Bytes one call of ``step`` allocates at its peak beyond what existed before it.

    CPU: tracemalloc (NumPy reports its buffers to it; PyTorch's CPU allocator does not, so
    None), plus what the step keeps allocated between calls when it says so (``step.held_bytes()``:
    a compiled program's buffers, allocated once at capture, are part of every step's peak).
    GPU: PyTorch's peak-allocated counter, or the growth of CuPy's memory pool from an emptied
    pool (its high-water mark, rounded up to the pool's block sizes).
    """
    gc.collect()
    if device == "cpu":
        if impl in _TORCH_IMPLS:
            return None
        held = getattr(step, "held_bytes", None)
        tracemalloc.start()
        try:
            step()
            return tracemalloc.get_traced_memory()[1] + (held() if callable(held) else 0)
        finally:
            tracemalloc.stop()
    _cuda_sync_all()
    if impl in _TORCH_IMPLS:
        import torch

        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step()
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    import cupy

    pool = cupy.get_default_memory_pool()
    pool.free_all_blocks()
    base = pool.total_bytes()
    step()
    _cuda_sync_all()
    return pool.total_bytes() - base


def release_device_memory(device: str) -> None:
    gc.collect()
    if device != "cuda":
        return
    import sys

    if "cupy" in sys.modules:
        sys.modules["cupy"].get_default_memory_pool().free_all_blocks()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
