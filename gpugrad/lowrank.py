"""Randomized low-rank decompositions, ``torch.svd_lowrank`` and ``torch.pca_lowrank``: a
random range finder with a few subspace iterations (Halko, Martinsson and Tropp, 2009,
algorithms 4.4 and 5.1), then the SVD of the small projected matrix. Composites of gpugrad's
differentiable ops, so gradients flow through them. The random start draws from gpugrad's
generator: for a matrix of rank at most ``q`` the results are PyTorch's up to the signs of the
singular vectors; otherwise both are approximations from different random starts.
"""

from __future__ import annotations

from . import linalg
from ._dtype import get_default_dtype
from .sampling import randn
from .tensor import Tensor

__all__ = ["svd_lowrank", "pca_lowrank"]


def _basis(A: Tensor, q: int, niter: int, M: Tensor | None) -> Tensor:
    """Orthonormal columns ``Q`` (``(*, m, q)``) with ``Q Q^T (A - M)`` close to ``A - M``."""
    dtype = A.dtype if A.is_floating_point() else get_default_dtype()
    start = randn(A.shape[-1], q, dtype=dtype, device=A.device)

    def times(mat, centre, right):  # (A - M) @ right, without forming A - M
        out = mat @ right
        return out if centre is None else out - centre @ right

    Mt = None if M is None else M.mT
    Q = linalg.qr(times(A, M, start)).Q
    for _ in range(niter):
        Q = linalg.qr(times(A.mT, Mt, Q)).Q
        Q = linalg.qr(times(A, M, Q)).Q
    return Q


def _svd_lowrank(A: Tensor, q: int, niter: int, M: Tensor | None):
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    wide = m < n
    if wide:  # (the range finder works on the tall orientation)
        A = A.mT
        M = None if M is None else M.mT
    Q = _basis(A, q, niter, M)
    B = Q.mT @ A
    if M is not None:
        B = B - Q.mT @ M
    U, S, Vh = linalg.svd(B, full_matrices=False)
    U, V = Q @ U, Vh.mT
    return (V, S, U) if wide else (U, S, V)


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2, M: Tensor | None = None):
    """``(U, S, V)`` with ``A - M ≈ U diag(S) V^T`` (``M`` zero if not given) for an ``(*, m,
    n)`` matrix, keeping ``q`` singular values (choose ``q`` a little above the expected rank);
    ``niter`` subspace iterations sharpen the basis. Randomized (gpugrad's generator)."""
    return _svd_lowrank(A, 6 if q is None else q, 2 if niter is None else niter, M)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2):
    """``svd_lowrank`` of ``A`` with each column's mean removed (unless ``center`` is False):
    the principal directions are ``V``'s columns; ``q`` defaults to ``min(6, m, n)``."""
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not 0 <= q <= min(m, n):
        raise ValueError(
            f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not niter >= 0:
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return _svd_lowrank(A, q, niter, None)
    return _svd_lowrank(A - A.mean(dim=-2, keepdim=True), q, niter, None)
