"""The regularized incomplete gamma functions P(a, x) (``igamma``, ``special.gammainc``) and
Q(a, x) = 1 - P (``igammac``, ``special.gammaincc``), on float64 arrays of the array module
``xp`` (NumPy or CuPy).

The edge values are PyTorch's (nan for a < 0 or x < 0, P(0, x > 0) = 1, P(a, 0) = 0,
P(inf, x) = 0, P(a, inf) = 1, nan for P(0, 0) and P(inf, inf)). Elsewhere, as in Cephes and SciPy,
each element takes one of four expansions, each computed on the elements that need it only:

* a > 20 and |x - a| < 0.3 a: Temme's uniform asymptotic expansion (DLMF 8.12), its
  coefficients derived once from the series of eta(lambda) and Stirling's;
* x <= 1.1 and a small: Q = 1 - x^a / Gamma(a + 1) - x^a / Gamma(a) sum_n (-x)^n / (n! (a + n))
  (the first two terms by expm1 and a series of log Gamma(1 + a), exact for tiny a);
* x < a + 1 otherwise: P = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n));
* x >= a + 1: Q = x^a e^-x / Gamma(a) times Legendre's continued fraction (modified Lentz).

The factor x^a e^-x / Gamma(a) is exp(a log1pmx((x - a) / a)) sqrt(a / 2 pi) / Gamma*(a) for
a >= 10 (Stirling's series for Gamma*), so that it keeps its accuracy for large a and x.
Outside Temme's region the series and the fraction converge within ~100 steps.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from .formulas_math import _erfc, _lgamma
from .formulas_special import hurwitz_zeta

_EPS = 2.0 ** -53
_MAX_STEPS = 2000
_CHECK_EVERY = 16
_STIRLING_FROM = 10.0
_TINY = 1e-300
_EULER = 0.57721566490153286061
# (-1)^k zeta(k) / k for k >= 2: log Gamma(1 + a) = -gamma a + sum_k c_k a^k for |a| < 1
_LGAMMA1P = [(-1) ** k * float(z) / k for k, z in enumerate(
    hurwitz_zeta(np, np.arange(2.0, 60.0), np.float64(1.0)), start=2)]
# log Gamma*(a) ~ sum_k B_2k / (2k (2k - 1) a^(2k - 1))
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)


def _lgamma1p(xp, a):
    """log Gamma(1 + a); its power series for |a| <= 0.5."""
    small = xp.minimum(xp.abs(a), 0.5) * xp.sign(a)
    total = 0.0
    for c in reversed(_LGAMMA1P):
        total = total * small + c
    series = total * small * small - _EULER * small
    return xp.where(xp.abs(a) <= 0.5, series, _lgamma(xp, 1 + a))


def _log1pmx(xp, x, a):
    """log(1 + mu) - mu for mu = (x - a) / a, with no cancellation for small mu:
    -mu^2 / (2 + mu) + 2 sum t^(2k+1) / (2k + 1), t = mu / (2 + mu), for |mu| < 0.5; else
    log(x / a) - mu (x / a is exact to rounding, 1 + mu not near -1)."""
    mu = (x - a) / a
    ms = xp.minimum(xp.maximum(mu, -0.5), 0.5)
    t = ms / (2 + ms)
    t2 = t * t
    total = 0.0
    for k in reversed(range(1, 20)):
        total = total * t2 + 2.0 / (2 * k + 1)
    near = -ms * ms / (2 + ms) + total * t2 * t
    far = xp.log(x / a) - mu
    return xp.where(xp.abs(mu) < 0.5, near, far)


def _prefactor(xp, a, x):
    """x^a e^-x / Gamma(a)."""
    direct = xp.exp(a * xp.log(x) - x - _lgamma(xp, a))
    big = xp.maximum(a, _STIRLING_FROM)
    w = 1 / (big * big)
    log_gstar = 0.0
    for c in reversed(_STIRLING):
        log_gstar = log_gstar * w + c
    log_gstar = log_gstar / big
    stirling = xp.exp(big * _log1pmx(xp, x, big) - log_gstar) * xp.sqrt(
        big / (2 * math.pi))
    return xp.where(a >= _STIRLING_FROM, stirling, direct)


def _iterate(xp, consts, state, step, done, pick):
    """Run ``state = step(n, consts, state)`` for n = 1, 2, ... on per-element arrays; every few
    steps (a device sync on CuPy) the elements where ``done(state)`` holds leave with
    ``pick(state)``, so that no element runs on long after it has converged."""
    out = xp.empty(consts[0].shape)
    index = xp.arange(out.size)
    for n in range(1, _MAX_STEPS + 1):
        state = step(n, consts, state)
        if n % _CHECK_EVERY:
            continue
        ok = done(state)
        if bool(xp.any(ok)):
            out[index[ok]] = pick(state)[ok]
            keep = ~ok
            index = index[keep]
            consts = tuple(c[keep] for c in consts)
            state = tuple(v[keep] for v in state)
            if not index.size:
                return out
    out[index] = pick(state)
    return out


def _p_series(xp, a, x):
    """P(a, x) = x^a e^-x / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n))."""
    def step(n, c, s):
        term, total = s
        term = term * c[1] / (c[0] + n)
        return term, total + term

    one = xp.ones_like(x)
    total = _iterate(xp, (a, x), (one, one), step, lambda s: s[0] <= _EPS * s[1],
                     lambda s: s[1])
    return _prefactor(xp, a, x) / a * total


def _q_small_x(xp, a, x):
    """Q(a, x) for x <= 1.1 and small a (see the module's docstring)."""
    def step(n, c, s):
        fac, total, _ = s
        fac = fac * -c[1] / n
        term = fac / (c[0] + n)
        return fac, total + term, term

    zero = xp.zeros_like(x)
    total = _iterate(xp, (a, x), (zero + 1, zero, zero + 1), step,
                     lambda s: xp.abs(s[2]) <= _EPS * xp.abs(s[1]), lambda s: s[1])
    log_x = xp.log(x)
    head = -xp.expm1(a * log_x - _lgamma1p(xp, a))
    return head - xp.exp(a * log_x - _lgamma(xp, a)) * total


def _q_fraction(xp, a, x):
    """Q(a, x) = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...))."""
    def step(n, c, s):
        b, cc, d, h, _ = s
        an = -n * (n - c[0])
        b = b + 2
        d = an * d + b
        d = xp.where(xp.abs(d) < _TINY, _TINY, d)
        cc = b + an / cc
        cc = xp.where(xp.abs(cc) < _TINY, _TINY, cc)
        d = 1 / d
        delta = d * cc
        return b, cc, d, h * delta, delta

    b0 = x + 1 - a
    d = 1 / xp.where(xp.abs(b0) < _TINY, _TINY, b0)
    state = (b0, xp.full_like(x, 1 / _TINY), d, d, xp.zeros_like(x))
    h = _iterate(xp, (a, x), state, step, lambda s: xp.abs(s[4] - 1) <= _EPS, lambda s: s[3])
    return _prefactor(xp, a, x) * h


# ------------------------------------------- Temme's uniform expansion (large a, x near a)
_TEMME_FROM = 20.0  # a above this and |x - a| < 0.3 a (as SciPy)
_TEMME_RATIO = 0.3
_TEMME_ORDERS = 20
_TEMME_TERMS = 30


def _series_power(s, alpha: float, count: int):
    """The first ``count`` coefficients of s^alpha for a power series s with s[0] = 1
    (f = s^alpha satisfies s f' = alpha s' f)."""
    f = [1.0] + [0.0] * (count - 1)
    for n in range(1, count):
        f[n] = sum(((alpha + 1) * k - n) * s[k] * f[n - k]
                   for k in range(1, min(n, len(s) - 1) + 1)) / n
    return f


def _even_bernoulli(count: int):
    """B_0, B_2, ..., B_{2 count - 2} (Akiyama and Tanigawa's algorithm, exact)."""
    a, out = [], []
    for m in range(2 * count - 1):
        a.append(Fraction(1, m + 1))
        for j in range(m, 0, -1):
            a[j - 1] = j * (a[j - 1] - a[j])
        if m % 2 == 0:
            out.append(a[0])
    return out


@functools.cache
def _temme_coefficients():
    """d[k][n] with c_k(eta) = sum_n d[k][n] eta^n in DLMF 8.12.8-10:
    c_0 = 1/(lambda - 1) - 1/eta, c_k = c_{k-1}'(eta) / eta + (-1)^k g_k / (lambda - 1), where
    eta^2 / 2 = lambda - 1 - log(lambda) and Gamma*(a) ~ sum_k g_k a^-k."""
    need = _TEMME_TERMS + 2 * _TEMME_ORDERS + 2
    # eta = mu sqrt(s(mu)), s = 2 (mu - log(1 + mu)) / mu^2; mu = lambda - 1 = sum_n b_n eta^n
    # by Lagrange's inversion: b_n = [t^(n-1)] s(t)^(-n/2) / n
    s = [2.0 * (-1) ** i / (i + 2) for i in range(need + 1)]
    mu_over_eta = [_series_power(s, -n / 2, n)[n - 1] / n for n in range(1, need + 1)]
    ell = _series_power(mu_over_eta, -1.0, need)[1:]  # 1/mu - 1/eta = sum_n ell_n eta^n
    # log Gamma*(a) ~ sum_j B_2j / (2j (2j - 1)) a^(1 - 2j); g = its exponential's coefficients
    bern = _even_bernoulli(_TEMME_ORDERS // 2 + 2)
    h = [0.0] * (_TEMME_ORDERS + 1)
    for j in range(1, _TEMME_ORDERS // 2 + 1):
        h[2 * j - 1] = float(bern[j] / (2 * j * (2 * j - 1)))
    g = [1.0]
    for n in range(1, _TEMME_ORDERS + 1):
        g.append(sum(k * h[k] * g[n - k] for k in range(1, n + 1)) / n)
    rows = [ell]
    for k in range(1, _TEMME_ORDERS):
        prev, sign_g = rows[-1], (-1) ** k * g[k]
        # (the 1/eta terms of c_{k-1}'/eta and of sign_g / mu cancel)
        rows.append([(m + 2) * prev[m + 2] + sign_g * ell[m] for m in range(len(prev) - 2)])
    return [row[:_TEMME_TERMS] for row in rows]


def _temme(xp, a, x, upper: bool):
    """Q(a, x) = erfc(eta sqrt(a/2)) / 2 + R, P = erfc(-eta sqrt(a/2)) / 2 - R, with
    R ~ exp(-a eta^2 / 2) / sqrt(2 pi a) sum_k c_k(eta) a^-k (DLMF 8.12.3-4)."""
    mu = (x - a) / a
    eta = xp.sign(mu) * xp.sqrt(-2 * _log1pmx(xp, x, a))
    total = 0.0
    for row in reversed(_temme_coefficients()):
        c = 0.0
        for coef in reversed(row):
            c = c * eta + coef
        total = total / a + c
    r = xp.exp(-0.5 * a * eta * eta) / xp.sqrt(2 * math.pi * a) * total
    z = eta * xp.sqrt(a / 2)
    return 0.5 * _erfc(xp, z) + r if upper else 0.5 * _erfc(xp, -z) - r


def regularized_gamma(xp, a, x, upper: bool):
    """P(a, x) (``upper`` False) or Q(a, x) of broadcast float64 arrays."""
    a, x = xp.broadcast_arrays(a, x)
    out = xp.full(a.shape, math.nan)
    regular = (a > 0) & (x > 0) & (a < math.inf) & (x < math.inf)
    temme = regular & (a > _TEMME_FROM) & (xp.abs(x - a) < _TEMME_RATIO * a)
    if bool(xp.any(temme)):
        out[temme] = _temme(xp, a[temme], x[temme], upper)
    # the others: x <= 1.1 with a small: Q's series; x < a + 1: P's series; else Q's fraction
    regular = regular & ~temme
    q_series = regular & (x <= 1.1) & xp.where(
        x <= 0.5, a <= -0.4 / xp.log(xp.minimum(x, 0.5)), a <= 1.1 * x)
    p_series = regular & ~q_series & (x < a + 1)
    q_frac = regular & ~q_series & ~p_series
    for mask, fn, gives_q in ((q_series, _q_small_x, True), (p_series, _p_series, False),
                              (q_frac, _q_fraction, True)):
        if bool(xp.any(mask)):
            value = fn(xp, a[mask], x[mask])
            out[mask] = value if gives_q == upper else 1 - value
    # the edges, as PyTorch: (one, zero) is (1, 0) for P and (0, 1) for Q
    one, zero = (0.0, 1.0) if upper else (1.0, 0.0)
    nan_in = (a < 0) | (x < 0)
    out = xp.where((a == 0) & (x > 0), one, out)
    out = xp.where((x == 0) & (a > 0), zero, out)
    out = xp.where((a == math.inf) & (x >= 0) & (x < math.inf), zero, out)
    out = xp.where((x == math.inf) & (a > 0) & (a < math.inf), one, out)
    return xp.where(nan_in, math.nan, out)
