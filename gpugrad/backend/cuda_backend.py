"""The CUDA backend: tensors hold CuPy arrays; primitives launch compiled Triton kernels.

Structural work (reshape, transpose, matmul through cuBLAS, indexing) runs through CuPy as
``xp``; every primitive with a kernel in ``gpugrad.kernels`` launches it on CuPy's current
stream; the primitives without one (yet) run their NumPy twin on CuPy arrays, so every op works
on CUDA from the start. Random numbers come from CuPy's generator on the device.
"""

from __future__ import annotations

import cupy
import numpy as np

from .._device import device
from ..kernels import MODE
from . import cuda_gemm, precision
from .numpy_backend import NumpyBackend

__all__ = ["CudaBackend", "current_device_index"]


def current_device_index() -> int:
    """CuPy's current CUDA device."""
    return int(cupy.cuda.runtime.getDevice())


if MODE == "compiled":
    from .triton_primitives import TritonPrimitives as _Primitives
else:  # kernels interpreted (GPUGRAD_KERNELS=interpret on a GPU machine): twins on CuPy

    class _Primitives:
        pass


_RANDOM_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class CudaBackend(_Primitives, NumpyBackend):
    """Backend of ``device='cuda:N'`` tensors: CuPy arrays on GPU ``N``."""

    name = "cuda"

    def __init__(self, index: int = 0):
        self.index = index
        super().__init__(cupy, device("cuda", index))
        precision.apply_to_cupy()

    def linalg_errors(self):
        """CuPy's linalg routines check cuSOLVER's info (a device read) and raise
        ``LinAlgError`` only when told to: here, as PyTorch checks on CUDA too."""
        import cupyx

        return cupyx.errstate(linalg="raise")

    # ------------------------------------------------------------------------ matmul
    def matmul(self, a, b):
        """``a @ b`` through cuBLAS (tensor cores for float16/bfloat16; TF32 for float32 when
        the matmul precision allows). CuPy 14's batched bfloat16 matmul is unreliable
        (cupy/cupy#10317): a batch against a matrix folds into one 2-D product; other batched
        bfloat16 products multiply in float32 (exact products, float32 sums, as cuBLAS's
        bfloat16 ones) and round once."""
        if a.dtype.kind == "V" and max(a.ndim, b.ndim) > 2 and min(a.ndim, b.ndim) >= 2:
            if b.ndim == 2:
                k, n = b.shape
                return cupy.matmul(a.reshape(-1, k), b).reshape(a.shape[:-1] + (n,))
            return cupy.matmul(a.astype(np.float32), b.astype(np.float32)).astype(a.dtype)
        return cupy.matmul(a, b)

    def matmul_add(self, a, b, c):
        """``a @ b + c``: cuBLAS's product (rounded to float16/bfloat16 before the add, where
        PyTorch's fused bias rounds once: the results can differ there by an ulp)."""
        out = self.matmul(a, b)
        out += c
        return out

    def matmul_accumulate(self, out, a, b) -> None:
        cuda_gemm.matmul_accumulate(out, a, b)

    def asarray(self, data, dtype=None):
        with cupy.cuda.Device(self.index):
            return cupy.asarray(data, dtype=dtype)

    def to_numpy(self, arr) -> np.ndarray:
        """A host copy (waits for the work that produces ``arr``)."""
        return cupy.asnumpy(arr)

    # ---------------------------------------------------------------------- indexing
    def add_at(self, out, key, values) -> None:
        """``out[key] += values`` accumulating repeated indices (``cupyx.scatter_add``)."""
        import cupyx

        if out.dtype == np.float16 or out.dtype.kind == "V":  # no half atomics (V: bfloat16)
            wide = out.astype(np.float32)
            cupyx.scatter_add(wide, key, cupy.asarray(values, dtype=np.float32))
            out[...] = wide
            return
        cupyx.scatter_add(out, key, values)

    # ------------------------------------------------------------------------ random
    def new_rng(self, seed: int):
        """A raw CuPy generator (XORWOW) on this device seeded with ``seed``."""
        with cupy.cuda.Device(self.index):
            return cupy.random.default_rng(seed)

    def rng_state(self, rng):
        raise NotImplementedError(
            "get_state() of a CUDA generator is not supported: CuPy's generators keep their "
            "state on the device without a way to read it; reseed with manual_seed() instead"
        )

    set_rng_state = rng_state

    def rand(self, shape, dtype, rng=None):
        rng = self._rng if rng is None else rng
        with cupy.cuda.Device(self.index):
            gen = np.dtype(dtype) if np.dtype(dtype) in _RANDOM_DTYPES else np.float32
            return rng.random(shape, dtype=gen).astype(dtype, copy=False)

    def randn(self, shape, dtype, rng=None):
        rng = self._rng if rng is None else rng
        with cupy.cuda.Device(self.index):
            gen = np.dtype(dtype) if np.dtype(dtype) in _RANDOM_DTYPES else np.float32
            return rng.standard_normal(shape, dtype=gen).astype(dtype, copy=False)

    def randint(self, low: int, high: int, shape, dtype, rng=None):
        rng = self._rng if rng is None else rng
        with cupy.cuda.Device(self.index):
            return rng.integers(low, high, shape, dtype=np.int64).astype(dtype, copy=False)

    def bernoulli_mask(self, p_keep: float, shape, rng=None):
        rng = self._rng if rng is None else rng
        with cupy.cuda.Device(self.index):
            return rng.random(shape, dtype=np.float32) < p_keep
