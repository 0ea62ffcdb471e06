"""``gpugrad.backends``: the optional backends PyTorch's ``torch.backends`` reports on. Only
Apple's MPS is asked about by the tutorials' device selection; gpugrad has no MPS backend."""

from __future__ import annotations

from . import mps

__all__ = ["mps"]
