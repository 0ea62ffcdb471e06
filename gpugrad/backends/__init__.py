"""``gpugrad.backends``: PyTorch's switches for the math libraries (``backends.cuda.matmul``,
``backends.cudnn``)."""

from __future__ import annotations

from . import cuda, cudnn

__all__ = ["cuda", "cudnn"]
