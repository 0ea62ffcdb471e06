"""``gpugrad.backends``: PyTorch's switches for the math libraries (``backends.cuda.matmul``,
``backends.cudnn``), and the optional backends ``torch.backends`` reports on: only Apple's MPS
is asked about by the tutorials' device selection; gpugrad has no MPS backend, and does not use
MKL, oneDNN (``mkldnn``) or OpenMP."""

from __future__ import annotations

from . import cuda, cudnn, mps
from ._absent import mkl, mkldnn, openmp

__all__ = ["cuda", "cudnn", "mps", "mkl", "mkldnn", "openmp"]
