"""``Wishart``: the Wishart distribution over positive-definite matrices, as
``torch.distributions.wishart``.

Draws use Bartlett's decomposition: ``L A A^T L^T`` with ``L`` the scale's Cholesky factor and
``A`` lower triangular, ``A_ii = sqrt(chi2(df - i))`` and ``A_ij ~ N(0, 1)`` below the
diagonal; the chi-square draws are reparameterized, so ``rsample`` is differentiable in ``df``
and the scale. Draws that come out singular (not positive definite, which ``df`` below the
dimension makes likely) are drawn again up to ``max_try_correction`` times, with a warning.
(PyTorch 2.13 tests the first draw the wrong way round, so it warns "Singular sample detected."
and redraws on nearly every call; here only singular draws warn and are redrawn.)"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

import gpugrad

from . import constraints
from ._linalg import cholesky, diagonal, solve
from .continuous import _standard_normal
from .distribution import Distribution, ExponentialFamily
from .gamma import Chi2
from .utils import _mvlgamma, lazy_property, vec_to_tril_matrix

__all__ = ["Wishart"]

_LOG_2 = math.log(2)


class Wishart(ExponentialFamily):
    """The Wishart distribution with ``df`` degrees of freedom and a scale given by exactly
    one of ``covariance_matrix``, ``precision_matrix`` or ``scale_tril``.

    Args:
        df (float or Tensor): degrees of freedom, greater than the dimension minus 1.
        covariance_matrix (Tensor): the positive-definite scale matrix, (*batch, p, p).
        precision_matrix (Tensor): its inverse.
        scale_tril (Tensor): its lower Cholesky factor.
    """

    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or "
                                 "scale_tril may be specified.")
        param = given[0]
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional "
                             "leading batch dimensions")
        if isinstance(df, numbers.Number):
            batch_shape = gpugrad.Size(param.shape[:-2])
            self.df = gpugrad.tensor(df, dtype=param.dtype, device=param.device)
        else:
            batch_shape = gpugrad.Size(np.broadcast_shapes(tuple(param.shape[:-2]),
                                                           tuple(df.shape)))
            self.df = df.expand(batch_shape)
        p = param.shape[-1]
        if bool((self.df <= p - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {p - 1}.")
        expanded = param.expand(*batch_shape, -1, -1)
        if scale_tril is not None:
            self.scale_tril = expanded
        elif covariance_matrix is not None:
            self.covariance_matrix = expanded
        else:
            self.precision_matrix = expanded
        if bool((self.df < p).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur "
                          "for ndim - 1 < df < ndim.", stacklevel=2)
        super().__init__(batch_shape, param.shape[-2:], validate_args=validate_args)
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = cholesky(covariance_matrix)
        else:
            cov = solve(precision_matrix, gpugrad.eye(p, dtype=param.dtype, device=param.device))
            self._unbroadcasted_scale_tril = cholesky(0.5 * (cov + cov.mT))
        self._dist_chi2 = self._bartlett_chi2()

    def _bartlett_chi2(self):
        """The chi-square laws of Bartlett's diagonal: df - i for row i."""
        p = self._event_shape[-1]
        steps = gpugrad.arange(p, dtype=self.df.dtype, device=self.df.device)
        return Chi2(df=self.df.unsqueeze(-1) - steps.expand(*self._batch_shape, -1))

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = gpugrad.Size(batch_shape)
        matrix_shape = (*batch_shape, *self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril
        new.df = self.df.expand(batch_shape)
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                setattr(new, name, self.__dict__[name].expand(matrix_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._dist_chi2 = new._bartlett_chi2()
        new._validate_args = self._validate_args
        return new

    def _matrix_shape(self):
        return (*self._batch_shape, *self._event_shape)

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._matrix_shape())

    @lazy_property
    def covariance_matrix(self):
        low = self._unbroadcasted_scale_tril
        return (low @ low.mT).expand(self._matrix_shape())

    @lazy_property
    def precision_matrix(self):
        low = self._unbroadcasted_scale_tril
        eye = gpugrad.eye(low.shape[-1], dtype=low.dtype, device=low.device)
        return gpugrad.cholesky_solve(eye, low).expand(self._matrix_shape())

    def _df_matrix(self):
        return self.df.view(*self._batch_shape, 1, 1)

    @property
    def mean(self):
        return self._df_matrix() * self.covariance_matrix

    @property
    def mode(self):
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = gpugrad.where(factor <= 0, float("nan"), factor)
        return factor.view(*self._batch_shape, 1, 1) * self.covariance_matrix

    @property
    def variance(self):
        cov = self.covariance_matrix
        d = diagonal(cov)
        return self._df_matrix() * (cov.pow(2) + d.unsqueeze(-1) * d.unsqueeze(-2))

    def _bartlett_sampling(self, sample_shape):
        p = self._event_shape[-1]
        eps = float(np.finfo(self.df._data.dtype).eps)
        diag = self._dist_chi2.rsample(sample_shape).sqrt().clamp(min=eps)
        below = _standard_normal(diag, (*diag.shape[:-1], p * (p - 1) // 2))
        noise = vec_to_tril_matrix(below, diag=-1) + gpugrad.diag_embed(diag)
        chol = self._unbroadcasted_scale_tril @ noise
        return chol @ chol.mT

    def _singular(self, sample, sample_shape):
        """Which of the ``sample_shape`` draws hold a singular matrix in any batch member."""
        bad = ~self.support.check(sample)
        return bad.reshape(*sample_shape, -1).any(-1)

    def rsample(self, sample_shape=(), max_try_correction=None):
        """Draws by Bartlett's decomposition, differentiable in ``df`` and the scale.

        Args:
            max_try_correction (int): how many times singular draws are drawn again (10)."""
        if max_try_correction is None:
            max_try_correction = 10
        sample_shape = gpugrad.Size(sample_shape)
        sample = self._bartlett_sampling(sample_shape)
        singular = self._singular(sample, sample_shape)
        if bool(singular.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                redraw = self._bartlett_sampling(sample_shape)
                mask = singular.view(*sample_shape, *(1,) * (len(self._batch_shape) + 2))
                sample = gpugrad.where(mask, redraw, sample)
                singular = self._singular(sample, sample_shape)
                if not bool(singular.any()):
                    break
        return sample

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu, p = self.df, self._event_shape[-1]
        low = self._unbroadcasted_scale_tril
        half_log_det_scale = diagonal(low).log().sum(-1)
        trace = diagonal(gpugrad.cholesky_solve(value, low)).sum(-1)
        return (-nu * (p * _LOG_2 / 2 + half_log_det_scale) - _mvlgamma(nu / 2, p)
                + (nu - p - 1) / 2 * gpugrad.linalg.slogdet(value).logabsdet - trace / 2)

    def entropy(self):
        nu, p = self.df, self._event_shape[-1]
        half_log_det_scale = diagonal(self._unbroadcasted_scale_tril).log().sum(-1)
        steps = gpugrad.arange(p, dtype=nu.dtype, device=nu.device) / 2
        mvdigamma = gpugrad.digamma((nu / 2).unsqueeze(-1) - steps).sum(-1)
        return ((p + 1) * (p * _LOG_2 / 2 + half_log_det_scale) + _mvlgamma(nu / 2, p)
                - (nu - p - 1) / 2 * mvdigamma + nu * p / 2)
