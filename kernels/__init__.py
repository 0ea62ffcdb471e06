"""Triton kernels and their host launchers (installed as ``gpugrad.kernels``).

Kernels see raw arrays, never Tensors. Each launcher has the signature of its NumPy twin in
``gpugrad/backend``; the CUDA backend and the interpreter backend bind them
(``gpugrad/backend/triton_primitives.py``).

How the kernels run is decided once, when this package is imported (Triton reads
``TRITON_INTERPRET`` when ``@triton.jit`` decorates a kernel):

- ``"compiled"``: on a GPU, on CuPy arrays, launched on CuPy's current stream and device;
- ``"interpret"``: under Triton's interpreter on NumPy arrays (``GPUGRAD_KERNELS=interpret`` or
  ``TRITON_INTERPRET=1``, or no GPU visible); slow, for tests;
- ``"aot"``: ``GPUGRAD_TRITON_AOT=<arch>`` (e.g. ``90``) compiles each launch for that GPU
  architecture without running it (launchers take NumPy arrays, outputs stay unwritten): a
  CPU-only check that every kernel compiles, and a look at the code it compiles to.
"""

from __future__ import annotations

import os

from .._env import kernels_setting


def _decide_mode() -> str:
    if os.environ.get("GPUGRAD_TRITON_AOT"):
        return "aot"
    if kernels_setting() == "interpret":
        return "interpret"
    flag = os.environ.get("TRITON_INTERPRET", "").strip()
    if flag == "1":
        return "interpret"
    if flag != "0" and not _gpu_visible():
        return "interpret"
    return "compiled"


def _gpu_visible() -> bool:
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # CuPy missing, or no driver / device
        return False


MODE = _decide_mode()
INTERPRET = MODE == "interpret"
if INTERPRET:
    os.environ["TRITON_INTERPRET"] = "1"
    from ._triton_compat import fix_bfloat16_rounding, fix_interpreter

    fix_interpreter()
    fix_bfloat16_rounding()
elif MODE == "aot":
    os.environ["TRITON_INTERPRET"] = "0"

__all__ = ["MODE", "INTERPRET"]
