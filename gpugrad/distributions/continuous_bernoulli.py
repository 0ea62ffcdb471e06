"""``ContinuousBernoulli``: the continuous Bernoulli distribution on [0, 1] (Loaiza-Ganem and
Cunningham, 2019), as ``torch.distributions.continuous_bernoulli``, with its KL divergences.

Its density is ``C(p) p^x (1-p)^(1-x)``, ``C(p) = 2 atanh(1 - 2p) / (1 - 2p)``; the closed
forms of ``log C``, the mean, variance, CDF and inverse CDF divide 0 by 0 at p = 1/2, so inside
``lims`` (the unstable region around 1/2) the mean, variance and ``log C`` come from their
Taylor series in ``p - 1/2`` and the CDF is the identity (the uniform distribution's), as
PyTorch computes them."""

from __future__ import annotations

import math
import numbers

import gpugrad
from gpugrad.nn import functional as F

from . import constraints
from .continuous import Exponential, Laplace, Normal, Uniform, _uniform
from .derived import Gumbel, Pareto
from .distribution import Distribution, ExponentialFamily
from .gamma import Beta, Gamma
from .kl import _inf_where, register_kl
from .utils import (
    _check_one_of,
    _expand_probs_or_logits,
    broadcast_all,
    clamp_probs,
    lazy_property,
    logits_to_probs,
    probs_to_logits,
)

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(ExponentialFamily):
    """The continuous Bernoulli distribution on [0, 1], parameterized by ``probs`` in (0, 1)
    or ``logits`` (not both).

    Args:
        probs (Number, Tensor): the shape parameter (clamped into (0, 1)).
        logits (Number, Tensor): its log-odds.
        lims (tuple): the region around 1/2 where Taylor series replace the closed forms.
    """

    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        _check_one_of(probs, logits)
        param = probs if probs is not None else logits
        is_scalar = isinstance(param, numbers.Number)
        if probs is not None:
            (probs,) = broadcast_all(probs)
            # checked before clamping, which would hide values outside [0, 1]
            if validate_args is not None and not bool(
                    self.arg_constraints["probs"].check(probs).all()):
                raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(probs)
            self._param = self.probs
        else:
            (self.logits,) = broadcast_all(logits)
            self._param = self.logits
        self._lims = lims
        batch = gpugrad.Size() if is_scalar else self._param.shape
        super().__init__(batch, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(ContinuousBernoulli, _instance)
        batch_shape = gpugrad.Size(batch_shape)
        new._lims = self._lims
        _expand_probs_or_logits(self, new, batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _new(self, *args, **kwargs):
        return self._param.new(*args, **kwargs)

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=True)

    @lazy_property
    def probs(self):
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self) -> gpugrad.Size:
        return self._param.shape

    def _outside_unstable_region(self):
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self):
        """probs outside the unstable region, a stable stand-in inside it (so the unused
        branch of each ``where`` stays finite, and so do its gradients)."""
        return gpugrad.where(self._outside_unstable_region(), self.probs,
                             self._lims[0] * gpugrad.ones_like(self.probs))

    def _log_odds_gap(self, p):
        return (-p).log1p() - p.log()  # log(1-p) - log p

    def _cont_bern_log_norm(self):
        """log C(p), the log of the normalizing constant."""
        p = self._cut_probs()
        below = gpugrad.where(p <= 0.5, p, gpugrad.zeros_like(p))
        above = gpugrad.where(p >= 0.5, p, gpugrad.ones_like(p))
        closed = self._log_odds_gap(p).abs().log() - gpugrad.where(
            p <= 0.5, (-2.0 * below).log1p(), (2.0 * above - 1.0).log())
        x = (self.probs - 0.5).pow(2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return gpugrad.where(self._outside_unstable_region(), closed, taylor)

    @property
    def mean(self):
        p = self._cut_probs()
        closed = p / (2.0 * p - 1.0) + 1.0 / self._log_odds_gap(p)
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x.pow(2)) * x
        return gpugrad.where(self._outside_unstable_region(), closed, taylor)

    @property
    def stddev(self):
        return self.variance.sqrt()

    @property
    def variance(self):
        p = self._cut_probs()
        closed = (p * (p - 1.0) / (1.0 - 2.0 * p).pow(2)
                  + 1.0 / self._log_odds_gap(p).pow(2))
        x = (self.probs - 0.5).pow(2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return gpugrad.where(self._outside_unstable_region(), closed, taylor)

    def sample(self, sample_shape=()):
        with gpugrad.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        return self.icdf(_uniform(self.probs, shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return (-F.binary_cross_entropy_with_logits(logits, value, reduction="none")
                + self._cont_bern_log_norm())

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        p = self._cut_probs()
        closed = (p.pow(value) * (1.0 - p).pow(1.0 - value) + p - 1.0) / (2.0 * p - 1.0)
        inside = gpugrad.where(self._outside_unstable_region(), closed, value)
        return gpugrad.where(value <= 0.0, gpugrad.zeros_like(inside),
                             gpugrad.where(value >= 1.0, gpugrad.ones_like(inside), inside))

    def icdf(self, value):
        p = self._cut_probs()
        closed = (((-p + value * (2.0 * p - 1.0)).log1p() - (-p).log1p())
                  / (p.log() - (-p).log1p()))
        return gpugrad.where(self._outside_unstable_region(), closed, value)

    def entropy(self):
        log_q = (-self.probs).log1p()
        return self.mean * (log_q - self.probs.log()) - self._cont_bern_log_norm() - log_q

    @property
    def _natural_params(self):
        return (self.logits,)

    def _log_normalizer(self, x):
        """log of the normalizer as a function of the natural parameter (the logits)."""
        lo, hi = self._lims[0] - 0.5, self._lims[1] - 0.5
        outside = (x <= lo) | (x > hi)
        cut = gpugrad.where(outside, x, lo * gpugrad.ones_like(x))
        closed = (cut.exp() - 1.0).abs().log() - cut.abs().log()
        taylor = 0.5 * x + x.pow(2) / 24.0 - x.pow(4) / 2880.0
        return gpugrad.where(outside, closed, taylor)


# KL divergences ---------------------------------------------------------------------------

def _e_log_cb(q, mean):
    """E_p[log q(x)] for a continuous Bernoulli q, from p's mean."""
    return mean * q.logits + (-q.probs).log1p() + q._cont_bern_log_norm()


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_cb_cb(p, q):
    return (p.mean * (p.logits - q.logits) + p._cont_bern_log_norm() + (-p.probs).log1p()
            - q._cont_bern_log_norm() - (-q.probs).log1p())


@register_kl(Beta, ContinuousBernoulli)
def _kl_beta_cb(p, q):
    return -p.entropy() - _e_log_cb(q, p.mean)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_cb(p, q):
    outside = (p.high >= 1.0) | (p.low <= 0.0)
    return _inf_where(outside, -p.entropy() - _e_log_cb(q, p.mean))


@register_kl(ContinuousBernoulli, Exponential)
def _kl_cb_exponential(p, q):
    return -p.entropy() - q.rate.log() + q.rate * p.mean


@register_kl(ContinuousBernoulli, Normal)
def _kl_cb_normal(p, q):
    e_log_q = (-0.5 * math.log(2.0 * math.pi) - q.scale.log()
               - (p.variance + (p.mean - q.loc).pow(2)) / (2.0 * q.scale.pow(2)))
    return -p.entropy() - e_log_q


@register_kl(ContinuousBernoulli, Uniform)
def _kl_cb_uniform(p, q):
    outside = (q.low >= 0.0) | (q.high <= 1.0)
    return _inf_where(outside, -p.entropy() + (q.high - q.low).log())


def _infinite_kl(p, q):
    param = p.probs if isinstance(p, ContinuousBernoulli) else p.mean
    return gpugrad.full(tuple(p.batch_shape), math.inf, dtype=param.dtype, device=param.device)


for _family in (Exponential, Gamma, Gumbel, Laplace, Normal, Pareto):
    register_kl(_family, ContinuousBernoulli)(_infinite_kl)
register_kl(ContinuousBernoulli, Pareto)(_infinite_kl)
