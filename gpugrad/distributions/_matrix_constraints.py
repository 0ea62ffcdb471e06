"""The constraints on matrices (``event_dim`` 2) of ``constraints``: square, symmetric, lower
triangular, lower Cholesky, correlation Cholesky, positive (semi)definite."""

from __future__ import annotations

import gpugrad

from .constraints import Constraint
from .utils import _eps


class _Square(Constraint):
    event_dim = 2

    def check(self, value):
        n, m = value.shape[-2], value.shape[-1]
        return gpugrad.full(tuple(value.shape[:-2]), n == m, dtype=gpugrad.bool,
                            device=value.device)


class _Symmetric(_Square):
    def check(self, value):
        square = super().check(value)
        if not bool(square.all()):
            return square
        return ((value - value.mT).abs() <= 1e-6 * (1 + value.abs())).all(-1).all(-1)


class _LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value):
        return (value.tril() == value).all(-1).all(-1)


class _LowerCholesky(Constraint):
    """Lower-triangular matrices with a positive diagonal."""

    event_dim = 2

    def check(self, value):
        from ._linalg import diagonal

        lower = (value.tril() == value).all(-1).all(-1)
        return lower & (diagonal(value) > 0).all(-1)


class _CorrCholesky(Constraint):
    """Lower Cholesky factors of correlation matrices: rows of unit norm."""

    event_dim = 2

    def check(self, value):
        tol = 10 * _eps(value) * value.shape[-1]
        row_norm = (value * value).sum(-1).sqrt()
        unit = ((row_norm - 1).abs() <= tol).all(-1)
        return _LowerCholesky().check(value) & unit


class _PositiveSemidefinite(_Symmetric):
    def check(self, value):
        sym = super().check(value)
        if not bool(sym.all()):
            return sym
        xp = value._backend.xp
        return value._new((xp.linalg.eigvalsh(value._data) >= 0).all(-1))


class _PositiveDefinite(_Symmetric):
    def check(self, value):
        sym = super().check(value)
        if not bool(sym.all()):
            return sym
        xp = value._backend.xp
        return value._new((xp.linalg.eigvalsh(value._data) > 0).all(-1))
