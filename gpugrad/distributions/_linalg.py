"""Private linear algebra for ``MultivariateNormal``: a differentiable Cholesky factor and
linear solve on the backend's arrays (``numpy.linalg`` / ``cupy.linalg``), and the diagonal of
a batch of matrices. To be replaced by ``gpugrad.linalg`` once that lands (branch linalg)."""

from __future__ import annotations

import numpy as np

import gpugrad

from ..autograd.function import Function


def diagonal(a):
    """The diagonals of a batch of square matrices ``(..., n, n) -> (..., n)``."""
    n = a.shape[-1]
    return (a * gpugrad.eye(n, dtype=a.dtype, device=a.device)).sum(-1)


class _Cholesky(Function):
    node_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, a):
        xp = a._backend.xp
        try:
            low = xp.linalg.cholesky(a._data)
        except np.linalg.LinAlgError as e:  # CuPy returns NaN instead (below)
            raise ValueError("cholesky: the matrix is not positive-definite") from e
        if not bool(xp.isfinite(low).all()):  # CuPy returns NaN instead of raising
            raise ValueError("cholesky: the matrix is not positive-definite")
        out = a._new(low)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        # A = L L^T: dA = L^{-T} Phi(L^T dL) L^{-1}, symmetrized.
        (low,) = ctx.saved_tensors
        lt_g = low.mT @ grad
        phi = lt_g.tril() - 0.5 * lt_g * gpugrad.eye(lt_g.shape[-1], dtype=lt_g.dtype,
                                                     device=lt_g.device)
        inner = solve(low.mT, solve(low.mT, phi.mT).mT)  # L^{-T} Phi L^{-1}
        return 0.5 * (inner + inner.mT)


class _Solve(Function):
    node_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, a, b):
        xp = a._backend.xp
        out = a._new(xp.linalg.solve(a._data, b._data))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        gb = solve(a.mT, grad)
        ga = -(gb @ x.mT) if ctx.needs_input_grad[0] else None
        return ga, gb


def cholesky(a):
    """The lower Cholesky factor of a batch of positive-definite matrices."""
    return _Cholesky.apply(a)


def solve(a, b):
    """``X`` with ``a @ X = b``; ``b`` is a batch of matrices broadcast with ``a``."""
    shape = tuple(gpugrad.Size(_broadcast(a.shape[:-2], b.shape[:-2])))
    a = a.expand(*shape, *a.shape[-2:])
    b = b.expand(*shape, *b.shape[-2:])
    return _Solve.apply(a, b)


def solve_tril(low, b):
    """``X`` with ``low @ X = b`` for lower-triangular ``low``: only its lower triangle is
    read, so only that gets a gradient."""
    return solve(low.tril(), b)


def _broadcast(s1, s2):
    import numpy as np

    return np.broadcast_shapes(tuple(s1), tuple(s2))
