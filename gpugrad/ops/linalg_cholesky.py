"""Cholesky: ``linalg.cholesky`` (``_ex``) and PyTorch's ``cholesky``, ``cholesky_solve``,
``cholesky_inverse``."""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ._linalg_results import CholeskyExResult
from ._util import Tensor, check_tensor, math_ns
from .linalg_solve import (
    NOT_PD,
    LinAlgError,
    _mT,
    check_matrix,
    eye_like,
    in_float32,
    lapack,
    solve_triangular,
)

__all__ = ["cholesky", "cholesky_solve", "cholesky_inverse"]


class Cholesky(Function):
    node_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, A):
        try:
            out = A._new(lapack("linalg.cholesky", NOT_PD,
                                lambda xp, a: xp.linalg.cholesky(a), A))
            # NumPy factors a matrix holding NaN into NaN without an error: PyTorch's LAPACK
            # call fails at the first NaN pivot (one pass over L, against the n^3 of factoring)
            failed = bool(A._backend.xp.isnan(out._data).any())
        except LinAlgError:
            failed = True
        if failed:
            raise LinAlgError(_not_pd_message(A))
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (L,) = ctx.saved_tensors
        # A = L L^T: with P = tril(L^T gL) and S its symmetric completion with the diagonal
        # halved, gA = L^-T S L^-1 (symmetric, as A is).
        P = (_mT(L) @ grad).tril()
        S = 0.5 * (P + _mT(P.tril(-1)))
        Y = solve_triangular(_mT(L), S, upper=True)
        return solve_triangular(L, Y, upper=False, left=False)


def failing_orders(A: Tensor) -> np.ndarray:
    """For each matrix of ``A`` (its lower triangle, as the factorization reads it), the order
    of the first leading minor that is not positive-definite (0 where there is none): where an
    unblocked Cholesky meets a pivot that is not positive (or is NaN), as LAPACK's ``info``.
    Run on the host, only once the factorization has failed."""
    low = np.tril(A._backend.to_numpy(A.detach()._data).astype(np.float64))
    work = low + np.swapaxes(np.tril(low, -1), -1, -2)
    n = work.shape[-1]
    order = np.zeros(work.shape[:-2], dtype=np.int32)
    for k in range(n):
        pivot = work[..., k, k]
        order = np.where((order == 0) & ~(pivot > 0), k + 1, order)
        pivot = np.where(order == 0, pivot, 1.0)  # failed matrices: carry on harmlessly
        col = work[..., k + 1:, k] / np.sqrt(pivot)[..., None]
        work[..., k + 1:, k + 1:] -= col[..., :, None] * col[..., None, :]
    return order


def _not_pd_message(A: Tensor) -> str:
    """PyTorch's message for a matrix (or the first of a batch) that is not positive-definite."""
    order = failing_orders(A)
    where = ""
    if order.ndim:
        first = int(np.flatnonzero(order.reshape(-1))[0]) if order.any() else 0
        where = f"(Batch element {first}): "
        order = order.reshape(-1)[first]
    minor = f" (the leading minor of order {int(order)} is not positive-definite)." if order \
        else "."
    return f"linalg.cholesky: {where}{NOT_PD[:-1]}{minor}"


@in_float32
def _cholesky(A, upper, fn):
    check_matrix(A, fn)
    L = Cholesky.apply(A)
    return _mT(L) if upper else L


@in_float32
def linalg_cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The Cholesky factor ``L`` (lower, ``A = L L^T``; ``upper=True``: ``U = L^T``) of a
    symmetric positive-definite matrix (only its lower triangle is read); ``LinAlgError`` if
    ``A`` is not positive-definite."""
    return _cholesky(A, upper, "linalg.cholesky")


@in_float32
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False):
    """``(L, info)``: ``info`` (int32, one per matrix) is 0 where the factorization succeeded
    and positive where ``A`` is not positive-definite (``L`` is then nan there)."""
    check_matrix(A, "linalg.cholesky_ex")
    m = math_ns()
    try:
        L = _cholesky(A, upper, "linalg.cholesky_ex")
        return CholeskyExResult(L, m.zeros(A.shape[:-2], dtype=m.int32, device=A.device))
    except LinAlgError:
        if check_errors:
            raise
    # Which matrices failed, and where (the order of the first leading minor that is not
    # positive-definite)
    order = m.tensor(failing_orders(A), device=A.device)
    bad = (order > 0)[..., None, None]
    L = m.where(bad, float("nan"), _cholesky(m.where(bad, eye_like(A), A), upper,
                                             "linalg.cholesky_ex"))
    return CholeskyExResult(L, order)


@in_float32
def cholesky(input: Tensor, upper: bool = False) -> Tensor:
    """``torch.cholesky`` (deprecated in PyTorch): ``linalg.cholesky``."""
    return _cholesky(input, upper, "cholesky")


class CholeskySolve(Function):
    """``X = A^-1 B`` for ``A = L L^T`` (``upper``: ``U^T U``): two triangular solves. As
    PyTorch's, the gradient treats the factor as a full matrix in ``A = L L^T``: the entries
    the solves never read get one too."""

    node_name = "CholeskySolveBackward0"

    @staticmethod
    def forward(ctx, B, L, upper):
        lower = _mT(L) if upper else L
        X = solve_triangular(_mT(lower), solve_triangular(lower, B, upper=False), upper=True)
        ctx.upper, ctx.b_shape = upper, tuple(B.shape)
        ctx.save_for_backward(L, X)
        return X

    @staticmethod
    def backward(ctx, grad):
        L, X = ctx.saved_tensors
        gB = cholesky_solve(grad, L, ctx.upper)
        both = gB @ _mT(X)
        both = both + _mT(both)
        gL = -(L @ both) if ctx.upper else -(both @ L)
        # (batch dims broadcast in the solve: each gradient summed back to its input's shape)
        need_b, need_l = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        return (gB.sum_to_size(ctx.b_shape) if need_b else None,
                gL.sum_to_size(L.shape) if need_l else None, None)


@in_float32
def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False) -> Tensor:
    """The solution of ``A X = B`` for ``A = L L^T`` (``upper``: ``A = U^T U``) given its
    Cholesky factor; ``B`` is ``(*, n, k)``."""
    check_matrix(L, "cholesky_solve", "L")
    check_tensor(B, "cholesky_solve", "B")
    if B.ndim < 2:
        raise RuntimeError(f"b should have at least 2 dimensions, but has {B.ndim} dimensions "
                           "instead")
    if B.dtype != L.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type "
                           f"{dt.SCALAR_TYPE_NAMES[B.dtype.name]} and A of type "
                           f"{dt.SCALAR_TYPE_NAMES[L.dtype.name]} instead.")
    return CholeskySolve.apply(B, L, upper)


@in_float32
def cholesky_inverse(L: Tensor, upper: bool = False) -> Tensor:
    """The inverse of ``A = L L^T`` (``upper``: ``A = U^T U``) given its Cholesky factor."""
    check_matrix(L, "cholesky_inverse", "L")
    eye = eye_like(L).expand(*L.shape)
    return cholesky_solve(eye, L, upper)


METHODS = {"cholesky": cholesky, "cholesky_solve": cholesky_solve,
           "cholesky_inverse": cholesky_inverse}
