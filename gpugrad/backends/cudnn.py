"""``gpugrad.backends.cudnn``: PyTorch's cuDNN switches, kept so that programs setting them run.

gpugrad does not use cuDNN (convolutions are im2col plus cuBLAS matmul, which follow
``backends.cuda.matmul.allow_tf32``): ``is_available()`` is False and the flags change nothing.
"""

from __future__ import annotations

__all__ = ["is_available", "allow_tf32", "benchmark", "deterministic", "enabled"]

allow_tf32 = True
benchmark = False
deterministic = False
enabled = True


def is_available() -> bool:
    return False
