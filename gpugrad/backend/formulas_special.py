"""The special functions of ``torch.special`` that ``formulas_math`` lacks: the scaled and
order-1 modified Bessel functions (``i1``, ``i0e``, ``i1e``), ``erfcx``, the Bessel functions of
the first kind (``bessel_j0``, ``bessel_j1``), ``spherical_bessel_j0`` and the Hurwitz ``zeta``.

As in ``formulas_math``, each formula takes the math namespace ``m`` first and uses elementwise
arithmetic only (NumPy, CuPy and Tensors alike), every branch of a piecewise formula running on
inputs clamped into its range. ``formulas.UNARY`` merges ``UNARY_SPECIAL`` (the differentiable
ones, whose Triton kernels are ``kernels/special_more.py``); the others have no gradient in
PyTorch and are computed by ``gpugrad.special`` with the backend's array module.
"""

from __future__ import annotations

import math

from .formulas import (
    _ERF_BIG,
    _ERF_C,
    _ERF_D,
    _ERF_P,
    _ERF_Q,
    _ERF_SMALL,
    _INV_SQRT_PI,
    UnaryFormula,
)
from .formulas_math import _BERNOULLI_OVER_FACT, _erfc, _i0_forward, _i1

_PI = math.pi
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_INV_SQRT_2 = 1 / math.sqrt(2.0)

# ------------------------------------------------------------ scaled modified Bessel i0e, i1e
_SERIES_MAX = 20.0  # as formulas_math: the power series up to |x| = 20, asymptotic past it
_ASYMPTOTIC_TERMS = 24  # the asymptotic series' smallest term near |x| = 20 is ~e^-40


def _scaled_asymptotic(m, nu: int, ax):
    """exp(-x) I_nu(x) for x >= 20: (2 pi x)^-1/2 sum_k (-1)^k a_k(nu) / x^k, with
    a_k = prod_{j <= k} (4 nu^2 - (2j - 1)^2) / (k! 8^k), summed by Horner in 1/x."""
    mu = 4 * nu * nu
    coefs = [1.0]
    for k in range(1, _ASYMPTOTIC_TERMS):
        coefs.append(-coefs[-1] * (mu - (2 * k - 1) ** 2) / (8 * k))
    w = 1 / ax
    total = coefs[-1]
    for c in reversed(coefs[:-1]):
        total = total * w + c
    return total / m.sqrt(2 * _PI * ax)


def _i0e(m, x):
    ax = m.abs(x)
    small = m.minimum(ax, _SERIES_MAX)
    near = _i0_forward(m, small) * m.exp(-small)
    far = _scaled_asymptotic(m, 0, m.maximum(ax, _SERIES_MAX))
    return m.where(ax <= _SERIES_MAX, near, far)


def _i1e(m, x):
    ax = m.abs(x)
    xs = m.minimum(m.maximum(x, -_SERIES_MAX), _SERIES_MAX)
    near = _i1(m, xs) * m.exp(-m.abs(xs))
    far = _scaled_asymptotic(m, 1, m.maximum(ax, _SERIES_MAX)) * m.sign(x)
    return m.where(ax <= _SERIES_MAX, near, far)


def _i1_full(m, x):
    # formulas_math._i1's power series up to 20, then exp(|x|) i1e(x) (more terms than its own)
    ax = m.abs(x)
    near = _i1(m, m.minimum(m.maximum(x, -_SERIES_MAX), _SERIES_MAX))
    big = m.maximum(ax, _SERIES_MAX)
    far = m.exp(big) * _scaled_asymptotic(m, 1, big) * m.sign(x)
    return m.where(ax <= _SERIES_MAX, near, far)


def _safe_x(m, x):
    return m.where(x == 0, 1.0, x)


def _i1_grad(m, g, x, y):
    # I1'(x) = I0(x) - I1(x) / x; 1/2 at 0, as PyTorch
    return g * m.where(x == 0, 0.5, _i0_forward(m, x) - _i1_full(m, x) / _safe_x(m, x))


def _i0e_grad(m, g, x, y):
    return g * (_i1e(m, x) - m.sign(x) * _i0e(m, x))


def _i1e_grad(m, g, x, y):
    # d/dx e^-|x| I1(x) = i0e(x) - i1e(x) (sign(x) + 1/x); 1/2 at 0, as PyTorch
    s = _safe_x(m, x)
    return g * m.where(x == 0, 0.5, _i0e(m, x) - _i1e(m, s) * (m.sign(x) + 1 / s))


# ---------------------------------------------------------------------------------- erfcx
def _erfcx_positive(m, y):
    """exp(y^2) erfc(y) for y >= 0: the rational pieces of ``formulas._erf_parts`` without
    their factor exp(-y^2), so nothing under- or overflows; below 0.46875, erfc(y) exp(y^2)."""
    ys = m.minimum(y, _ERF_SMALL)
    near = _erfc(m, ys) * m.exp(ys * ys)
    ym = m.minimum(m.maximum(y, _ERF_SMALL), _ERF_BIG)
    num, den = _ERF_C[8] * ym, ym
    for c, d in zip(_ERF_C[:7], _ERF_D[:7]):
        num, den = (num + c) * ym, (den + d) * ym
    mid = (num + _ERF_C[7]) / (den + _ERF_D[7])
    yb = m.maximum(y, _ERF_BIG)
    z = 1 / (yb * yb)
    num, den = _ERF_P[5] * z, z
    for p, q in zip(_ERF_P[:4], _ERF_Q[:4]):
        num, den = (num + p) * z, (den + q) * z
    far = (_INV_SQRT_PI - z * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / yb
    return m.where(y <= _ERF_SMALL, near, m.where(y <= _ERF_BIG, mid, far))


def _erfcx(m, x):
    # x < 0: erfcx(x) = 2 exp(x^2) - erfcx(-x) (inf once exp(x^2) overflows)
    pos = _erfcx_positive(m, m.abs(x))
    xn = m.minimum(x, 0)
    return m.where(x >= 0, pos, 2 * m.exp(xn * xn) - pos)


def _erfcx_grad(m, g, x, y):
    return g * (2 * x * _erfcx(m, x) - _TWO_OVER_SQRT_PI)


UNARY_SPECIAL: dict[str, UnaryFormula] = {
    "special_i1": UnaryFormula(_i1_full, _i1_grad, "x", public=False,
                               node="SpecialI1Backward0"),
    "special_i0e": UnaryFormula(_i0e, _i0e_grad, "x", public=False, node="SpecialI0EBackward0"),
    "special_i1e": UnaryFormula(_i1e, _i1e_grad, "x", public=False, node="SpecialI1EBackward0"),
    "special_erfcx": UnaryFormula(_erfcx, _erfcx_grad, "x", public=False,
                                  node="SpecialErfcxBackward0"),
}


# ------------------------------------------------------------------- Bessel j0, j1 (no grad)
_J_SERIES_MAX = 5.0  # the power series up to |x| = 5
_J_ASYMPTOTIC_MIN = 25.0  # Hankel's asymptotic expansion past 25 (its error ~e^-50)
_MILLER_START = 70  # Miller's backward recurrence in between starts at J_70 (even)
_HANKEL_TERMS = 14


def _j_series(m, nu: int, x):
    q = -x * x * 0.25
    term = 1.0 if nu == 0 else x * 0.5
    total = term
    for k in range(1, 30):
        term = term * q / (k * (k + nu))
        total = total + term
    return total


def _j_miller(m, x):
    """J0(x), J1(x) for 5 <= |x| <= 25: J_{n-1} = (2n / x) J_n - J_{n+1} from J_70 = 0,
    J_69 = tiny, normalized by J0 + 2 (J2 + J4 + ...) = 1."""
    upper = x * 0
    cur = upper + 1e-30
    norm = 0
    j1 = None
    for n in range(_MILLER_START - 1, 0, -1):
        lower = (2 * n / x) * cur - upper
        upper, cur = cur, lower  # cur = J_{n-1}
        if n - 1 == 1:
            j1 = cur
        if (n - 1) % 2 == 0 and n - 1 > 0:
            norm = norm + 2 * cur
    norm = norm + cur
    return cur / norm, j1 / norm


def _hankel_parts(m, nu: int, ax):
    """sqrt(2 / (pi x)) P, sqrt(2 / (pi x)) Q, cos w and sin w with w = x - (2 nu + 1) pi / 4,
    and P, Q the asymptotic series of Hankel: J_nu = P cos w - Q sin w, Y_nu = P sin w + Q cos w.
    cos w and sin w come from cos x and sin x (exact range reduction)."""
    mu = 4 * nu * nu
    a = [1.0]
    for k in range(1, 2 * _HANKEL_TERMS):
        a.append(a[-1] * (mu - (2 * k - 1) ** 2) / (8 * k))
    w = 1 / ax
    w2 = w * w
    p = 0
    for k in reversed(range(_HANKEL_TERMS)):
        p = p * w2 + (-1) ** k * a[2 * k]
    q = 0
    for k in reversed(range(_HANKEL_TERMS)):
        q = q * w2 + (-1) ** k * a[2 * k + 1]
    q = q * w
    c, s = m.cos(ax), m.sin(ax)
    if nu == 0:
        cos_w, sin_w = (c + s) * _INV_SQRT_2, (s - c) * _INV_SQRT_2
    else:
        cos_w, sin_w = (s - c) * _INV_SQRT_2, -(s + c) * _INV_SQRT_2
    scale = m.sqrt(2 / (_PI * ax))
    return scale * p, scale * q, cos_w, sin_w


def _hankel(m, nu: int, ax):
    p, q, cos_w, sin_w = _hankel_parts(m, nu, ax)
    return p * cos_w - q * sin_w


def _bessel_j(m, nu: int, x):
    ax = m.abs(x)
    near = _j_series(m, nu, m.minimum(m.maximum(x, -_J_SERIES_MAX), _J_SERIES_MAX))
    mid_x = m.minimum(m.maximum(ax, _J_SERIES_MAX), _J_ASYMPTOTIC_MIN)
    mid = _j_miller(m, mid_x)[nu]
    far = _hankel(m, nu, m.maximum(ax, _J_ASYMPTOTIC_MIN))
    if nu == 1:  # odd
        sign = m.where(x < 0, -1.0, 1.0)
        mid, far = mid * sign, far * sign
    out = m.where(ax <= _J_SERIES_MAX, near, m.where(ax <= _J_ASYMPTOTIC_MIN, mid, far))
    return m.where(ax == math.inf, x * math.nan, out)  # nan at +-inf, as PyTorch


def bessel_j0(m, x):
    return _bessel_j(m, 0, x)


def bessel_j1(m, x):
    return _bessel_j(m, 1, x)


def spherical_bessel_j0(m, x):
    """sin(x) / x; its Taylor series below |x| = 0.5 (1 at 0), 0 at +-inf, as PyTorch."""
    ax = m.abs(x)
    xs = m.minimum(ax, 0.5)
    q = -xs * xs
    term, total = 1.0, 1.0
    for k in range(1, 12):
        term = term * q / ((2 * k) * (2 * k + 1))
        total = total + term
    xb = m.where(ax == math.inf, 1.0, m.maximum(ax, 0.5))
    far = m.where(ax == math.inf, 0.0, m.sin(xb) / xb)
    return m.where(ax < 0.5, total, far)


# ----------------------------------------------------------------------- Hurwitz zeta (binary)
_ZETA_TERMS = 12


def hurwitz_zeta(m, s, q):
    """zeta(s, q) = sum_k (q + k)^-s for real s > 1: 12 terms summed, the rest by
    Euler-Maclaurin (as ``formulas_math._hurwitz_zeta``, for an array s). As PyTorch (Cephes):
    inf at s == 1 and at the poles (q a non-positive integer), nan for s < 1 and for q <= 0
    with a non-integer s."""
    total = 0
    for k in range(_ZETA_TERMS):
        a = q + k
        a = m.where(a == 0, 1.0, a)
        total = total + m.abs(a) ** -s * m.where(a < 0, m.cos(_PI * s), 1.0)
    a = m.maximum(q + _ZETA_TERMS, 1.0)
    total = total + a ** (1 - s) / (s - 1) + 0.5 * a ** -s
    rising = s  # s (s+1) ... (s + 2j - 2)
    power = a ** (-s - 1)
    for j, b in enumerate(_BERNOULLI_OVER_FACT):
        total = total + b * rising * power
        rising = rising * (s + 2 * j + 1) * (s + 2 * j + 2)
        power = power / (a * a)
    q_int = q == m.floor(q)
    s_int = s == m.floor(s)
    nan = s * math.nan
    out = m.where(q > 0, total, m.where(q_int, math.inf, m.where(s_int, total, nan)))
    out = m.where(q == math.inf, nan, out)  # (nan, as PyTorch's)
    return m.where(s == 1, math.inf, m.where(s < 1, nan, out))
