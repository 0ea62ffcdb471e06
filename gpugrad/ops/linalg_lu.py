"""LU factorization with partial pivoting and what uses it: ``linalg.lu_factor`` (``_ex``),
``linalg.lu``, ``linalg.lu_solve``, ``lu_unpack``; and the solvers built on ``solve`` / ``inv``:
``linalg.solve_ex``, ``tensorinv``, ``tensorsolve``.

NumPy has no LU, so the factorization is written here on the array module, one column at a
time over the whole batch (LAPACK's ``getf2``: the first largest pivot, the rows swapped, the
column scaled, the trailing block updated); the pivots are LAPACK's (1-based, int32).
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function
from ._linalg_results import (
    LuFactorExResult,
    LuFactorResult,
    LuResult,
    LuUnpackResult,
    SolveExResult,
)
from ._util import Tensor, check_tensor, math_ns
from .linalg_solve import (
    LinAlgError,
    _mT,
    check_matrix,
    check_same_dtype,
    eye_like,
    in_float32,
    inv,
    solve,
    solve_triangular,
)

__all__ = ["lu_unpack"]


def _getf2(xp, a):
    """``(LU, pivots)`` of ``a`` ``(*, m, n)``: rows swapped by functional selects, so that the
    whole factorization is array operations (a captured step replays it)."""
    m, n = a.shape[-2:]
    lu = a.copy()
    k_max = min(m, n)
    pivots = []
    rows = xp.arange(m).reshape((m, 1))
    for k in range(k_max):
        col = xp.abs(lu[..., k:, k])
        piv = xp.argmax(col, axis=-1) + k  # (batch,)
        pivots.append(piv)
        p = piv[..., None, None]
        row_k = lu[..., k:k + 1, :]
        row_p = xp.take_along_axis(lu, xp.broadcast_to(p, lu.shape[:-2] + (1, n)), axis=-2)
        lu = xp.where(rows == k, row_p, xp.where(rows == p, row_k, lu))
        d = lu[..., k:k + 1, k:k + 1]
        scale = xp.where(d == 0, 0, 1 / xp.where(d == 0, 1, d))
        below = lu[..., k + 1:, k:k + 1] * scale
        lu[..., k + 1:, k:k + 1] = below
        lu[..., k + 1:, k + 1:] -= below * lu[..., k:k + 1, k + 1:]
    batch = a.shape[:-2]
    if pivots:
        piv_all = xp.stack(pivots, axis=-1).astype(np.int32) + 1
    else:
        piv_all = xp.zeros(batch + (0,), dtype=np.int32)
    return lu, piv_all


class LuFactor(Function):
    """The compact ``LU`` that ``_lu_factor`` computed, with the ``pivots`` it found passed in:
    one output, as PyTorch's ``LinalgLuFactorExBackward0`` (the int pivots, and
    ``lu_factor_ex``'s info, are not among the node's outputs)."""

    node_name = "LinalgLuFactorExBackward0"

    @staticmethod
    def forward(ctx, A, lu, pivots):
        LU = Tensor._make(lu, A._backend)
        if ctx.needs_input_grad[0]:  # (recorded: otherwise nothing reads these)
            ctx.save_for_backward(LU, pivots)
        return LU

    @staticmethod
    def backward(ctx, gLU):
        # A = P L U (square): gA = P L^-T (tril(L^T gL, -1) + triu(gU U^T)) U^-T with gL, gU
        # the strictly lower and the upper part of gLU.
        LU, pivots = ctx.saved_tensors
        if LU.shape[-1] != LU.shape[-2]:
            raise NotImplementedError("linalg.lu_factor: the gradient of the LU factorization of "
                                      "a non-square matrix is not supported")
        P, L, U = lu_unpack(LU, pivots)
        phi = (_mT(L) @ gLU.tril(-1)).tril(-1) + (gLU.triu() @ _mT(U)).triu()
        X = solve_triangular(_mT(L), phi, upper=True, unitriangular=True)
        X = solve_triangular(_mT(U), X, upper=False, left=False)
        return P @ X, None, None


def _lu_factor(A, pivot, fn):
    """``(LU, pivots)`` of ``A``, recorded as one ``LuFactor`` node whose output is ``LU``."""
    check_matrix(A, fn, square=False)
    if not pivot:
        raise RuntimeError("linalg.lu_factor: LU without pivoting is not implemented on the CPU")
    lu, piv = _getf2(A._backend.xp, A._data)
    pivots = Tensor._make(piv, A._backend)
    return LuFactor.apply_unary(A, lu, pivots), pivots


def _info(LU):
    """LAPACK's info: the (1-based) index of the first zero on U's diagonal, 0 if none."""
    m = math_ns()
    k = min(LU.shape[-2], LU.shape[-1])
    diag = m.linalg.diagonal(LU.detach())[..., :k]
    zero = diag == 0
    first = m.where(zero, m.arange(1, k + 1, device=LU.device), k + 1).amin(-1) if k else None
    if first is None:
        return m.zeros(LU.shape[:-2], dtype=m.int32, device=LU.device)
    return m.where(first > k, 0, first).to(m.int32)


@in_float32
def lu_factor(A: Tensor, *, pivot: bool = True):
    """The compact LU factorization ``A = P L U`` of ``A`` ``(*, m, n)``: ``LU`` holds ``L``
    (unit diagonal, not stored) below the diagonal and ``U`` on and above it; ``pivots``
    (int32, 1-based) the row swaps. Differentiable for square ``A``."""
    return LuFactorResult(*_lu_factor(A, pivot, "linalg.lu_factor"))


@in_float32
def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False):
    """``(LU, pivots, info)``: ``lu_factor`` and, per matrix, the 1-based index of the first zero
    pivot (0 when none)."""
    LU, pivots = _lu_factor(A, pivot, "linalg.lu_factor_ex")
    info = _info(LU)
    if check_errors and bool((info > 0).any()):
        raise LinAlgError("linalg.lu_factor_ex: The factorization could not be completed "
                          "because the input is not invertible.")
    return LuFactorExResult(LU, pivots, info)


def _permutation(pivots, m_rows, math):
    """The row order ``perm`` (``P^T A = A[perm]``) that the LAPACK pivots describe."""
    xp = pivots._backend.xp
    piv = pivots._data.astype(np.int64) - 1
    perm = xp.broadcast_to(xp.arange(m_rows), piv.shape[:-1] + (m_rows,))
    for k in range(piv.shape[-1]):
        p = piv[..., k:k + 1]
        at_k = perm[..., k:k + 1]
        at_p = xp.take_along_axis(perm, p, axis=-1)
        idx = xp.arange(m_rows)
        perm = xp.where(idx == k, at_p, xp.where(idx == p, at_k, perm))
    return pivots._new(xp.ascontiguousarray(perm))


def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True,
              unpack_pivots: bool = True):
    """``(P, L, U)`` from ``lu_factor``'s compact ``LU`` and ``pivots``; parts not unpacked are
    empty tensors."""
    m = math_ns()
    check_tensor(LU_data, "lu_unpack", "LU_data")
    rows, cols = LU_data.shape[-2], LU_data.shape[-1]
    k = min(rows, cols)
    empty = m.zeros((0,), dtype=LU_data.dtype, device=LU_data.device)
    P = L = U = empty
    if unpack_pivots:
        perm = _permutation(LU_pivots, rows, m)
        P = (m.arange(rows, device=LU_data.device)[:, None] == perm[..., None, :]).to(
            LU_data.dtype)
    if unpack_data:
        L = LU_data[..., :, :k].tril(-1) + eye_like(LU_data, rows)[:, :k]
        U = LU_data[..., :k, :].triu()
    return LuUnpackResult(P, L, U)


@in_float32
def lu(A: Tensor, *, pivot: bool = True):
    """``(P, L, U)`` with ``A = P L U`` for ``A`` ``(*, m, n)``: ``L`` ``(*, m, k)`` unit lower
    triangular, ``U`` ``(*, k, n)`` upper triangular, ``k = min(m, n)``."""
    LU, pivots = _lu_factor(A, pivot, "linalg.lu")
    return LuResult(*lu_unpack(LU, pivots))


@in_float32
def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True,
             adjoint: bool = False) -> Tensor:
    """The solution of ``A X = B`` from ``A``'s ``lu_factor`` (``adjoint``: ``A^T X = B``;
    ``left=False``: ``X A = B``)."""
    fn = "linalg.lu_solve"
    check_matrix(LU, fn, "LU")
    check_tensor(B, fn, "B")
    check_same_dtype(LU, B, fn)
    if B.ndim < 2:
        raise RuntimeError(f"{fn}: The input tensor B must have at least 2 dimensions.")
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return _mT(lu_solve(LU, pivots, _mT(B), left=True, adjoint=not adjoint))
    m = math_ns()
    n = LU.shape[-1]
    if B.shape[-2] != n:
        raise RuntimeError(f"{fn}: Incompatible shapes of A and B for the equation AX = B "
                           f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    perm = _permutation(pivots, n, m)
    P = (m.arange(n, device=LU.device)[:, None] == perm[..., None, :]).to(LU.dtype)
    if not adjoint:  # P L U X = B
        Y = solve_triangular(LU, _mT(P) @ B, upper=False, unitriangular=True)
        return solve_triangular(LU, Y, upper=True)
    # U^T L^T P^T X = B
    Y = solve_triangular(_mT(LU), B, upper=False)
    return P @ solve_triangular(_mT(LU), Y, upper=True, unitriangular=True)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False):
    """``(result, info)``: ``solve`` and, per matrix, 0 where ``A`` is invertible (positive
    where it is singular: the result is then nan there)."""
    m = math_ns()
    try:
        X = solve(A, B, left=left)
        return SolveExResult(X, m.zeros(A.shape[:-2], dtype=m.int32, device=A.device))
    except LinAlgError:
        if check_errors:
            raise
    info = lu_factor_ex(A.detach()).info
    bad = info > 0
    X = solve(m.where(bad[..., None, None], eye_like(A), A), B, left=left)
    mask = bad.reshape(tuple(bad.shape) + (1,) * (X.ndim - bad.ndim))
    return SolveExResult(m.where(mask, float("nan"), X), info)


def tensorinv(A: Tensor, ind: int = 2) -> Tensor:
    """The inverse of ``A`` seen as a matrix of its first ``ind`` dims by the rest: the result
    has shape ``A.shape[ind:] + A.shape[:ind]``."""
    check_tensor(A, "linalg.tensorinv", "A")
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    rows, cols = tuple(A.shape[:ind]), tuple(A.shape[ind:])
    if math.prod(rows) != math.prod(cols):
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {math.prod(cols)} != "
                           f"{math.prod(rows)}")
    n = math.prod(rows)
    return inv(A.reshape(n, n)).reshape(*cols, *rows)


def tensorsolve(A: Tensor, B: Tensor, dims=None) -> Tensor:
    """The ``X`` of ``tensordot(A, X, X.ndim) = B``: ``A``'s dims ``dims`` (if given) moved to
    the end first; ``X`` has shape ``A.shape[B.ndim:]``."""
    check_tensor(A, "linalg.tensorsolve", "A")
    check_tensor(B, "linalg.tensorsolve", "B")
    if dims is not None:
        dims = [d % A.ndim for d in dims]
        A = A.movedim(dims, list(range(A.ndim - len(dims), A.ndim)))
    out_shape = tuple(A.shape[B.ndim:])
    n_out = math.prod(out_shape)
    n_in = math.prod(tuple(B.shape))
    if math.prod(tuple(A.shape[:B.ndim])) != n_in or n_in != n_out:
        raise RuntimeError("Expected self to satisfy the requirement "
                           "prod(self.shape[other.ndim:]) == prod(self.shape[:other.ndim]), "
                           f"but got {n_out} != {n_in}")
    return solve(A.reshape(n_in, n_out), B.reshape(n_in)).reshape(*out_shape)


METHODS: dict = {}
