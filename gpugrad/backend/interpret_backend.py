"""The interpreter backend: CPU tensors whose primitives run the Triton kernels interpreted.

Selected with ``GPUGRAD_KERNELS=interpret``: tensors hold NumPy arrays as on the NumPy backend,
and each primitive that has a kernel runs it under Triton's interpreter (``TRITON_INTERPRET=1``,
set by ``gpugrad.kernels`` before any kernel is defined). Slow; it exists so that every kernel
path runs in CI without a GPU, compared with the NumPy twins and PyTorch.
"""

from __future__ import annotations

from .numpy_backend import NumpyBackend


def _kernel_primitives():
    from ..kernels import MODE

    if MODE != "interpret":
        raise RuntimeError(
            f"GPUGRAD_KERNELS=interpret needs the kernels interpreted, but gpugrad.kernels was "
            f"imported in {MODE!r} mode (set GPUGRAD_KERNELS before the first import)"
        )
    from .triton_primitives import TritonPrimitives

    return TritonPrimitives


class InterpretBackend(_kernel_primitives(), NumpyBackend):
    """CPU backend over NumPy arrays whose primitives are interpreted Triton kernels."""

    name = "interpret"
