"""The machine a run measures: its name, its cache size, and the physical floor (copy bandwidth)."""

from __future__ import annotations

import os
import platform
import re

import numpy as np

from .clocks import CpuClock, CudaEventClock
from .harness import Budget, measure
from .peers import cuda_device_name

__all__ = ["describe", "cache_bytes", "copy_bandwidth"]

COPY_MIB = {"cpu": {"full": 256, "quick": 64, "smoke": 8},
            "cuda": {"full": 1024, "quick": 256, "smoke": 16}}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(device: str) -> dict:
    """Where this run happens; ``slug`` names the result files."""
    info = {"cpu": _cpu_model(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "platform": platform.platform()}
    if device == "cuda":
        info["gpu"] = cuda_device_name() or "unknown GPU"
        info["name"] = info["gpu"]
    else:
        info["name"] = f"{info['cpu']} ({info['cores']} cores)"
    info["slug"] = re.sub(r"[^A-Za-z0-9]+", "-", info["name"]).strip("-").lower()
    return info


def cache_bytes(device: str) -> int:
    """The last-level cache (CPU) or L2 (GPU) in bytes; inputs smaller than it rotate."""
    if device == "cuda":
        try:
            import cupy

            return int(cupy.cuda.Device().attributes["L2CacheSize"])
        except Exception:
            return 64 << 20
    best = 0
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for entry in os.listdir(base):
            if entry.startswith("index"):
                with open(f"{base}/{entry}/size") as f:
                    text = f.read().strip()
                scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1], 1)
                best = max(best, int(text.rstrip("KMG")) * scale)
    except (OSError, ValueError):
        pass
    return best or 32 << 20


def copy_bandwidth(device: str, scale: str, budget: Budget, lib: str = "cupy") -> dict:
    """The physical floor: device-to-device copy bandwidth (bytes read + written per second)."""
    n = COPY_MIB[device][scale] << 20
    if device == "cpu":
        src = np.random.default_rng(0).random(n // 4, dtype=np.float32)
        dst = np.empty_like(src)

        def step():
            np.copyto(dst, src)

        clock, how = CpuClock(), "numpy.copyto"
    elif lib == "cupy":
        import cupy

        src = cupy.random.random(n // 4, dtype=cupy.float32)
        dst = cupy.empty_like(src)

        def step():
            dst.data.copy_from_device_async(src.data, n)

        clock, how = CudaEventClock("cupy"), "cudaMemcpyAsync device-to-device (CuPy)"
    else:
        import torch

        src = torch.rand(n // 4, device="cuda")
        dst = torch.empty_like(src)

        def step():
            dst.copy_(src)

        clock, how = CudaEventClock("torch"), "Tensor.copy_ (PyTorch)"
    stats = measure(step, clock, budget)
    return {"gbps": 2 * n / stats.median / 1e9, "bytes": n, "median_s": stats.median,
            "spread": stats.spread, "how": how}
