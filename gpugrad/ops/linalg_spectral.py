"""Decompositions: ``qr``, ``eigh`` / ``eigvalsh``, ``svd`` / ``svdvals``, and PyTorch's
``svd`` / ``qr``.

The backward formulas are the standard ones for real matrices (PyTorch's): the eigenvector
and singular-vector terms divide by differences of eigenvalues (squared singular values), so
their gradients are defined for distinct ones. A sign flip of an eigenvector or a pair of
singular vectors is arbitrary: only functions of them that do not depend on it have a
meaningful gradient, as in PyTorch.
"""

from __future__ import annotations

from ..autograd.function import Function
from ._linalg_results import (
    EighResult,
    QRResult,
    SVDResult,
    TorchQRResult,
    TorchSVDResult,
)
from ._util import Tensor, math_ns
from .linalg_solve import (
    _mT,
    check_matrix,
    eye_like,
    in_float32,
    lapack,
    solve_triangular,
)

__all__ = ["svd", "qr"]

_NO_CONVERGE = "The algorithm failed to converge because the input matrix is ill-conditioned " \
               "or has too many repeated singular values."


def _off_diagonal_inverse(m, d, dtype_like):
    """``F[i, j] = 1 / (d[j] - d[i])`` off the diagonal, 0 on it."""
    diff = d[..., None, :] - d[..., :, None]
    diag = eye_like(dtype_like, d.shape[-1]) != 0
    return m.where(diag, 0.0, 1.0 / m.where(diag, 1.0, diff))


# ---------------------------------------------------------------------------------- QR
class Qr(Function):
    node_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, A, mode):
        ctx.mode = mode
        ctx.set_materialize_grads(False)
        if mode == "r":
            R = lapack("linalg.qr", _NO_CONVERGE, lambda xp, a: xp.linalg.qr(a, mode="r"), A)
            Q = A._new(A._backend.xp.zeros((0,), dtype=A._data.dtype))
            ctx.mark_non_differentiable(Q)
            return Q, A._new(R)
        Q, R = lapack("linalg.qr", _NO_CONVERGE, lambda xp, a: xp.linalg.qr(a, mode=mode), A)
        Q, R = A._new(Q), A._new(R)
        ctx.save_for_backward(Q, R, A)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed "
                               "when mode='r'. Please use linalg.qr(A, mode='reduced') if you "
                               "are going to differentiate through linalg.qr.")
        Q, R, A = ctx.saved_tensors
        m_rows, n_cols = A.shape[-2], A.shape[-1]
        if ctx.mode == "complete" and m_rows > n_cols:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' "
                               "and nrows > ncols.")
        if m_rows >= n_cols:
            return _qr_square_backward(Q, R, gQ, gR), None
        # Wide: A = Q [X | Y] with X square; Y = Q R_Y adds Q gR_Y to Y's gradient and
        # Y gR_Y^T to Q's.
        m = math_ns()
        k = m_rows
        Y = A[..., k:]
        gRx = None if gR is None else gR[..., :k]
        gY = m.zeros_like(Y) if gR is None else Q @ gR[..., k:]
        if gR is not None:
            extra = Y @ _mT(gR[..., k:])
            gQ = extra if gQ is None else gQ + extra
        gX = _qr_square_backward(Q, R[..., :k], gQ, gRx)
        return m.cat([gX, gY], dim=-1), None


def _qr_square_backward(Q, R, gQ, gR):
    """``A = Q R`` with ``A`` ``(m, n)``, ``m >= n``, ``R`` ``(n, n)``: with
    ``M = R gR^T - gQ^T Q`` and ``sym(M)`` its lower triangle mirrored up,
    ``gA = (gQ + Q sym(M)) R^-T``."""
    M = 0
    if gR is not None:
        M = R @ _mT(gR)
    if gQ is not None:
        M = M - _mT(gQ) @ Q
    if isinstance(M, int):  # no gradient reached Q or R
        return None
    sym = M.tril() + _mT(M.tril(-1))
    b = Q @ sym if gQ is None else gQ + Q @ sym
    return solve_triangular(_mT(R), b, upper=False, left=False)  # b R^-T


_QR_MODES = ("reduced", "complete", "r")


@in_float32
def _qr(A, mode, fn):
    check_matrix(A, fn, square=False)
    if mode not in _QR_MODES:
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    return Qr.apply(A, mode)


@in_float32
def linalg_qr(A: Tensor, mode: str = "reduced"):
    """The QR decomposition ``A = Q R`` of ``A`` ``(*, m, n)``: ``Q`` orthonormal columns,
    ``R`` upper triangular. ``mode``: ``'reduced'`` (``k = min(m, n)`` columns), ``'complete'``
    (``Q`` square), ``'r'`` (``R`` only; ``Q`` empty, and no gradient)."""
    return QRResult(*_qr(A, mode, "linalg.qr"))


@in_float32
def qr(input: Tensor, some: bool = True):
    """``torch.qr``: ``linalg.qr`` with ``mode='reduced'`` (``some=True``) or
    ``'complete'``."""
    return TorchQRResult(*_qr(input, "reduced" if some else "complete", "qr"))


# ------------------------------------------------------------------------ eigh, eigvalsh
class Eigh(Function):
    node_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, A, uplo):
        ctx.set_materialize_grads(False)
        L, V = lapack("linalg.eigh", _NO_CONVERGE, lambda xp, a: xp.linalg.eigh(a, UPLO=uplo), A)
        L, V = A._new(L), A._new(V)
        ctx.save_for_backward(L, V)
        return L, V

    @staticmethod
    def backward(ctx, gL, gV):
        # gA = V (diag(gL) + sym(F o (V^T gV))) V^T with F[i, j] = 1 / (L[j] - L[i]) off the
        # diagonal and sym(X) = (X + X^T) / 2: the gradient as a symmetric matrix, PyTorch's.
        m = math_ns()
        L, V = ctx.saved_tensors
        inner = 0
        if gV is not None:
            inner = _off_diagonal_inverse(m, L, V) * (_mT(V) @ gV)
            inner = 0.5 * (inner + _mT(inner))
        if gL is not None:
            inner = inner + gL[..., None] * eye_like(V)
        return V @ inner @ _mT(V), None


@in_float32
def _eigh(A, UPLO, fn):
    check_matrix(A, fn)
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return Eigh.apply(A, UPLO)


@in_float32
def eigh(A: Tensor, UPLO: str = "L"):
    """Eigenvalues (ascending) and orthonormal eigenvectors (columns) of a symmetric matrix
    ``A`` ``(*, n, n)``, of which only the ``UPLO`` triangle is read."""
    return EighResult(*_eigh(A, UPLO, "linalg.eigh"))


@in_float32
def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of a symmetric matrix; see ``eigh``."""
    return _eigh(A, UPLO, "linalg.eigvalsh")[0]


# ---------------------------------------------------------------------------- svd, svdvals
class Svd(Function):
    node_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, A, full_matrices):
        ctx.set_materialize_grads(False)
        U, S, Vh = lapack("linalg.svd", _NO_CONVERGE,
                          lambda xp, a: xp.linalg.svd(a, full_matrices=full_matrices), A)
        U, S, Vh = A._new(U), A._new(S), A._new(Vh)
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        m = math_ns()
        U, S, Vh = ctx.saved_tensors
        k = S.shape[-1]
        # Full matrices: the columns past k are arbitrary; only the first k carry the gradient.
        U, Vh = U[..., :k], Vh[..., :k, :]
        gU = None if gU is None else gU[..., :k]
        gVh = None if gVh is None else gVh[..., :k, :]
        inner = 0 if gS is None else gS[..., None] * eye_like(S, k)
        if gU is None and gVh is None:
            return U @ inner @ Vh, None
        F = _off_diagonal_inverse(m, S * S, S)
        extra = 0
        if gU is not None:
            UtgU = _mT(U) @ gU
            inner = inner + (F * (UtgU - _mT(UtgU))) * S[..., None, :]
            if U.shape[-2] > k:  # the part of gU outside U's span
                extra = ((gU - U @ UtgU) / S[..., None, :]) @ Vh
        if gVh is not None:
            VtgV = Vh @ _mT(gVh)
            inner = inner + S[..., :, None] * (F * (VtgV - _mT(VtgV)))
            if Vh.shape[-1] > k:
                extra = extra + U @ ((gVh - _mT(VtgV) @ Vh) / S[..., :, None])
        return U @ inner @ Vh + extra, None


@in_float32
def _svd(A, full_matrices, fn):
    check_matrix(A, fn, square=False)
    return Svd.apply(A, bool(full_matrices))


@in_float32
def linalg_svd(A: Tensor, full_matrices: bool = True):
    """``A = U diag(S) Vh`` for ``A`` ``(*, m, n)``: singular values ``S`` descending;
    ``full_matrices=False`` keeps ``k = min(m, n)`` columns of ``U`` and rows of ``Vh``."""
    return SVDResult(*_svd(A, full_matrices, "linalg.svd"))


@in_float32
def svdvals(A: Tensor) -> Tensor:
    """The singular values of ``A`` ``(*, m, n)``, descending."""
    return _svd(A, False, "linalg.svdvals")[1]


@in_float32
def svd(input: Tensor, some: bool = True, compute_uv: bool = True):
    """``torch.svd``: ``(U, S, V)`` with ``V`` (not ``Vh``); ``some=True`` keeps ``min(m, n)``
    columns; ``compute_uv=False`` returns zero ``U`` ``(m, m)`` and ``V`` ``(n, n)``."""
    if not compute_uv:
        m = math_ns()
        S = _svd(input, False, "svd")[1]
        rows, cols = input.shape[-2], input.shape[-1]
        batch = tuple(input.shape[:-2])
        return TorchSVDResult(m.zeros(batch + (rows, rows), dtype=input.dtype,
                                      device=input.device), S,
                              m.zeros(batch + (cols, cols), dtype=input.dtype,
                                      device=input.device))
    U, S, Vh = _svd(input, not some, "svd")
    return TorchSVDResult(U, S, _mT(Vh))


METHODS = {"svd": svd, "qr": qr}
