"""Norms of vectors and matrices: ``linalg.vector_norm``, ``linalg.matrix_norm``,
``linalg.norm``. Vector norms are the reduction ``Norm`` (``reduction.py``); matrix norms are
built from it, from sums and extrema of absolute values, and from the singular values."""

from __future__ import annotations

import math
import numbers

from .. import _dtype as dt
from ._util import Tensor, check_tensor, math_ns, wrap_dim
from .linalg_solve import check_float
from .reduction import norm as _vector_norm

_MATRIX_ORDS = ("fro", "nuc", math.inf, -math.inf, 1, -1, 2, -2)


def _check_dtype(x, dtype, fn):
    if dtype is None:
        return
    if not (dtype.is_floating_point and dt.promote_types(x.dtype, dtype) is dtype):
        raise RuntimeError(
            f"{fn}: the dtype of the input ({dt.SCALAR_TYPE_NAMES[x.dtype.name]}) should be "
            f"convertible without narrowing to the specified dtype "
            f"({dt.SCALAR_TYPE_NAMES[dtype.name]})")


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The vector ``ord``-norm of ``x`` over ``dim`` (all elements when None): ``ord`` any
    real number, ``inf`` (largest absolute value), ``-inf`` (smallest) or 0 (the count of
    nonzeros). ``dtype``: compute and return in this (wider) float dtype."""
    check_tensor(x, "linalg.vector_norm", "input")
    if isinstance(ord, bool) or not isinstance(ord, numbers.Real):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    if not x.is_floating_point():
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {dt.SCALAR_TYPE_NAMES[x.dtype.name]}")
    _check_dtype(x, dtype, "linalg.vector_norm")
    return _vector_norm(x, float(ord), dim, keepdim, dtype)


def _matrix_dims(A, dim, fn):
    if not (isinstance(dim, (tuple, list)) and len(dim) == 2):
        shown = " ".join(map(str, dim)) if isinstance(dim, (tuple, list)) else dim
        raise RuntimeError(f"{fn}: dim must be a 2-tuple. Got {shown}")
    d0, d1 = wrap_dim(dim[0], A.ndim), wrap_dim(dim[1], A.ndim)
    if d0 == d1:
        raise RuntimeError(f"{fn}: dims must be different. Got ({d0}, {d1})")
    return d0, d1


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *,
                dtype=None) -> Tensor:
    """The matrix ``ord``-norm of the matrices of ``A`` spanned by the two dims ``dim``:
    ``'fro'`` (Frobenius), ``'nuc'`` (sum of singular values), ``2`` / ``-2`` (largest /
    smallest singular value), ``1`` / ``-1`` (largest / smallest column sum of absolute
    values), ``inf`` / ``-inf`` (the same of row sums)."""
    fn = "linalg.matrix_norm"
    check_tensor(A, fn, "A")
    if A.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor A must have at least 2 dimensions.")
    check_float(A, fn)
    _check_dtype(A, dtype, fn)
    if isinstance(ord, str):
        if ord not in ("fro", "nuc"):
            raise RuntimeError(f"{fn}: Order {ord} not supported.")
    elif ord not in _MATRIX_ORDS:
        raise RuntimeError(f"{fn}: Order {ord} not supported.")
    d0, d1 = _matrix_dims(A, dim, fn)
    if dtype is not None:
        A = A.to(dtype)
    if ord == "fro":
        return _vector_norm(A, 2.0, (d0, d1), keepdim)
    m = math_ns()
    if ord in ("nuc", 2, -2):
        from .linalg_spectral import svdvals

        check_float(A, fn, low=False)
        S = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = S.sum(-1) if ord == "nuc" else S.amax(-1) if ord == 2 else S.amin(-1)
        if keepdim:
            for d in sorted((d0, d1)):
                out = out.unsqueeze(d)
        return out
    # 1 / -1: sums over rows (d0), extreme over columns; inf / -inf: the other way round.
    summed, extreme = (d0, d1) if abs(ord) == 1 else (d1, d0)
    sums = A.abs().sum(summed, keepdim=True)
    out = m.amax(sums, extreme, keepdim=True) if ord > 0 else m.amin(sums, extreme, keepdim=True)
    return out if keepdim else out.squeeze((d0, d1))


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """A vector norm (``dim`` an int, or ``A`` 1-D) or a matrix norm (``dim`` a 2-tuple, or
    ``A`` 2-D) as ``ord`` and ``dim`` say; with both None, the 2-norm of all elements."""
    check_tensor(A, "linalg.norm", "A")
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if ord is None:
        if dim is not None and len(dim) == 2:
            return matrix_norm(A, "fro", dim, keepdim, dtype=dtype)
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if dim is None:
        if A.ndim not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                               f"be 1D or 2D. Got {A.ndim}D.")
        dim = tuple(range(A.ndim))
    if len(dim) == 2:
        return matrix_norm(A, ord, dim, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise RuntimeError(f"linalg.vector_norm: ord must be a number for a vector norm, got "
                           f"'{ord}'")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)
