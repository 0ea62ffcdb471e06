"""The Bessel functions of the second kind (``bessel_y0``, ``bessel_y1``), the modified ones
(``modified_bessel_k0``, ``modified_bessel_k1`` and their ``exp(x)``-scaled forms) and the Airy
function ``airy_ai`` of ``torch.special``, which PyTorch does not differentiate.

Each formula takes the math namespace ``m`` first and a float64 array (``gpugrad.special``
computes every floating dtype in float64 and rounds once), uses elementwise arithmetic only,
and runs every branch of a piecewise formula on inputs clamped into its range:

* small arguments: the power series of A&S 9.1.11 / 9.6.11 (a logarithm times J_nu or I_nu, plus
  a series whose coefficients are digamma values);
* Y in the middle (2 <= x <= 25): J_n by Miller's backward recurrence and Neumann's series
  Y0 = (2/pi)(log(x/2) + gamma) J0 - (4/pi) sum_k (-1)^k J_2k / k, Y1 = -Y0' term by term;
* K (and Ai for x > 0, Ai(x) = sqrt(x/3) K_1/3(zeta) / pi) in the middle: the trapezoidal rule on
  exp(x) K_nu(x) = int_0^inf exp(-x (cosh t - 1)) cosh(nu t) dt, whose error falls like
  exp(-pi^2 / h) for an integrand analytic in a strip;
* large arguments: the asymptotic expansions of Hankel (Y) and of K_nu, summed to their
  smallest terms (~exp(-2x));
* Ai for x < 0: its Taylor series about the nearest integer (Ai'' = x Ai), from Ai and Ai' at the
  integers computed once in 60-digit decimal arithmetic from the Maclaurin series, and the
  oscillating asymptotic expansion (DLMF 9.7.9) beyond -10.5.
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal, localcontext

from .formulas_special import _hankel_parts

_PI = math.pi
_EULER = 0.57721566490153286061
_SERIES_TERMS = 22
# psi(k + 1) = -gamma + H_k, for the series' coefficients
_PSI = [-_EULER + sum(1.0 / j for j in range(1, k + 1)) for k in range(_SERIES_TERMS + 2)]


def _log_series(m, x, sign: float, nu: int):
    """(x/2)^nu sum_k (sign t)^k / (k! (k+nu)!) (J_nu for sign -1, I_nu for +1) and the same sum
    weighted by psi(k + 1) + psi(k + nu + 1); t = x^2 / 4."""
    t = sign * x * x * 0.25
    half = x * 0.5 if nu else 1.0
    term = 1.0 / math.factorial(nu)
    plain, weighted = term, term * (_PSI[0] + _PSI[nu])
    power = 1.0
    for k in range(1, _SERIES_TERMS):
        power = power * t
        c = 1.0 / (math.factorial(k) * math.factorial(k + nu))
        plain = plain + c * power
        weighted = weighted + c * (_PSI[k] + _PSI[k + nu]) * power
    return half * plain, half * weighted


# ----------------------------------------------------------------------- Y0, Y1
_Y_SERIES_MAX = 2.0
_Y_HANKEL_MIN = 25.0  # Hankel's expansion past 25 (its error ~e^-50)
_MILLER_START = 70


def _y_series(m, nu: int, x):
    j, s = _log_series(m, x, -1.0, nu)
    y = (2 / _PI) * m.log(x * 0.5) * j - s / _PI
    return y - 2 / (_PI * x) if nu else y


def _y_neumann(m, x):
    """Y0 and Y1 for 2 <= x <= 25: J_n for n < 70 by J_{n-1} = (2n / x) J_n - J_{n+1} from
    J_70 = 0, J_69 = tiny, normalized by J0 + 2 (J2 + J4 + ...) = 1; Neumann's series on them."""
    upper, cur = x * 0, x * 0 + 1e-30
    norm = s0 = s1 = 0
    j1 = None
    for n in range(_MILLER_START - 1, -1, -1):  # cur is J_n here
        if n % 2 == 0:
            k = n // 2
            norm = norm + (2 * cur if k else cur)
            if k:
                s0 = s0 + ((-1) ** k / k) * cur
        else:  # sum_k (-1)^k (J_{2k-1} - J_{2k+1}) / k, gathered by odd index
            k_up, k_down = (n + 1) // 2, (n - 1) // 2
            coef = (-1) ** k_up / k_up - ((-1) ** k_down / k_down if k_down else 0.0)
            s1 = s1 + coef * cur
            if n == 1:
                j1 = cur
        if n:
            upper, cur = cur, (2 * n / x) * cur - upper
    j0, j1, s0, s1 = cur / norm, j1 / norm, s0 / norm, s1 / norm
    log_term = (2 / _PI) * (m.log(x * 0.5) + _EULER)
    y0 = log_term * j0 - (4 / _PI) * s0
    y1 = log_term * j1 - (2 / _PI) * j0 / x + (2 / _PI) * s1
    return y0, y1


def _bessel_y(m, nu: int, x):
    near = _y_series(m, nu, m.minimum(m.maximum(x, 1e-300), _Y_SERIES_MAX))
    mid = _y_neumann(m, m.minimum(m.maximum(x, _Y_SERIES_MAX), _Y_HANKEL_MIN))[nu]
    p, q, cos_w, sin_w = _hankel_parts(m, nu, m.maximum(x, _Y_HANKEL_MIN))
    far = p * sin_w + q * cos_w
    out = m.where(x <= _Y_SERIES_MAX, near, m.where(x <= _Y_HANKEL_MIN, mid, far))
    # as PyTorch: -inf at 0, nan below 0 and at +inf
    out = m.where(x == 0, -math.inf, m.where(x < 0, math.nan, out))
    return m.where(x == math.inf, math.nan, out)


def bessel_y0(m, x):
    return _bessel_y(m, 0, x)


def bessel_y1(m, x):
    return _bessel_y(m, 1, x)


# ------------------------------------------------------------------ K0, K1 (and scaled)
_K_SERIES_MAX = 1.0
_K_ASYMPTOTIC_MIN = 20.0
_TRAPEZOID_STEP = 0.1
_TRAPEZOID_NODES = 51  # t up to 5: exp(-z (cosh 5 - 1)) < e^-73 for z >= 1
_ASYMPTOTIC_TERMS = 32


def _scaled_k_trapezoid(m, nu: float, z):
    """exp(z) K_nu(z) for z >= 1 by the trapezoidal rule in t (step 0.1)."""
    total = 0.5 * m.exp(z * 0)  # the node t = 0 (weight 1/2, integrand 1)
    for j in range(1, _TRAPEZOID_NODES):
        t = j * _TRAPEZOID_STEP
        total = total + math.cosh(nu * t) * m.exp(-2 * math.sinh(0.5 * t) ** 2 * z)
    return _TRAPEZOID_STEP * total


def _scaled_k_asymptotic(m, nu: float, z):
    """exp(z) K_nu(z) ~ sqrt(pi / (2z)) sum_k a_k / z^k,
    a_k = a_{k-1} (4 nu^2 - (2k-1)^2) / (8k)."""
    mu = 4 * nu * nu
    coefs = [1.0]
    for k in range(1, _ASYMPTOTIC_TERMS):
        coefs.append(coefs[-1] * (mu - (2 * k - 1) ** 2) / (8 * k))
    w = 1 / z
    total = coefs[-1]
    for c in reversed(coefs[:-1]):
        total = total * w + c
    return total * m.sqrt(_PI / (2 * z))


def _scaled_k_large(m, nu: float, z):
    """exp(z) K_nu(z) for z >= 1: the trapezoidal rule up to 20, the asymptotic series past it."""
    mid = _scaled_k_trapezoid(m, nu, m.minimum(z, _K_ASYMPTOTIC_MIN))
    far = _scaled_k_asymptotic(m, nu, m.maximum(z, _K_ASYMPTOTIC_MIN))
    return m.where(z <= _K_ASYMPTOTIC_MIN, mid, far)


def _k_series(m, nu: int, x):
    i, s = _log_series(m, x, 1.0, nu)
    log_half = m.log(x * 0.5)
    return 1 / x + log_half * i - 0.5 * s if nu else 0.5 * s - log_half * i


def _bessel_k(m, nu: int, x, scaled: bool):
    xs = m.minimum(m.maximum(x, 1e-300), _K_SERIES_MAX)
    near = _k_series(m, nu, xs)
    far = _scaled_k_large(m, nu, m.maximum(x, _K_SERIES_MAX))
    if scaled:
        near = near * m.exp(xs)
    else:
        far = far * m.exp(-m.maximum(x, _K_SERIES_MAX))
    out = m.where(x <= _K_SERIES_MAX, near, far)
    # as PyTorch: inf at 0, nan below 0, 0 at +inf
    out = m.where(x == 0, math.inf, m.where(x < 0, math.nan, out))
    return m.where(x == math.inf, 0.0, out)


def modified_bessel_k0(m, x):
    return _bessel_k(m, 0, x, False)


def modified_bessel_k1(m, x):
    return _bessel_k(m, 1, x, False)


def scaled_modified_bessel_k0(m, x):
    return _bessel_k(m, 0, x, True)


def scaled_modified_bessel_k1(m, x):
    return _bessel_k(m, 1, x, True)


# ------------------------------------------------------------------------------ airy_ai
_AI0 = "0.355028053887817239260063186004183176398"  # Ai(0)
_MINUS_DAI0 = "0.258819403792806798405183560189203963479"  # -Ai'(0)
_AIRY_SERIES = (-2.5, 1.31)  # the Maclaurin series between; zeta(1.31) = 1
_AIRY_CENTERS = range(-10, -2)  # Taylor series about these on [-10.5, -2.5]
_AIRY_TAYLOR_TERMS = 32
_AIRY_ZERO_ABOVE = 103.892  # PyTorch's: 0 above (Ai underflows there)


@functools.cache
def _airy_at_centers():
    """(Ai(c), Ai'(c)) at the integers c of ``_AIRY_CENTERS``, from the Maclaurin series
    Ai = Ai(0) f + Ai'(0) g in 60-digit arithmetic (its terms grow to ~e^21 at -10)."""
    values, slopes = [], []
    with localcontext() as ctx:
        ctx.prec = 60
        c1, c2 = Decimal(_AI0), Decimal(_MINUS_DAI0)
        for c in _AIRY_CENTERS:
            x = Decimal(c)
            cube = x ** 3
            f_term, g_term = Decimal(1), x
            f, g, df, dg = Decimal(1), x, Decimal(0), Decimal(1)
            for k in range(1, 80):
                f_term = f_term * cube / ((3 * k - 1) * (3 * k))
                g_term = g_term * cube / ((3 * k) * (3 * k + 1))
                f, g = f + f_term, g + g_term
                df, dg = df + 3 * k * f_term / x, dg + (3 * k + 1) * g_term / x
            values.append(float(c1 * f - c2 * g))
            slopes.append(float(c1 * df - c2 * dg))
    return values, slopes


def _airy_maclaurin(m, x):
    cube = x * x * x
    f_term, g_term = 1.0, x
    f, g = 1.0, x
    for k in range(1, 26):
        f_term = f_term * cube / ((3 * k - 1) * (3 * k))
        g_term = g_term * cube / ((3 * k) * (3 * k + 1))
        f, g = f + f_term, g + g_term
    return float(_AI0) * f - float(_MINUS_DAI0) * g


def _airy_taylor(m, x):
    """Ai(x) for -10.5 <= x <= -2.5 from the Taylor series about the nearest integer c:
    a_{n+2} = (c a_n + a_{n-1}) / ((n + 2)(n + 1)), a_0 = Ai(c), a_1 = Ai'(c)."""
    values, slopes = _airy_at_centers()
    c = m.minimum(m.maximum(m.floor(x + 0.5), _AIRY_CENTERS[0]), _AIRY_CENTERS[-1])
    c = m.where(c == c, c, _AIRY_CENTERS[-1])  # (a nan x: any index, its result is dropped)
    index = (c - _AIRY_CENTERS[0]).astype("int64")
    a0 = m.asarray(values)[index]
    a1 = m.asarray(slopes)[index]
    d = x - c
    a2 = c * a0 * 0.5
    total = a0 + a1 * d + a2 * d * d
    power = d * d
    older, prev, cur = a0, a1, a2  # a_{n-2}, a_{n-1}, a_n with n = 2
    for n in range(2, _AIRY_TAYLOR_TERMS):
        nxt = (c * prev + older) / ((n + 1) * n)  # a_{n+1} = (c a_{n-1} + a_{n-2}) / ((n+1) n)
        power = power * d
        total = total + nxt * power
        older, prev, cur = prev, cur, nxt
    return total


def _airy_negative_far(m, x):
    """Ai(-z) ~ (cos(zeta - pi/4) sum_k (-1)^k u_2k / zeta^2k
    + sin(zeta - pi/4) sum_k (-1)^k u_2k+1 / zeta^2k+1) / (sqrt(pi) z^1/4), zeta = 2/3 z^3/2."""
    z = -x
    zeta = (2.0 / 3.0) * z * m.sqrt(z)
    u = [1.0]
    for k in range(1, 2 * 12):
        u.append(u[-1] * (6 * k - 5) * (6 * k - 3) * (6 * k - 1) / ((2 * k - 1) * 216 * k))
    w = 1 / (zeta * zeta)
    even = odd = 0.0
    for k in reversed(range(12)):
        even = even * w + (-1) ** k * u[2 * k]
        odd = odd * w + (-1) ** k * u[2 * k + 1]
    odd = odd / zeta
    c, s = m.cos(zeta), m.sin(zeta)
    cos_w, sin_w = (c + s) * math.sqrt(0.5), (s - c) * math.sqrt(0.5)
    return (cos_w * even + sin_w * odd) / (math.sqrt(_PI) * m.sqrt(m.sqrt(z)))


def airy_ai(m, x):
    lo, hi = _AIRY_SERIES
    near = _airy_maclaurin(m, m.minimum(m.maximum(x, lo), hi))
    taylor = _airy_taylor(m, m.minimum(m.maximum(x, _AIRY_CENTERS[0] - 0.5), lo))
    left = _airy_negative_far(m, m.minimum(x, _AIRY_CENTERS[0] - 0.5))
    xr = m.minimum(m.maximum(x, hi), _AIRY_ZERO_ABOVE)
    zeta = (2.0 / 3.0) * xr * m.sqrt(xr)
    right = m.sqrt(xr / 3) / _PI * m.exp(-zeta) * _scaled_k_large(m, 1.0 / 3.0, zeta)
    out = m.where(x < _AIRY_CENTERS[0] - 0.5, left, m.where(x < lo, taylor, near))
    out = m.where(x > hi, m.where(x > _AIRY_ZERO_ABOVE, 0.0, right), out)
    return m.where(m.abs(x) == math.inf, math.nan, out)  # nan at +-inf, as PyTorch
