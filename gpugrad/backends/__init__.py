"""``gpugrad.backends``: PyTorch's switches for the math libraries (``backends.cuda.matmul``,
``backends.cudnn``), and the optional backends ``torch.backends`` reports on: only Apple's MPS
is asked about by the tutorials' device selection; gpugrad has no MPS backend."""

from __future__ import annotations

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
