"""``LowRankMultivariateNormal``: a Gaussian whose covariance is ``W W^T + diag(D)``, with
``W`` of rank r much below n; log_prob and entropy cost O(n r^2) through the r x r capacitance
matrix ``I + W^T D^-1 W`` (Woodbury's identity and the matrix determinant lemma)."""

from __future__ import annotations

import math

import numpy as np

import gpugrad

from . import constraints
from ._linalg import cholesky, diagonal, solve_tril
from .continuous import _standard_normal
from .distribution import Distribution
from .multivariate_normal import _eye_like
from .utils import lazy_property

__all__ = ["LowRankMultivariateNormal"]


class LowRankMultivariateNormal(Distribution):
    """A multivariate normal with covariance ``cov_factor @ cov_factor.mT + diag(cov_diag)``.

    Args:
        loc (Tensor): mean, (*batch, n).
        cov_factor (Tensor): the low-rank factor W, (*batch, n, r).
        cov_diag (Tensor): the positive diagonal D, (*batch, n).
    """

    arg_constraints = {"loc": constraints.real_vector,
                       "cov_factor": constraints.independent(constraints.real, 2),
                       "cov_diag": constraints.independent(constraints.positive, 1)}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.dim() < 1:
            raise ValueError("loc must be at least one-dimensional.")
        event_shape = tuple(loc.shape[-1:])
        if cov_factor.dim() < 2:
            raise ValueError("cov_factor must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if tuple(cov_factor.shape[-2:-1]) != event_shape:
            raise ValueError(f"cov_factor must be a batch of matrices with shape "
                             f"{event_shape[0]} x m")
        if tuple(cov_diag.shape[-1:]) != event_shape:
            raise ValueError(f"cov_diag must be a batch of vectors with shape {event_shape}")
        batch_shape = np.broadcast_shapes(tuple(loc.shape[:-1]), tuple(cov_factor.shape[:-2]),
                                          tuple(cov_diag.shape[:-1]))
        rank = cov_factor.shape[-1]
        self.loc = loc.expand(*batch_shape, *event_shape)
        self.cov_factor = cov_factor.expand(*batch_shape, event_shape[0], rank)
        self.cov_diag = cov_diag.expand(*batch_shape, *event_shape)
        self._unbroadcasted_cov_factor = cov_factor
        self._unbroadcasted_cov_diag = cov_diag
        self._capacitance_tril = self._capacitance(cov_factor, cov_diag)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    @staticmethod
    def _capacitance(w, d):
        """The Cholesky factor of I + W^T D^-1 W."""
        wt_dinv = w.mT / d.unsqueeze(-2)
        k = wt_dinv @ w
        return cholesky(k + _eye_like(k))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LowRankMultivariateNormal, _instance)
        batch_shape = gpugrad.Size(batch_shape)
        n, rank = self.event_shape[0], self.cov_factor.shape[-1]
        new.loc = self.loc.expand(*batch_shape, n)
        new.cov_factor = self.cov_factor.expand(*batch_shape, n, rank)
        new.cov_diag = self.cov_diag.expand(*batch_shape, n)
        new._unbroadcasted_cov_factor = self._unbroadcasted_cov_factor
        new._unbroadcasted_cov_diag = self._unbroadcasted_cov_diag
        new._capacitance_tril = self._capacitance_tril
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        n = self._event_shape[0]
        return (*self._batch_shape, n, n)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return (w.pow(2).sum(-1) + d).expand(*self._batch_shape, *self._event_shape)

    @lazy_property
    def covariance_matrix(self):
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        eye = gpugrad.eye(d.shape[-1], dtype=d.dtype, device=d.device)
        return (w @ w.mT + d.unsqueeze(-1) * eye).expand(self._matrix_shape())

    @lazy_property
    def scale_tril(self):
        return cholesky(self.covariance_matrix)

    @lazy_property
    def precision_matrix(self):
        # Woodbury: D^-1 - D^-1 W C^-1 W^T D^-1, C = I + W^T D^-1 W = L L^T
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        wt_dinv = w.mT / d.unsqueeze(-2)
        a = solve_tril(self._capacitance_tril, wt_dinv)
        n = d.shape[-1]
        eye = gpugrad.eye(n, dtype=d.dtype, device=d.device)
        precision = eye / d.unsqueeze(-1) - a.mT @ a
        return precision.expand(self._matrix_shape())

    def rsample(self, sample_shape=()):
        shape = tuple(self._extended_shape(sample_shape))
        rank = self._unbroadcasted_cov_factor.shape[-1]
        eps_w = _standard_normal(self.loc, (*shape[:-1], rank))
        eps_d = _standard_normal(self.loc, shape)
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return self.loc + (w @ eps_w.unsqueeze(-1)).squeeze(-1) + d.sqrt() * eps_d

    def _log_det(self):
        """log det(W W^T + D) = 2 sum log diag(L) + sum log D."""
        return (2 * diagonal(self._capacitance_tril).log().sum(-1)
                + self._unbroadcasted_cov_diag.log().sum(-1))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        diff = value - self.loc
        w, d = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        # diff^T (W W^T + D)^-1 diff = diff^T D^-1 diff - |L^-1 W^T D^-1 diff|^2
        wt_dinv_diff = ((w.mT / d.unsqueeze(-2)) @ diff.unsqueeze(-1))
        lowrank = solve_tril(self._capacitance_tril, wt_dinv_diff).squeeze(-1)
        mahalanobis = (diff.pow(2) / d).sum(-1) - lowrank.pow(2).sum(-1)
        n = self._event_shape[0]
        return -0.5 * (n * math.log(2 * math.pi) + self._log_det() + mahalanobis)

    def entropy(self):
        n = self._event_shape[0]
        h = 0.5 * (n * (1.0 + math.log(2 * math.pi)) + self._log_det())
        return h if len(self._batch_shape) == 0 else h.expand(self._batch_shape)
