"""``LKJCholesky``: the LKJ distribution over Cholesky factors of correlation matrices, as
``torch.distributions.lkj_cholesky`` (Lewandowski, Kurowicka and Joe, 2009).

Draws use the onion method: row i of the factor is a uniform direction in its first i
coordinates scaled by the square root of a Beta draw, and the diagonal takes what is left of
the unit norm. The density of the factor L of a correlation matrix is proportional to
``prod_i L_ii^(2(concentration - 1) + D - i)`` (i = 2..D)."""

from __future__ import annotations

import math

import gpugrad

from . import constraints
from .continuous import _standard_normal
from .distribution import Distribution
from .gamma import Beta
from .utils import _mvlgamma, broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """The LKJ distribution over lower Cholesky factors of ``dim`` x ``dim`` correlation
    matrices: the correlation matrix ``L @ L.mT`` has density proportional to
    ``det(L @ L.mT) ** (concentration - 1)``.

    Args:
        dim (int): the matrices' size (at least 2).
        concentration (float or Tensor): the shape parameter (positive; 1 is uniform over
            correlation matrices, larger values favour the identity).
    """

    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim, concentration=1.0, validate_args=None):
        if dim < 2:
            raise ValueError(
                f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        c = self.concentration
        # the Beta draws of the onion method: row i (0-based) of the factor has squared
        # off-diagonal norm ~ Beta(i/2, marginal - i/2), row 0 a dummy Beta(1/2, marginal)
        marginal = c + 0.5 * (dim - 2)
        offset = gpugrad.arange(dim - 1, dtype=c.dtype, device=c.device)
        offset = gpugrad.cat([gpugrad.zeros(1, dtype=c.dtype, device=c.device), offset])
        self._beta = Beta(offset + 0.5, marginal.unsqueeze(-1) - 0.5 * offset)
        super().__init__(c.shape, gpugrad.Size((dim, dim)), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = gpugrad.Size(batch_shape)
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(gpugrad.Size((*batch_shape, self.dim)))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape=()):
        """Cholesky factors of shape ``sample_shape + batch_shape + (dim, dim)`` (no
        gradient)."""
        with gpugrad.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            shape = self._extended_shape(sample_shape)
            u = _standard_normal(y, shape).tril(-1)
            norm = u.norm(dim=-1, keepdim=True)
            # row 0 has no off-diagonal entries: its 0/0 direction is replaced by zeros
            first_row = gpugrad.arange(self.dim, device=u.device).unsqueeze(-1) == 0
            direction = gpugrad.where(first_row, 0.0, u / norm)
            w = y.sqrt() * direction
            tiny = gpugrad.finfo(w.dtype).tiny
            diag = (1 - w.pow(2).sum(-1)).clamp(min=tiny).sqrt()
            return w + gpugrad.diag_embed(diag)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        dim, c = self.dim, self.concentration
        diag = value.diagonal(dim1=-2, dim2=-1)[..., 1:]
        order = gpugrad.arange(2, dim + 1, dtype=c.dtype, device=c.device)
        power = 2 * (c - 1).unsqueeze(-1) + dim - order
        unnormalized = (power * diag.log()).sum(-1)
        # log of the normalizer: (D-1)/2 log(pi) + log Gamma_{D-1}(alpha - 1/2)
        # - (D-1) log Gamma(alpha), with alpha = c + (D-1)/2 and Gamma_p the multivariate gamma
        dm1 = dim - 1
        alpha = c + 0.5 * dm1
        log_norm = (0.5 * dm1 * math.log(math.pi) + _mvlgamma(alpha - 0.5, dm1)
                    - gpugrad.lgamma(alpha) * dm1)
        return unnormalized - log_norm
