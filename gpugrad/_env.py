"""``GPUGRAD_KERNELS``, read here and nowhere else (``gpugrad.kernels`` decides how kernels run
from it, ``gpugrad.backend`` which backend CPU tensors get)."""

from __future__ import annotations

import os

__all__ = ["kernels_setting"]

_KERNELS = ("numpy", "interpret")


def kernels_setting() -> str:
    """``"numpy"`` (the default: CPU tensors run the NumPy twins) or ``"interpret"`` (CPU
    tensors run the Triton kernels under Triton's interpreter: slow, for tests)."""
    mode = os.environ.get("GPUGRAD_KERNELS", "numpy").strip().lower() or "numpy"
    if mode not in _KERNELS:
        raise ValueError(f"GPUGRAD_KERNELS must be 'numpy' or 'interpret', got {mode!r}")
    return mode
