"""More elementwise math for ``formulas.UNARY`` / ``formulas.BINARY``: inverse trigonometric and
hyperbolic functions, logarithms and exponentials in other bases, the special functions
(``erfc``, ``erfinv``, ``lgamma``, ``digamma``, ``i0``), ``sinc``, and the binary ``atan2``,
``hypot``, ``copysign``, ``fmax``/``fmin``, ``logaddexp``/``logaddexp2``, ``xlogy``.

``formulas`` merges these tables into its own; the formulas follow its conventions (``m`` is
the array module or ``gpugrad``). The special functions have no NumPy function, so each is
written here with elementwise arithmetic only, which runs on NumPy, CuPy and Tensors alike:
``_digamma`` and ``_polygamma`` are also the gradients of ``lgamma``, ``digamma`` and
``polygamma`` under ``create_graph``. Each branch of a piecewise formula runs on inputs clamped
into its range, so an unused branch never makes inf or nan (``where`` would pass nan gradients
on to Tensors).
"""

from __future__ import annotations

import math

import numpy as np

from .formulas import BinaryFormula, UnaryFormula, _erf_parts, _sign, _zero_grad

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_PI = math.pi
_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)
_SQRT2 = math.sqrt(2.0)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


# ---------------------------------------------------------------------------- erfc, erfinv
def _erfc(m, x):
    # The pieces of formulas._erf: erfc(|x|) is computed directly past 0.46875, so erfc(5)
    # keeps its digits instead of cancelling in 1 - erf(5).
    small, erfc_abs, y = _erf_parts(m, x)
    tail = m.where(x < 0, 2 - erfc_abs, erfc_abs)
    return m.where(y <= 0.46875, 1 - small, tail)


# M. Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011): the single-precision
# polynomial in w = -log(1 - x^2) of its central range, refined below by Newton steps.
_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                   0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)


def _horner(coefs, w):
    p = coefs[0]
    for c in coefs[1:]:
        p = p * w + c
    return p


_ERFINV_NEWTON = 3  # steps from the first guess (off by up to ~1e-2) to double precision


def _erfinv(m, x):
    inside = m.abs(x) < 1
    xs = m.where(inside, x, 0)
    z = _erfinv_core(m, xs, 1 - m.abs(xs))
    edge = m.where(m.abs(x) == 1, x * math.inf, x * math.nan)  # +-inf at +-1, else nan
    return m.where(inside, z, edge)


def _erfinv_core(m, x, c):
    """erfinv(x) for |x| < 1, given c = 1 - |x| (to its last digit where it is tiny: ndtri's
    2p, exact, for x = 2p - 1)."""
    # First guess: Giles' polynomial in w = -log(1 - x^2) near 0, the asymptotic inverse of
    # erfc(z) ~ exp(-z^2) / (z sqrt(pi)) in the tails.
    w = -m.log(c * (2 - c))
    wc = m.minimum(w, 5.0) - 2.5
    log_c = m.log(c)
    tail_l = m.maximum(-log_c, 2.0)
    tail_z = m.sqrt(tail_l - 0.5 * m.log(_PI * tail_l))
    za = m.where(w < 5, m.abs(_horner(_ERFINV_CENTRAL, wc) * x), tail_z)
    # Newton on erf(|z|) = |x| near 0; in the tails on log erfc(|z|) = log c, which is nearly
    # quadratic in z (erfc itself falls too fast for Newton to step far) and keeps c's digits,
    # where erf(|z|) - |x| would cancel.
    ax = m.abs(x)
    for _ in range(_ERFINV_NEWTON):
        small, erfc_abs, y = _erf_parts(m, za)
        slope = _TWO_OVER_SQRT_PI * m.exp(-za * za)
        central = (small - ax) / slope
        tail = (m.log(erfc_abs) - log_c) * (-erfc_abs / slope)
        za = za - m.where(y <= 0.46875, central, tail)
    return m.where(x < 0, -za, za)


def _ndtri(m, p):
    """The inverse of the standard normal CDF: sqrt(2) erfinv(2p - 1), with 1 - |2p - 1| taken
    as 2 min(p, 1 - p), exact, so small p keep their digits."""
    inside = (p > 0) & (p < 1)
    ps = m.where(inside, p, 0.5)
    z = _SQRT2 * _erfinv_core(m, 2 * ps - 1, 2 * m.minimum(ps, 1 - ps))
    edge = m.where(p == 0, -p * 0 - math.inf, m.where(p == 1, p * math.inf, p * math.nan))
    return m.where(inside, z, edge)


# ------------------------------------------------------------------ lgamma, digamma, polygamma
# Lanczos' approximation with g = 7 and 9 terms (relative error ~1e-15 for x >= 0.5).
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7)


def _lgamma(m, x):
    if x.dtype.itemsize < 8:  # float32's rounding in the sum would leave lgamma(1) at 5e-7
        return _lgamma(m, x.astype("float64")).astype(x.dtype)
    # x >= 0.5: Lanczos on z = x - 1; x < 0.5: the reflection
    # lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x).
    reflect = x < 0.5
    z = m.where(reflect, 1 - x, x) - 1
    series = _LANCZOS[0]
    for k, c in enumerate(_LANCZOS[1:], 1):
        series = series + c / (z + k)
    t = z + _LANCZOS_G + 0.5
    positive = _HALF_LOG_2PI + (z + 0.5) * m.log(t) - t + m.log(series)
    sin_pi_x = m.abs(m.sin(_PI * (x - m.floor(x))))  # reduced first: exact at large |x|
    pole = reflect & (sin_pi_x == 0)
    reflected = math.log(_PI) - m.log(m.where(pole, 1.0, sin_pi_x)) - positive
    result = m.where(reflect, m.where(pole, math.inf, reflected), positive)
    # Gamma(1) = Gamma(2) = 1: +0 exactly, as PyTorch (the series leaves a -9e-16 there).
    result = m.where((x == 1) | (x == 2), 0.0, result)
    return m.where(m.abs(x) == math.inf, m.abs(x), result)  # lgamma(+-inf) = inf


_DIGAMMA_SHIFT = 10  # recurrence steps until the asymptotic series holds to ~1e-15


def _digamma(m, x):
    # x < 0.5: psi(x) = psi(1 - x) - pi / tan(pi x); then psi(z) = psi(z + 1) - 1 / z until
    # z >= 10, where psi(z) = log z - 1/(2z) - sum B_2k / (2k z^2k).
    reflect = x < 0.5
    z = m.where(reflect, 1 - x, x)
    acc = 0
    for _ in range(_DIGAMMA_SHIFT):
        small = z < _DIGAMMA_SHIFT
        acc = acc - m.where(small, 1 / z, 0)
        z = m.where(small, z + 1, z)
    w = 1 / (z * z)
    tail = w * (1 / 12 - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w * (1 / 132)))))
    positive = acc + m.log(z) - 0.5 / z - tail
    frac = x - m.trunc(x)
    pole = reflect & (frac == 0)
    tan_pi_x = m.tan(_PI * m.where(pole, 0.5, frac))
    # PyTorch: digamma(+-0) = -+inf, digamma(negative integer) = nan.
    at_pole = m.where(x == 0, -m.copysign(math.inf, x), math.nan)
    return m.where(reflect, m.where(pole, at_pole, positive - _PI / tan_pi_x), positive)


# Bernoulli numbers B_2j / (2j)! for the Euler-Maclaurin tail of the Hurwitz zeta function.
_BERNOULLI_OVER_FACT = (1 / 12, -1 / 720, 1 / 30240, -1 / 1209600, 1 / 47900160,
                        -691 / 1307674368000, 1 / 74724249600)
_ZETA_TERMS = 12


def _hurwitz_zeta(m, s: int, q):
    """zeta(s, q) = sum_k (q + k)^-s for an integer s >= 2: the first terms summed, the rest by
    Euler-Maclaurin. A pole (q a non-positive integer) gives inf."""
    total = 0
    for k in range(_ZETA_TERMS):
        a = q + k
        pole = a == 0
        total = total + m.where(pole, math.inf, 1 / m.where(pole, 1.0, a) ** s)
    a = q + _ZETA_TERMS
    a = m.where(a == 0, 1.0, a)
    total = total + a ** (1 - s) / (s - 1) + 0.5 / a ** s
    rising = s  # s (s+1) ... (s + 2j - 2)
    power = a ** (-s - 1)
    for j, b in enumerate(_BERNOULLI_OVER_FACT):
        total = total + b * rising * power
        rising *= (s + 2 * j + 1) * (s + 2 * j + 2)
        power = power / (a * a)
    return total


def _polygamma(m, n: int, x):
    """The n-th derivative of digamma: (-1)^(n+1) n! zeta(n + 1, x) for n >= 1."""
    if n == 0:
        return _digamma(m, x)
    return (-1) ** (n + 1) * math.factorial(n) * _hurwitz_zeta(m, n + 1, x)


# --------------------------------------------------------------------------- Bessel i0, i1
_BESSEL_SERIES_MAX = 20.0  # the power series up to |x| = 20, the asymptotic series past it
_BESSEL_TERMS = 60


def _i1(m, x):
    """The modified Bessel function of the first kind, order 1 (the gradient of i0)."""
    xs = m.minimum(m.maximum(x, -_BESSEL_SERIES_MAX), _BESSEL_SERIES_MAX)
    q = xs * xs * 0.25
    term = xs * 0.5
    total = term
    for k in range(1, _BESSEL_TERMS):
        term = term * q / (k * (k + 1))
        total = total + term
    # |x| > 20: e^|x| / sqrt(2 pi |x|) * (1 - 3/(8x) - 15/(128 x^2) - ...), odd in x.
    ax = m.maximum(m.abs(x), _BESSEL_SERIES_MAX)
    coef, series = 1.0, 1.0
    for k in range(1, 10):
        coef = -coef * (4 - (2 * k - 1) ** 2) / (k * 8)
        series = series + coef / ax ** k
    big = m.exp(ax) / m.sqrt(2 * _PI * ax) * series * m.sign(x)
    return m.where(m.abs(x) <= _BESSEL_SERIES_MAX, total, big)


def _i0_forward(m, x):
    # The array module's i0 (NumPy's and CuPy's are Chebyshev series); NumPy's is written in
    # Python, so its warnings at infinities would name NumPy, not gpugrad (which hides them).
    with np.errstate(over="ignore", invalid="ignore"):
        return m.i0(x)


def _i0_grad(m, g, x, y):
    return g * _i1(m, x)


# ---------------------------------------------------------------------------------- sinc
def _sinc(m, x):
    safe = m.where(x == 0, 1.0, x)
    return m.where(x == 0, 1.0, m.sin(_PI * safe) / (_PI * safe))


def _sinc_grad(m, g, x, y):
    # d/dx sin(pi x) / (pi x) = (cos(pi x) - sinc(x)) / x; 0 at x = 0, as PyTorch
    safe = m.where(x == 0, 1.0, x)
    px = _PI * safe
    return m.where(x == 0, 0.0, g * (m.cos(px) * px - m.sin(px)) / (px * safe))


UNARY_MATH: dict[str, UnaryFormula] = {
    "tan": UnaryFormula(lambda m, x: m.tan(x), lambda m, g, x, y: g * (1 + y * y), "y"),
    "acos": UnaryFormula(lambda m, x: m.arccos(x),
                         lambda m, g, x, y: -g / m.sqrt(1 - x * x), "x"),
    "asin": UnaryFormula(lambda m, x: m.arcsin(x),
                         lambda m, g, x, y: g / m.sqrt(1 - x * x), "x"),
    "atan": UnaryFormula(lambda m, x: m.arctan(x), lambda m, g, x, y: g / (1 + x * x), "x"),
    "acosh": UnaryFormula(lambda m, x: m.arccosh(x),
                          lambda m, g, x, y: g / m.sqrt(x * x - 1), "x"),
    "asinh": UnaryFormula(lambda m, x: m.arcsinh(x),
                          lambda m, g, x, y: g / m.sqrt(x * x + 1), "x"),
    "atanh": UnaryFormula(lambda m, x: m.arctanh(x), lambda m, g, x, y: g / (1 - x * x), "x"),
    "log10": UnaryFormula(lambda m, x: m.log10(x), lambda m, g, x, y: g / (x * _LN10), "x"),
    "log2": UnaryFormula(lambda m, x: m.log2(x), lambda m, g, x, y: g / (x * _LN2), "x"),
    "exp2": UnaryFormula(lambda m, x: m.exp2(x), lambda m, g, x, y: g * y * _LN2, "y"),
    "erfc": UnaryFormula(_erfc, lambda m, g, x, y: -g * _TWO_OVER_SQRT_PI * m.exp(-x * x), "x"),
    "erfinv": UnaryFormula(_erfinv, lambda m, g, x, y: g * _SQRT_PI_OVER_2 * m.exp(y * y), "y"),
    "lgamma": UnaryFormula(_lgamma, lambda m, g, x, y: g * _digamma(m, x), "x"),
    "digamma": UnaryFormula(_digamma, lambda m, g, x, y: g * _polygamma(m, 1, x), "x"),
    "i0": UnaryFormula(_i0_forward, _i0_grad, "x", node="I0Backward0"),
    "sinc": UnaryFormula(_sinc, _sinc_grad, "x"),
    "deg2rad": UnaryFormula(lambda m, x: x * (_PI / 180), lambda m, g, x, y: g * (_PI / 180),
                            node="Deg2RadBackward0"),
    "rad2deg": UnaryFormula(lambda m, x: x * (180 / _PI), lambda m, g, x, y: g * (180 / _PI),
                            node="Rad2DegBackward0"),
    "frac": UnaryFormula(lambda m, x: x - m.trunc(x), lambda m, g, x, y: g),
    # sgn is sign on real numbers (it differs on complex ones, which gpugrad lacks).
    "sgn": UnaryFormula(_sign, _zero_grad, float_only=False),
}
# Forwards that are one NumPy (and CuPy) function.
UNARY_MATH_XP = {"tan": "tan", "acos": "arccos", "asin": "arcsin", "atan": "arctan",
                 "acosh": "arccosh", "asinh": "arcsinh", "atanh": "arctanh", "log10": "log10",
                 "log2": "log2", "exp2": "exp2"}


# --------------------------------------------------------------------------------- binary
def _fmax_grad_a(m, g, a, b, o):
    # PyTorch: all of the gradient to the operand fmax chose, ties to ``a``.
    return m.where((a >= b) | (b != b), g, 0)


def _fmax_grad_b(m, g, a, b, o):
    return m.where((a >= b) | (b != b), 0, g)


def _fmin_grad_a(m, g, a, b, o):
    return m.where((a <= b) | (b != b), g, 0)


def _fmin_grad_b(m, g, a, b, o):
    return m.where((a <= b) | (b != b), 0, g)


def _copysign_grad_a(m, g, a, b, o):
    # o / a is +-1; 0 at a == 0, as PyTorch
    return m.where(a == 0, 0, g * o / m.where(a == 0, 1.0, a))


def _log(m, x):
    if hasattr(x, "shape"):
        return m.log(x)
    return math.log(x) if x > 0 else -math.inf if x == 0 else math.nan  # a Python number


def _xlogy(m, a, b):
    # 0 where a == 0 (unless b is nan), a * log(b) elsewhere
    return m.where((a == 0) & (b == b), 0, a * _log(m, b))


def _xlogy_grad_a(m, g, a, b, o):
    # PyTorch: xlogy(g, b), set to 0 where a == 0 and b <= 0
    zero = ((a == 0) & (b <= 0)) | ((g == 0) & (b == b))
    return m.where(zero, 0, g * _log(m, b))


def _log1p(m, x):
    if hasattr(x, "shape"):
        return m.log1p(x)
    return math.log1p(x) if x > -1 else -math.inf if x == -1 else math.nan  # a Python number


def _xlog1py(m, a, b):
    # 0 where a == 0 (unless b is nan), a * log1p(b) elsewhere
    return m.where((a == 0) & (b == b), 0, a * _log1p(m, b))


def _xlog1py_grad_a(m, g, a, b, o):
    # PyTorch: xlog1py(g, b), set to 0 where a == 0 and b <= -1
    zero = ((a == 0) & (b <= -1)) | ((g == 0) & (b == b))
    return m.where(zero, 0, g * _log1p(m, b))


def _atan2_grad_a(m, g, a, b, o):
    # g b / (a^2 + b^2); 0 where a^2 + b^2 is 0, as PyTorch
    d = a * a + b * b
    return m.where(d == 0, 0, g * b / m.where(d == 0, 1.0, d))


def _atan2_grad_b(m, g, a, b, o):
    d = a * a + b * b
    return m.where(d == 0, 0, -g * a / m.where(d == 0, 1.0, d))


def _logaddexp(m, a, b):
    return m.logaddexp(a, b)


BINARY_MATH: dict[str, BinaryFormula] = {
    "atan2": BinaryFormula(lambda m, a, b: m.arctan2(a, b), _atan2_grad_a, _atan2_grad_b,
                           reads=("ab", "ab")),
    "hypot": BinaryFormula(lambda m, a, b: m.hypot(a, b), lambda m, g, a, b, o: g * a / o,
                           lambda m, g, a, b, o: g * b / o, reads=("ao", "bo")),
    "copysign": BinaryFormula(lambda m, a, b: m.copysign(a, b), _copysign_grad_a,
                              lambda m, g, a, b, o: g * 0, reads=("ao", "")),
    "fmax": BinaryFormula(lambda m, a, b: m.fmax(a, b), _fmax_grad_a, _fmax_grad_b,
                          reads=("ab", "ab")),
    "fmin": BinaryFormula(lambda m, a, b: m.fmin(a, b), _fmin_grad_a, _fmin_grad_b,
                          reads=("ab", "ab")),
    "logaddexp": BinaryFormula(
        _logaddexp, lambda m, g, a, b, o: g / (1 + m.exp(b - a)),
        lambda m, g, a, b, o: g / (1 + m.exp(a - b)), reads=("ab", "ab")),
    "logaddexp2": BinaryFormula(
        lambda m, a, b: m.logaddexp2(a, b), lambda m, g, a, b, o: g / (1 + 2 ** (b - a)),
        lambda m, g, a, b, o: g / (1 + 2 ** (a - b)), reads=("ab", "ab")),
    "xlogy": BinaryFormula(_xlogy, _xlogy_grad_a, lambda m, g, a, b, o: g * a / b,
                           reads=("ab", "ab")),
    "xlog1py": BinaryFormula(_xlog1py, _xlog1py_grad_a, lambda m, g, a, b, o: g * a / (b + 1),
                             reads=("ab", "ab")),
}
BINARY_MATH_XP = {"atan2": "arctan2", "hypot": "hypot", "copysign": "copysign", "fmax": "fmax",
                  "fmin": "fmin", "logaddexp": "logaddexp", "logaddexp2": "logaddexp2"}
