"""``gpugrad.version``, as ``torch.version``: the library's version, and the CUDA version its GPU
path runs on (CuPy's CUDA runtime, read when first asked; None without CuPy). gpugrad builds no
ROCm, XPU or debug variant."""

from __future__ import annotations

__all__ = ["__version__", "cuda", "hip", "rocm", "xpu", "debug", "git_version"]  # noqa: F822 (cuda: lazy)

__version__ = "0.1.0"
hip = rocm = xpu = None
debug = False
git_version = "Unknown"


def __getattr__(name: str):
    if name == "cuda":
        return _cuda_runtime_version()
    raise AttributeError(f"module 'gpugrad.version' has no attribute {name!r}")


def _cuda_runtime_version() -> str | None:
    """``"major.minor"`` of the CUDA runtime CuPy was built for, or None without CuPy."""
    try:
        import cupy
    except Exception:  # not installed, or its CUDA libraries are missing
        return None
    number = int(cupy.cuda.runtime.runtimeGetVersion())  # 13000 for 13.0
    return f"{number // 1000}.{number % 1000 // 10}"
