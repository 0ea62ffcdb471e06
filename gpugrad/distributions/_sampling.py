"""Private draws for the gamma, Poisson and binomial families, from the device's default
generator (``gpugrad.manual_seed``) through its raw NumPy or CuPy ``Generator`` methods, and
the gamma draw's implicit reparameterization gradient.

For ``x ~ Gamma(a, 1)`` with CDF ``P(a, x)`` (the regularized lower incomplete gamma),
``dx/da = -(dP/da) / p(x; a)``, ``dP/da`` by a central difference in ``a`` of ``P`` (below
``a + 1``) or ``Q`` (above), as ``special.gammainc`` computes them in float64 (relative step
1e-5: about 1e-8 relative error, far below the spread of draws).
"""

from __future__ import annotations

import numpy as np

from .._generator import rng_for
from ..autograd.function import Function
from ..backend.formulas_igamma import regularized_gamma
from ._special import lgamma_array


def standard_gamma_grad_array(xp, a, x):
    """dx/da for x ~ Gamma(a, 1), held to the CDF: -(dP/da) / p(x; a)."""
    a = a.astype(np.float64)
    x = x.astype(np.float64)
    h = 1e-5 * a
    low = x < a + 1  # difference the smaller of P and Q, which is computed without cancellation
    dp = xp.empty_like(x)
    if bool(low.any()):
        al, xl, hl = a[low], x[low], h[low]
        dp[low] = (regularized_gamma(xp, al + hl, xl, upper=False)
                   - regularized_gamma(xp, al - hl, xl, upper=False)) / (2 * hl)
    if bool((~low).any()):
        ah, xh, hh = a[~low], x[~low], h[~low]
        dp[~low] = -(regularized_gamma(xp, ah + hh, xh, upper=True)
                     - regularized_gamma(xp, ah - hh, xh, upper=True)) / (2 * hh)
    log_density = (a - 1) * xp.log(x) - x - lgamma_array(xp, a)
    return -dp / xp.exp(log_density)


def _raw_rng(backend):
    rng_for(None, backend, "sample")  # (refuses a draw under vmap's randomness="error")
    return backend._rng


class _StandardGamma(Function):
    node_name = "StandardGammaBackward0"

    @staticmethod
    def forward(ctx, alpha):
        xp = alpha._backend.xp
        a = alpha._data.astype(np.float64)
        draws = _raw_rng(alpha._backend).standard_gamma(a)
        draws = xp.maximum(xp.asarray(draws), np.finfo(alpha._data.dtype).tiny)
        x = alpha._new(draws.astype(alpha._data.dtype))
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        alpha, x = ctx.saved_tensors
        xp = alpha._backend.xp
        dx = standard_gamma_grad_array(xp, alpha._data, x._data).astype(x._data.dtype)
        return grad * x._new(dx)


def standard_gamma(alpha):
    """Gamma(alpha, 1) draws of alpha's shape, differentiable in alpha (implicit
    reparameterization)."""
    return _StandardGamma.apply(alpha)


def poisson(rate):
    """Poisson(rate) draws of rate's shape and dtype (no gradient)."""
    xp = rate._backend.xp
    draws = _raw_rng(rate._backend).poisson(rate._data.astype(np.float64))
    return rate._new(xp.asarray(draws).astype(rate._data.dtype))


def binomial(count, probs):
    """Binomial(count, probs) draws of their (equal) shape, in probs' dtype (no gradient)."""
    xp = probs._backend.xp
    n = xp.asarray(count._data).astype(np.int64)
    draws = _raw_rng(probs._backend).binomial(n, probs._data.astype(np.float64))
    return probs._new(xp.asarray(draws).astype(probs._data.dtype))
