"""What the SVD gives: ``linalg.pinv`` (and PyTorch's ``pinverse``), ``matrix_rank``,
``lstsq``, ``cond``."""

from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ._linalg_results import LstsqResult
from ._util import Tensor, check_tensor, math_ns
from .linalg_norms import matrix_norm
from .linalg_solve import (
    _mT,
    check_matrix,
    check_same_dtype,
    eye_like,
    in_float32,
    inv,
    lapack,
)
from .linalg_spectral import _NO_CONVERGE, eigvalsh, svdvals

__all__ = ["pinverse"]


def _tolerances(A, atol, rtol, fn):
    for name, v in (("atol", atol), ("rtol", rtol)):
        if v is not None and not isinstance(v, (int, float)):
            raise TypeError(f"{fn}: {name} must be a float (a Tensor tolerance is not "
                            f"supported), got {type(v).__name__}")
    if rtol is None:
        rtol = (np.finfo(A._data.dtype).eps * max(A.shape[-2], A.shape[-1])
                if atol is None or atol <= 0 else 0.0)
    return float(atol or 0.0), float(rtol)


def _pinv_array(xp, a, atol, rtol, hermitian):
    """The pseudo-inverse through the SVD (or, for a symmetric ``a``, the eigendecomposition):
    singular values at or below ``max(atol, rtol * largest)`` count as zero."""
    n_rows, n_cols = a.shape[-2:]
    if a.size == 0:
        return xp.zeros(a.shape[:-2] + (n_cols, n_rows), dtype=a.dtype)
    if hermitian:
        L, V = xp.linalg.eigh(a)
        size = xp.abs(L)
        cut = xp.maximum(atol, rtol * size.max(axis=-1, keepdims=True))
        inv = xp.where(size > cut, 1.0 / xp.where(size > cut, L, 1.0), 0.0)
        return xp.matmul(V * inv[..., None, :], xp.swapaxes(V, -1, -2)).astype(a.dtype)
    U, S, Vh = xp.linalg.svd(a, full_matrices=False)
    cut = xp.maximum(atol, rtol * S[..., :1])
    inv = xp.where(S > cut, 1.0 / xp.where(S > cut, S, 1.0), 0.0)
    return xp.matmul(xp.swapaxes(Vh, -1, -2) * inv[..., None, :],
                     xp.swapaxes(U, -1, -2)).astype(a.dtype)


class Pinv(Function):
    node_name = "LinalgPinvBackward0"

    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        out = A._new(lapack("linalg.pinv", _NO_CONVERGE,
                            lambda xp, a: _pinv_array(xp, a, atol, rtol, hermitian), A))
        ctx.save_for_backward(A, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # X = A^+: dX = -X dA X + X X^T dA^T (I - A X) + (I - X A) dA^T X^T X, so
        # gA = -X^T g X^T + (I - A X) g^T X X^T + X^T X g^T (I - X A).
        A, X = ctx.saved_tensors
        Xt, gt = _mT(X), _mT(grad)
        left = eye_like(A, A.shape[-2]) - A @ X
        right = eye_like(A, A.shape[-1]) - X @ A
        return -(Xt @ grad @ Xt) + left @ gt @ (X @ Xt) + (Xt @ X) @ gt @ right, None, None, None


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse of ``A`` ``(*, m, n)``: singular values at or below
    ``max(atol, rtol * largest)`` are treated as zero (default ``rtol``: ``eps * max(m, n)``
    when neither is given, else 0). ``hermitian``: ``A`` is symmetric (its lower triangle is
    read)."""
    check_matrix(A, "linalg.pinv", square=bool(hermitian))
    if A.dtype.itemsize == 2:
        raise RuntimeError(f"linalg.pinv({A.dtype}{list(A.shape)}): expected a tensor with 2 or "
                           "more dimensions of float, double, cfloat or cdouble types")
    atol, rtol = _tolerances(A, atol, rtol, "linalg.pinv")
    return Pinv.apply(A, atol, rtol, bool(hermitian))


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: ``linalg.pinv`` with ``rtol=rcond``."""
    return pinv(input, rtol=rcond)


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The number of singular values (eigenvalues' absolute values when ``hermitian``) above
    ``max(atol, rtol * largest)`` (int64; default tolerances as ``pinv``'s)."""
    check_matrix(A, "linalg.matrix_rank", square=bool(hermitian))
    _float_double(A)
    atol, rtol = _tolerances(A, atol, rtol, "linalg.matrix_rank")
    m = math_ns()
    with m.no_grad():
        S = eigvalsh(A).abs() if hermitian else svdvals(A)
        if S.shape[-1] == 0:
            return m.zeros(S.shape[:-1], dtype=m.int64, device=A.device)
        cut = m.clamp_min(rtol * S.amax(-1, keepdim=True), atol)
        return (S > cut).sum(-1)


def _float_double(A):
    if A.dtype.itemsize == 2:
        raise RuntimeError("This function doesn't handle types other than float and double")


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """The least-squares solution of ``A X = B`` for ``A`` ``(*, m, n)``, ``B`` ``(*, m, k)``:
    ``(solution, residuals, rank, singular_values)``. The solution is ``pinv(A) B`` (singular
    values at or below ``rcond`` times the largest count as zero; default ``eps * max(m, n)``),
    whatever ``driver`` names; ``residuals`` (the squared residual norms, for ``m > n`` and a
    full-rank ``A``) for every driver but ``'gelsy'``, ``singular_values`` for
    ``'gelsd'``/``'gelss'``, ``rank`` for every driver but ``'gels'``, as PyTorch's CPU drivers
    give them."""
    fn = "torch.linalg.lstsq"
    check_matrix(A, fn, square=False)
    check_tensor(B, fn, "B")
    check_same_dtype(A, B, fn)
    _float_double(A)
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(f"{fn}: parameter `driver` should be one of (gels, gelsy, gelsd, "
                           f"gelss)")
    vector = B.ndim == A.ndim - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.shape[-2] != A.shape[-2]:
        raise RuntimeError(f"{fn}: input.size(-2) should match other.size(-2)")
    m = math_ns()
    rtol = rcond if rcond is not None and rcond > 0 else None
    X = pinv(A, rtol=rtol) @ Bm
    empty = m.zeros((0,), dtype=A.dtype, device=A.device)
    rank = m.zeros((0,), dtype=m.int64, device=A.device)
    if driver != "gels":
        rank = matrix_rank(A, rtol=rtol)
    residuals, values = empty, empty
    if driver in ("gelsd", "gelss"):
        values = svdvals(A.detach())
    rows, cols = A.shape[-2], A.shape[-1]
    if driver != "gelsy" and rows > cols and (driver == "gels" or bool((rank == cols).all())):
        residuals = ((A @ X - Bm) ** 2).sum(-2)
    return LstsqResult(X.squeeze(-1) if vector else X, residuals, rank, values)


def cond(A: Tensor, p=None) -> Tensor:
    """The condition number of ``A`` in the matrix norm ``p``: for ``None`` / 2 / -2 the ratio
    of its largest and smallest singular values (``A`` ``(*, m, n)``), otherwise
    ``matrix_norm(A, p) * matrix_norm(inv(A), p)`` for a square invertible ``A``."""
    check_matrix(A, "linalg.cond", square=p not in (None, 2, -2))
    if p is None or p == 2 or p == -2:
        S = svdvals(A)
        big, small = S[..., 0], S[..., -1]
        return small / big if p == -2 else big / small
    # (float16/bfloat16: PyTorch's inv refuses them, but its nuclear norm comes first)
    return (_norm_ratio_in_float32 if p == "nuc" else _norm_ratio)(A, p)


def _norm_ratio(A, p):
    return matrix_norm(A, p) * matrix_norm(inv(A), p)


_norm_ratio_in_float32 = in_float32(_norm_ratio)


METHODS = {"pinverse": pinverse}
