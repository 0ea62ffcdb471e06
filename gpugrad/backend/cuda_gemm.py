"""Accumulating matrix products on CUDA: ``out += a @ b`` through ``cublasGemmEx`` with
beta = 1, so no product-sized temporary exists (the chunked linear cross-entropy adds one chunk's
product into the weight gradient per chunk). float16/bfloat16 operands accumulate in float32
inside cuBLAS, into a float32 or same-dtype ``out``; float32 uses TF32 when the float32 matmul
precision allows it.

cuBLAS is column-major: the row-major (M, N) ``out`` is the column-major N x M matrix out^T, and
out^T += b^T a^T. A row-major (contiguous) operand is its own transpose in column-major order
(no flag); a transposed view of one (F-contiguous) is read with the transpose flag.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._dtype import bfloat16
from . import precision

__all__ = ["matmul_accumulate"]

_fallback_warned = False


def matmul_accumulate(out, a, b) -> None:
    """``out += a @ b`` for 2-D CuPy arrays (``out`` C-contiguous)."""
    import cupy

    if b.dtype != a.dtype:
        b = b.astype(a.dtype)
    try:
        _gemm_ex(out, a, b)
    except Exception as exc:  # a CuPy without these bindings, or a combination cuBLAS refuses
        global _fallback_warned
        if not _fallback_warned:
            warnings.warn(f"gpugrad: cublasGemmEx accumulate failed ({exc}); adding a separate "
                          "product instead (one more temporary)", RuntimeWarning, stacklevel=3)
            _fallback_warned = True
        out += cupy.matmul(a, b).astype(out.dtype, copy=False)


def _operand(x):
    """(array, transpose flag, leading dimension) presenting ``x``'s transpose to cuBLAS."""
    from cupy_backends.cuda.libs import cublas

    if x.flags.c_contiguous:
        return x, cublas.CUBLAS_OP_N, max(1, x.shape[1])
    if x.flags.f_contiguous:
        return x, cublas.CUBLAS_OP_T, max(1, x.shape[0])
    x = x.copy(order="C")
    return x, cublas.CUBLAS_OP_N, max(1, x.shape[1])


def _gemm_ex(out, a, b) -> None:
    import cupy
    from cupy.cuda import device
    from cupy_backends.cuda.api import runtime
    from cupy_backends.cuda.libs import cublas

    cuda_type = {np.dtype(np.float16): runtime.CUDA_R_16F, bfloat16.np: runtime.CUDA_R_16BF,
                 np.dtype(np.float32): runtime.CUDA_R_32F, np.dtype(np.float64): runtime.CUDA_R_64F}
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    m, n = out.shape
    k = a.shape[1]
    if m == 0 or n == 0 or k == 0:
        return
    if out.dtype == np.float64:
        compute, scalar = cublas.CUBLAS_COMPUTE_64F, np.float64
    elif out.dtype == np.float32 and a.dtype == np.float32 and precision.tf32_enabled():
        compute, scalar = cublas.CUBLAS_COMPUTE_32F_FAST_TF32, np.float32
    else:
        compute, scalar = cublas.CUBLAS_COMPUTE_32F, np.float32
    alpha, beta = np.array(1, scalar), np.array(1, scalar)
    b_arr, b_op, ldb = _operand(b)
    a_arr, a_op, lda = _operand(a)
    handle = device.get_cublas_handle()
    cublas.setStream(handle, cupy.cuda.get_current_stream().ptr)
    mode = cublas.getPointerMode(handle)
    cublas.setPointerMode(handle, cublas.CUBLAS_POINTER_MODE_HOST)
    try:
        cublas.gemmEx(handle, b_op, a_op, n, m, k, alpha.ctypes.data,
                      b_arr.data.ptr, cuda_type[b_arr.dtype], ldb,
                      a_arr.data.ptr, cuda_type[a_arr.dtype], lda,
                      beta.ctypes.data, out.data.ptr, cuda_type[out.dtype], n,
                      compute, cublas.CUBLAS_GEMM_DEFAULT)
    finally:
        cublas.setPointerMode(handle, mode)
