"""Private special functions the distributions need and gpugrad does not have yet: ``lgamma``,
``digamma``, ``trigamma``, ``erfinv``, each a ``Function`` on the backend's arrays (NumPy or
CuPy) with its gradient. NumPy has none of them, so each is a standard approximation computed
in float64 and cast back:

- lgamma: Lanczos' series (g = 7, 9 terms), with the reflection formula below 0.5;
- digamma and trigamma: the recurrence up to x >= 10, then their asymptotic series (error
  below 1e-14 there), with reflection for negative arguments;
- erfinv: M. Giles' single-precision approximation refined by two Halley steps on ``erf``.

When the public ops (branch math-more) land, these should be replaced by them.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function

_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _lgamma_pos(xp, x):
    """log|Gamma(x)| for x >= 0.5 (float64 arrays)."""
    x = x - 1.0
    a = xp.full_like(x, _LANCZOS[0])
    for i in range(1, 9):
        a = a + _LANCZOS[i] / (x + i)
    t = x + 7.5
    return _HALF_LOG_2PI + (x + 0.5) * xp.log(t) - t + xp.log(a)


def _sin_pi(xp, x):
    """sin(pi x), exact near the integers: reduced to r = x - round(x) before scaling by pi."""
    n = xp.round(x)
    r = x - n
    sign = 1.0 - 2.0 * (xp.abs(n) % 2)
    return sign * xp.sin(math.pi * r)


def _tan_pi(xp, x):
    """tan(pi x) (period 1), reduced as ``_sin_pi``."""
    return xp.tan(math.pi * (x - xp.round(x)))


def lgamma_array(xp, x):
    x = x.astype(np.float64)
    small = x < 0.5
    xr = xp.where(small, 1.0 - x, x)  # reflection: Gamma(x) Gamma(1-x) = pi / sin(pi x)
    pos = _lgamma_pos(xp, xr)
    with np.errstate(all="ignore"):
        refl = math.log(math.pi) - xp.log(xp.abs(_sin_pi(xp, x))) - pos
    out = xp.where(small, refl, pos)
    out = xp.where((x <= 0) & (x == xp.floor(x)), xp.inf, out)  # poles
    return xp.where(xp.isinf(x), xp.inf, out)


def _shift(xp, x, fn):
    """Move x up to >= 10 with the recurrence; ``fn(x)`` is the term each step drops."""
    acc = xp.zeros_like(x)
    for _ in range(10):
        low = x < 10
        acc = acc + xp.where(low, fn(x), 0.0)
        x = xp.where(low, x + 1.0, x)
    return x, acc


def digamma_array(xp, x):
    x = x.astype(np.float64)
    neg = x < 0.5
    with np.errstate(all="ignore"):
        xr = xp.where(neg, 1.0 - x, x)  # psi(x) = psi(1-x) - pi / tan(pi x)
        xs, acc = _shift(xp, xr, lambda v: 1.0 / v)
        inv2 = 1.0 / (xs * xs)
        series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (
            1 / 240 - inv2 * (1 / 132)))))
        pos = xp.log(xs) - 0.5 / xs - series - acc
        out = xp.where(neg, pos - math.pi / _tan_pi(xp, x), pos)
        out = xp.where(x == 0, -xp.inf, out)
        out = xp.where((x < 0) & (x == xp.floor(x)), xp.nan, out)
    return xp.where(x == xp.inf, xp.inf, out)


def trigamma_array(xp, x):
    x = x.astype(np.float64)
    neg = x < 0.5
    with np.errstate(all="ignore"):
        xr = xp.where(neg, 1.0 - x, x)  # psi1(x) = -psi1(1-x) + pi^2 / sin^2(pi x)
        xs, acc = _shift(xp, xr, lambda v: 1.0 / (v * v))
        inv = 1.0 / xs
        inv2 = inv * inv
        series = inv + inv2 / 2 + inv * inv2 * (1 / 6 - inv2 * (1 / 30 - inv2 * (
            1 / 42 - inv2 * (1 / 30 - inv2 * (5 / 66)))))
        pos = series + acc
        out = xp.where(neg, -pos + (math.pi / _sin_pi(xp, x)) ** 2, pos)
        out = xp.where((x <= 0) & (x == xp.floor(x)), xp.inf, out)
    return xp.where(x == xp.inf, 0.0, out)


_GILES_SMALL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_GILES_BIG = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
              0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def erfinv_array(backend, y):
    xp = backend.xp
    y = y.astype(np.float64)
    with np.errstate(all="ignore"):
        w = -xp.log((1.0 - y) * (1.0 + y))
        ws, wb = w - 2.5, xp.sqrt(w) - 3.0
        ps, pb = xp.full_like(y, _GILES_SMALL[0]), xp.full_like(y, _GILES_BIG[0])
        for cs, cb in zip(_GILES_SMALL[1:], _GILES_BIG[1:]):
            ps, pb = cs + ps * ws, cb + pb * wb
        x = xp.where(w < 5.0, ps, pb) * y
        for _ in range(2):  # Halley's method on erf(x) - y
            err = backend.unary("erf", x) - y
            deriv = 2 / math.sqrt(math.pi) * xp.exp(-x * x)
            x = x - err / (deriv + x * err)
        x = xp.where(xp.abs(y) == 1.0, y * xp.inf, x)
    return xp.where(xp.abs(y) > 1.0, xp.nan, x)


def _float_out(x, arr):
    dtype = x._data.dtype if x._data.dtype.kind == "f" else np.dtype(np.float32)
    return x._new(arr.astype(dtype, copy=False))


class _Lgamma(Function):
    node_name = "LgammaBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _float_out(x, lgamma_array(x._backend.xp, x._data))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * digamma(x)


class _Digamma(Function):
    node_name = "DigammaBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _float_out(x, digamma_array(x._backend.xp, x._data))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * trigamma(x)


class _Trigamma(Function):
    node_name = "PolygammaBackward0"

    @staticmethod
    def forward(ctx, x):
        if ctx.needs_input_grad[0]:
            raise NotImplementedError("distributions: the gradient of trigamma (polygamma of "
                                      "order 2) is not implemented")
        return _float_out(x, trigamma_array(x._backend.xp, x._data))

    @staticmethod
    def backward(ctx, grad):  # unreachable: forward refuses inputs that need a gradient
        raise NotImplementedError


class _Erfinv(Function):
    node_name = "ErfinvBackward0"

    @staticmethod
    def forward(ctx, y):
        x = _float_out(y, erfinv_array(y._backend, y._data))
        ctx.save_for_backward(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (math.sqrt(math.pi) / 2) * (x * x).exp()


def lgamma(x):
    """log|Gamma(x)|, elementwise."""
    return _Lgamma.apply(x)


def digamma(x):
    """The derivative of lgamma, elementwise."""
    return _Digamma.apply(x)


def trigamma(x):
    """The derivative of digamma, elementwise (not differentiable itself)."""
    return _Trigamma.apply(x)


def erfinv(y):
    """The inverse of erf on (-1, 1), elementwise."""
    return _Erfinv.apply(y)


class _Atan(Function):
    node_name = "AtanBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _float_out(x, x._backend.xp.arctan(x._data))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1 + x * x)


def atan(x):
    """The arc tangent, elementwise."""
    return _Atan.apply(x)


class _XLogY(Function):
    node_name = "XlogyBackward0"

    @staticmethod
    def forward(ctx, x, y):
        xp = x._backend.xp
        xd, yd = x._data, y._data
        dtype = np.result_type(xd.dtype, yd.dtype)
        with np.errstate(all="ignore"):
            out = xp.where(xd == 0, 0.0, xd * xp.log(yd))
            out = xp.where(xp.isnan(yd), xp.nan, out)
        ctx.save_for_backward(x, y)
        return x._new(out.astype(dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        # as torch's: d/dx = log(y) where x != 0 (else 0); d/dy = x / y (nan at 0 / 0)
        x, y = ctx.saved_tensors
        gx = grad * xlogy(x != 0, y) if ctx.needs_input_grad[0] else None
        gy = grad * x / y if ctx.needs_input_grad[1] else None
        return gx, gy


def xlogy(x, y):
    """``x * log(y)``, 0 where ``x`` is 0; either may be a number."""
    like = y if hasattr(y, "_data") else x
    if not hasattr(x, "_data"):
        x = like._new(like._backend.xp.asarray(x, dtype=like._data.dtype))
    if not hasattr(y, "_data"):
        y = like._new(like._backend.xp.asarray(y, dtype=like._data.dtype))
    if x.dtype != y.dtype:
        import gpugrad

        dtype = gpugrad.result_type(x, y)
        if not dtype.is_floating_point:
            dtype = gpugrad.get_default_dtype()
        x, y = x.to(dtype), y.to(dtype)
    return _XLogY.apply(x, y)
