"""KL divergences between distributions of different families: KL(p || q) =
-H(p) - E_p[log q(x)], with the expectation in closed form from p's moments (mean, variance,
E log x, moment generating function), and infinite where p's support is not inside q's."""

from __future__ import annotations

import math

import gpugrad

from ._special import digamma, lgamma
from .categorical import Bernoulli
from .continuous import Exponential, Laplace, Normal, Uniform
from .counts import Binomial, Poisson
from .derived import Gumbel, HalfNormal, Pareto
from .gamma import Beta, Gamma
from .kl import _inf_where, register_kl
from .utils import EULER_GAMMA, _xlogy

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _infinite_like(t):
    return gpugrad.full(tuple(t.shape), math.inf, dtype=t.dtype, device=t.device)


# E_p[log q(x)] for each family q, from p's statistics -----------------------------------

def _e_log_normal(q, mean, var):
    return -q.scale.log() - _HALF_LOG_2PI - (var + (mean - q.loc).pow(2)) / (2 * q.scale.pow(2))


def _e_log_exponential(q, mean):
    return q.rate.log() - q.rate * mean


def _e_log_gamma(q, mean, e_log_x):
    a, b = q.concentration, q.rate
    return _xlogy(a, b) - lgamma(a) + (a - 1) * e_log_x - b * mean


def _e_log_gumbel(q, mean, mgf_at_minus_inv_scale):
    # log q = -log beta - z - exp(-z), z = (x - mu) / beta; E exp(-z) = e^{mu/beta} M(-1/beta)
    z_mean = (mean - q.loc) / q.scale
    return -q.scale.log() - z_mean - (q.loc / q.scale).exp() * mgf_at_minus_inv_scale


# Bernoulli, Poisson, Binomial -------------------------------------------------------------

@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_infinity(p, q):
    return _infinite_like(p.rate)


# p Beta -----------------------------------------------------------------------------------

def _beta_stats(p):
    a, b = p.concentration1, p.concentration0
    total = a + b
    return a / total, p.variance, digamma(a) - digamma(total)


@register_kl(Beta, Exponential)
def _kl_beta_exponential(p, q):
    mean, _, _ = _beta_stats(p)
    return -p.entropy() - _e_log_exponential(q, mean)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    mean, _, e_log_x = _beta_stats(p)
    return -p.entropy() - _e_log_gamma(q, mean, e_log_x)


@register_kl(Beta, Normal)
def _kl_beta_normal(p, q):
    mean, var, _ = _beta_stats(p)
    return -p.entropy() - _e_log_normal(q, mean, var)


@register_kl(Beta, Uniform)
def _kl_beta_uniform(p, q):
    result = -p.entropy() + (q.high - q.low).log()
    return _inf_where((q.low > p.support.lower_bound) | (q.high < p.support.upper_bound),
                      result)


# p Exponential ------------------------------------------------------------------------------

@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    e_log_x = -EULER_GAMMA - p.rate.log()
    return -p.entropy() - _e_log_gamma(q, p.mean, e_log_x)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    mgf = p.rate / (p.rate + q.scale.reciprocal())
    return -p.entropy() - _e_log_gumbel(q, p.mean, mgf)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    return -p.entropy() - _e_log_normal(q, p.mean, p.variance)


# p Gamma --------------------------------------------------------------------------------------

@register_kl(Gamma, Exponential)
def _kl_gamma_exponential(p, q):
    return -p.entropy() - _e_log_exponential(q, p.mean)


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    mgf = (1 + (p.rate * q.scale).reciprocal()).pow(-p.concentration)
    return -p.entropy() - _e_log_gumbel(q, p.mean, mgf)


@register_kl(Gamma, Normal)
def _kl_gamma_normal(p, q):
    return -p.entropy() - _e_log_normal(q, p.mean, p.variance)


# p Gumbel, Laplace, Normal, HalfNormal ---------------------------------------------------------

@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    mgf = (lgamma(1 + p.scale / q.scale) - p.loc / q.scale).exp()
    return -p.entropy() - _e_log_gumbel(q, p.mean, mgf)


@register_kl(Gumbel, Normal)
def _kl_gumbel_normal(p, q):
    return -p.entropy() - _e_log_normal(q, p.mean, p.variance)


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    return -p.entropy() - _e_log_normal(q, p.loc, p.variance)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    t = -q.scale.reciprocal()
    mgf = (p.loc * t + 0.5 * (p.scale * t).pow(2)).exp()
    return -p.entropy() - _e_log_gumbel(q, p.loc, mgf)


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    # E|x - m| for x ~ N(mu, sigma): d erf(d / (sigma sqrt 2)) + sigma sqrt(2/pi) e^{-d^2/2sigma^2}
    d = p.loc - q.loc
    e_abs = (d * (d / (p.scale * math.sqrt(2))).erf()
             + p.scale * math.sqrt(2 / math.pi) * (-(d / p.scale).pow(2) / 2).exp())
    return -p.entropy() + (2 * q.scale).log() + e_abs / q.scale


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    return 0.5 * (var_ratio - 1 - var_ratio.log())


# p Pareto -------------------------------------------------------------------------------------

def _pareto_mean(p):
    """Pareto's mean where it is finite (alpha > 1), and that mask. The masked entries are
    computed at alpha = 2 so that their (unused) gradients are 0, not NaN."""
    finite = p.alpha > 1
    alpha = gpugrad.where(finite, p.alpha, 2.0)
    return alpha * p.scale / (alpha - 1), finite


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    mean, finite = _pareto_mean(p)
    return _inf_where(~finite, -p.entropy() - _e_log_exponential(q, mean))


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    mean, finite = _pareto_mean(p)
    e_log_x = p.scale.log() + p.alpha.reciprocal()
    return _inf_where(~finite, -p.entropy() - _e_log_gamma(q, mean, e_log_x))


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    finite = p.alpha > 2
    alpha = gpugrad.where(finite, p.alpha, 3.0)  # keeps the masked gradient 0, not NaN
    mean = alpha * p.scale / (alpha - 1)
    var = p.scale.pow(2) * alpha / ((alpha - 1).pow(2) * (alpha - 2))
    result = -p.entropy() - _e_log_normal(q, mean, var)
    return _inf_where(~finite, result)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    e_log_x = p.scale.log() + p.alpha.reciprocal()
    e_log_q = q.alpha.log() + q.alpha * q.scale.log() - (q.alpha + 1) * e_log_x
    return _inf_where(p.scale < q.scale, -p.entropy() - e_log_q)


# p Uniform --------------------------------------------------------------------------------------

def _uniform_e_log_x(p):
    """E log x for x ~ U(a, b), 0 <= a < b: (b log b - a log a) / (b - a) - 1."""
    return (_xlogy(p.high, p.high) - _xlogy(p.low, p.low)) / (p.high - p.low) - 1


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    a, b = q.concentration1, q.concentration0
    one_minus = Uniform(1 - p.high, 1 - p.low, validate_args=False)
    e_log_x = _uniform_e_log_x(p)
    e_log_1mx = _uniform_e_log_x(one_minus)
    lbeta = lgamma(a) + lgamma(b) - lgamma(a + b)
    result = -p.entropy() - ((a - 1) * e_log_x + (b - 1) * e_log_1mx - lbeta)
    return _inf_where((p.low < 0) | (p.high > 1), result)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    return _inf_where(p.low < 0, -p.entropy() - _e_log_exponential(q, p.mean))


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    result = -p.entropy() - _e_log_gamma(q, p.mean, _uniform_e_log_x(p))
    return _inf_where(p.low < 0, result)


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    t = -q.scale.reciprocal()
    mgf = ((t * p.high).exp() - (t * p.low).exp()) / (t * (p.high - p.low))
    return -p.entropy() - _e_log_gumbel(q, p.mean, mgf)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    e_log_q = (q.alpha.log() + q.alpha * q.scale.log()
               - (q.alpha + 1) * _uniform_e_log_x(p))
    return _inf_where(p.low < q.scale, -p.entropy() - e_log_q)


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    return -p.entropy() - _e_log_normal(q, p.mean, p.variance)


# Pairs whose first support is never inside the second's ----------------------------------

_NEVER_INSIDE = [
    (Beta, Pareto), (Exponential, Beta), (Exponential, Pareto), (Exponential, Uniform),
    (Gamma, Beta), (Gamma, Pareto), (Gamma, Uniform),
    (Gumbel, Beta), (Gumbel, Exponential), (Gumbel, Gamma), (Gumbel, Pareto), (Gumbel, Uniform),
    (Laplace, Beta), (Laplace, Exponential), (Laplace, Gamma), (Laplace, Pareto),
    (Laplace, Uniform),
    (Normal, Beta), (Normal, Exponential), (Normal, Gamma), (Normal, Pareto), (Normal, Uniform),
    (Pareto, Beta), (Pareto, Uniform),
]


def _first_param(p):
    for name in p.arg_constraints:
        value = getattr(p, name, None)
        if isinstance(value, gpugrad.Tensor):
            return value
    raise NotImplementedError


def _kl_infinite(p, q):
    shape = tuple(p.batch_shape)
    param = _first_param(p)
    return gpugrad.full(shape, math.inf, dtype=param.dtype, device=param.device)


for _p, _q in _NEVER_INSIDE:
    register_kl(_p, _q)(_kl_infinite)
