"""Float32 matmul precision (PyTorch's ``set_float32_matmul_precision`` and
``backends.cuda.matmul.allow_tf32``), and what it means for cuBLAS through CuPy.

"highest" (the default, as PyTorch's) multiplies float32 in float32; "high" and "medium" let
cuBLAS use TF32 tensor cores (10-bit mantissa inputs, float32 accumulation) on GPUs that have
them. CPU matmul (NumPy's BLAS) is always float32. CuPy reads its compute type per dtype from a
process-wide setting, which is switched here whenever the precision changes and when the first
CUDA backend is made.
"""

from __future__ import annotations

import sys

__all__ = ["PRECISIONS", "get_precision", "set_precision", "tf32_enabled", "apply_to_cupy"]

PRECISIONS = ("highest", "high", "medium")
_state = {"precision": "highest"}


def get_precision() -> str:
    return _state["precision"]


def set_precision(precision: str) -> None:
    _state["precision"] = precision
    apply_to_cupy()


def tf32_enabled() -> bool:
    return _state["precision"] != "highest"


def apply_to_cupy() -> None:
    """Point CuPy's float32 matmul at TF32 or plain float32 (nothing when CuPy is not in use)."""
    if "cupy" not in sys.modules or "gpugrad.backend.cuda_backend" not in sys.modules:
        return
    import numpy as np
    from cupy._core import _routines_linalg as linalg

    # CuPy's compute-type codes (cupy/_core/_routines_linalg.pxd): DEFAULT 1, TF32 7.
    mode = getattr(linalg, "COMPUTE_TYPE_TF32", 7) if tf32_enabled() else getattr(
        linalg, "COMPUTE_TYPE_DEFAULT", 1)
    linalg.set_compute_type(np.float32, mode)
