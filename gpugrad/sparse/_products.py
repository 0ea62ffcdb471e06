"""Products of sparse COO matrices: with dense matrices and vectors (either side) and with
each other, as compositions of ``index_select``, products and ``index_add``/``coalesce``."""

from __future__ import annotations

from .. import _dtype as dt
from ..tensor import Tensor
from ._coo import SparseCooTensor
from ._coords import _matches

__all__ = ["sparse_matmul"]


def sparse_matmul(a, b) -> Tensor:
    """``a @ b`` where one is a sparse COO matrix (two sparse dims) and the other dense (a
    matrix or, on the right, a vector); the result is dense."""
    if isinstance(a, SparseCooTensor) and isinstance(b, SparseCooTensor):
        return _sparse_product(a, b)
    if isinstance(b, SparseCooTensor):  # dense @ sparse = (sparse^T @ dense^T)^T
        if a.ndim != 2:
            raise RuntimeError(f"mm: expected a matrix on the left of a sparse matrix, got a "
                               f"{a.ndim}-D tensor")
        return sparse_matmul(b.t(), a.t()).t()
    if a.ndim != 2 or a.dense_dim():
        raise RuntimeError(f"sparse matmul: expected a sparse matrix (2 sparse dims, no dense "
                           f"dims), got sparse_dim {a.sparse_dim()}, dense_dim {a.dense_dim()}")
    if not isinstance(b, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not {type(b).__name__}")
    if b.ndim not in (1, 2):
        raise RuntimeError(f"sparse matmul: expected a dense matrix or vector, got a {b.ndim}-D "
                           "tensor")
    rows, inner = a._size
    if b.shape[0] != inner:
        raise RuntimeError(f"addmm: Argument #3 (dense): Expected dim 0 size {inner}, got "
                           f"{b.shape[0]}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {dt.SCALAR_TYPE_NAMES[a.dtype.name]} but "
                           f"found {dt.SCALAR_TYPE_NAMES[b.dtype.name]}")
    if a._backend is not b._backend:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {a.device} and {b.device}!")
    vector = b.ndim == 1
    dense = b.unsqueeze(1) if vector else b
    values = a._values_t
    # Each entry (i, j, v) adds v * dense[j] to row i of the product.
    contributions = values.unsqueeze(1) * dense.index_select(0, a._indices_t[1])
    out = contributions.new_zeros((rows, dense.shape[1])).index_add(0, a._indices_t[0],
                                                                    contributions)
    return out.squeeze(1) if vector else out


def _sparse_product(a: SparseCooTensor, b: SparseCooTensor) -> SparseCooTensor:
    """``a @ b`` for two sparse matrices: a coalesced sparse matrix, one entry for each pair of
    an entry (i, j) of ``a`` and an entry (j, l) of ``b``, summed at (i, l)."""
    for t in (a, b):
        if t.ndim != 2 or t.dense_dim():
            raise RuntimeError("sparse matmul: expected sparse matrices (2 sparse dims, no dense "
                               f"dims), got sparse_dim {t.sparse_dim()}, dense_dim "
                               f"{t.dense_dim()}")
    (rows, inner), (inner_b, cols) = a._size, b._size
    if inner != inner_b:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{inner} and "
                           f"{inner_b}x{cols})")
    if a.dtype != b.dtype:
        raise RuntimeError(f"expected scalar type {dt.SCALAR_TYPE_NAMES[a.dtype.name]} but "
                           f"found {dt.SCALAR_TYPE_NAMES[b.dtype.name]}")
    xp = a._backend.xp
    ai, bi = a._indices_t._data, b._indices_t._data
    left, right = _matches(bi[0], ai[1], xp)  # b's entries in the row of each a entry's column
    indices = Tensor._make(xp.stack([ai[0][left], bi[1][right]]), a._backend)
    values = (a._values_t.index_select(0, Tensor._make(left, a._backend))
              * b._values_t.index_select(0, Tensor._make(right, a._backend)))
    return SparseCooTensor._wrap(indices, values, (rows, cols), False).coalesce()
