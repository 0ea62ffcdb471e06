"""``GeneralizedPareto``: the peaks-over-threshold distribution with location, scale and
concentration (shape) xi; xi = 0 is the exponential, xi < 0 has a bounded support."""

from __future__ import annotations

import math

import gpugrad

from . import constraints
from .continuous import _batch_of, _uniform
from .distribution import Distribution
from .utils import broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """The generalized Pareto distribution with ``loc``, ``scale`` and ``concentration``;
    drawn by inverting its CDF at uniform draws (reparameterized)."""

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive,
                       "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        batch = _batch_of(loc, scale, concentration)
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        super().__init__(self.loc.shape if batch is None else batch,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(GeneralizedPareto, _instance)
        batch_shape = gpugrad.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _safe(self):
        """Where xi is 0 (the exponential limit), and xi with those entries set to 1 so that
        the general formulas stay finite there (their gradients too)."""
        zero = self.concentration == 0
        return zero, gpugrad.where(zero, 1.0, self.concentration)

    def _z(self, x):
        return (x - self.loc) / self.scale

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return self.icdf(_uniform(self.loc, shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        zero, c = self._safe()
        y = 1 / c + 1
        general = gpugrad.where(y == 0, y, y * (c * z).log1p())
        return -self.scale.log() - gpugrad.where(zero, z, general)

    def _log_survival(self, value):
        z = self._z(value)
        zero, c = self._safe()
        return gpugrad.where(zero, -z, -(c * z).log1p() / c)

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -self._log_survival(value).expm1()

    def icdf(self, value):
        zero, c = self._safe()
        log_sf = (-value).log1p()
        return self.loc + self.scale * gpugrad.where(zero, -log_sf, (-c * log_sf).expm1() / c)

    @property
    def mean(self):
        c = self.concentration
        valid = c < 1
        safe = gpugrad.where(valid, c, 0.5)
        return gpugrad.where(valid, self.loc + self.scale / (1 - safe), math.nan)

    @property
    def variance(self):
        c = self.concentration
        valid = c < 0.5
        safe = gpugrad.where(valid, c, 0.25)
        return gpugrad.where(valid, self.scale.pow(2) / ((1 - safe).pow(2) * (1 - 2 * safe)),
                             math.nan)

    @property
    def mode(self):
        return self.loc

    def entropy(self):
        return self.scale.log() + self.concentration + 1

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        lower = self.loc
        upper = gpugrad.where(self.concentration < 0,
                              lower - self.scale / self.concentration, math.inf)
        return constraints.interval(lower, upper)
