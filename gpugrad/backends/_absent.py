"""The CPU libraries ``torch.backends`` reports on that gpugrad does not use: NumPy's own BLAS
does its CPU math, so ``mkldnn``, ``mkl`` and ``openmp`` are unavailable here, and programs that
ask before switching them on take their other branch."""

from __future__ import annotations

import sys
import types


def _absent_library(name: str) -> types.ModuleType:
    module = types.ModuleType(f"gpugrad.backends.{name}",
                              f"gpugrad does not use {name}: is_available() is False.")
    module.is_available = lambda: False
    module.__all__ = ["is_available"]
    sys.modules[module.__name__] = module  # (``import gpugrad.backends.mkldnn`` works too)
    return module


mkldnn = _absent_library("mkldnn")
mkldnn.enabled = False  # (PyTorch's switch: nothing to switch here)
mkl = _absent_library("mkl")
openmp = _absent_library("openmp")
