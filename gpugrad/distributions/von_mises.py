"""``VonMises``: the von Mises distribution, a circular analogue of the normal distribution,
as ``torch.distributions.von_mises``.

Its normalizer is ``2 pi I0(concentration)``; ``log I0`` and the ratio ``I1 / I0`` come from the
exponentially scaled Bessel functions ``special.i0e`` and ``special.i1e`` (``log I0(k) =
log i0e(k) + k``), exact to rounding. PyTorch evaluates them with the polynomial
approximations of Abramowitz and Stegun (9.8.1 to 9.8.4), so the two agree to about 1e-7
relative in log_prob (1e-5 in its gradient, 1e-6 absolute in the variance), not to rounding.
Draws follow Best and Fisher's rejection sampler (1979), in float64 whatever the dtype."""

from __future__ import annotations

import math

import gpugrad

from . import constraints
from .continuous import _uniform
from .distribution import Distribution
from .utils import broadcast_all, lazy_property

__all__ = ["VonMises"]


class VonMises(Distribution):
    """The von Mises distribution on the circle (angles in radians, draws in [-pi, pi)).

    Args:
        loc (Tensor): the mean angle.
        concentration (Tensor): the concentration (positive; its inverse plays the variance's
            part).
    """

    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, gpugrad.Size(), validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(VonMises, _instance)
        batch_shape = gpugrad.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        k = self.concentration
        log_i0 = gpugrad.special.i0e(k).log() + k
        return k * (value - self.loc).cos() - math.log(2 * math.pi) - log_i0

    @property
    def mean(self):
        """The mean angle, ``loc`` (the circular mean)."""
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        """The circular variance, ``1 - I1(k) / I0(k)``."""
        k = self.concentration
        return 1 - gpugrad.special.i1e(k) / gpugrad.special.i0e(k)

    @lazy_property
    def _loc(self):
        return self.loc.to(gpugrad.float64)

    @lazy_property
    def _concentration(self):
        return self.concentration.to(gpugrad.float64)

    @lazy_property
    def _proposal_r(self):
        """The wrapped-Cauchy envelope's parameter (Best and Fisher's r), its Taylor series
        ``1/k + k`` below 1e-5 where the closed form cancels."""
        k = self._concentration
        tau = 1 + (1 + 4 * k.pow(2)).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * k)
        closed = (1 + rho.pow(2)) / (2 * rho)
        taylor = 1 / k + k
        return gpugrad.where(k < 1e-5, taylor, closed)

    def sample(self, sample_shape=()):
        """Angles in [-pi, pi) by rejection from a wrapped-Cauchy envelope (no gradient)."""
        shape = tuple(self._extended_shape(sample_shape))
        with gpugrad.no_grad():
            k = self._concentration.expand(shape)
            r = self._proposal_r.expand(shape)
            x = gpugrad.zeros(shape, dtype=gpugrad.float64, device=k.device)
            done = gpugrad.zeros(shape, dtype=gpugrad.bool, device=k.device)
            while not bool(done.all()):
                u1, u2, u3 = _uniform(k, (3, *shape)).unbind(0)
                f = (1 + r * (math.pi * u1).cos()) / (r + (math.pi * u1).cos())
                c = k * (r - f)
                accept = ((c * (2 - c) - u2) > 0) | ((c / u2).log() + 1 - c >= 0)
                x = gpugrad.where(accept & ~done, (u3 - 0.5).sign() * f.acos(), x)
                done = done | accept
            angle = (x + math.pi + self._loc) % (2 * math.pi) - math.pi
            return angle.to(self.loc.dtype)
