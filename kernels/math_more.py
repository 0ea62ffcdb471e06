"""The Triton expression of the unary formulas of ``gpugrad/backend/formulas_math.py``: inverse
trigonometric and hyperbolic functions, other bases, the special functions, ``sinc``;
``unary_math.UNARY`` merges this table (the binary half is ``binary_math_more.py``).

Traffic as every elementwise op: one read and one write per element (a gradient reads what its
op saved as well). Compiled, the transcendental functions are CUDA's libdevice; Triton's
interpreter cannot call libdevice, so there each is the NumPy twin's own function (as in
``_math.py``). ``digamma`` and its gradient (trigamma) have no libdevice function and are
written out here, as the twin writes them.
"""

from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from . import INTERPRET
from ._common import fdiv, fsqrt
from ._math import trunc

if not INTERPRET:
    from triton.language.extra import libdevice

    tan, asin, acos, atan = libdevice.tan, libdevice.asin, libdevice.acos, libdevice.atan
    asinh, acosh, atanh = libdevice.asinh, libdevice.acosh, libdevice.atanh
    log10, log2, exp2 = libdevice.log10, libdevice.log2, libdevice.exp2
    erfc, erfinv, lgamma = libdevice.erfc, libdevice.erfinv, libdevice.lgamma
    i0, i1 = libdevice.cyl_bessel_i0, libdevice.cyl_bessel_i1
else:
    from gpugrad.backend import formulas_math as fm

    from ._math import _numpy_unary

    tan, asin, acos, atan = (_numpy_unary(f) for f in (np.tan, np.arcsin, np.arccos, np.arctan))
    asinh, acosh, atanh = (_numpy_unary(f) for f in (np.arcsinh, np.arccosh, np.arctanh))
    log10, log2, exp2 = (_numpy_unary(f) for f in (np.log10, np.log2, np.exp2))
    erfc, erfinv, lgamma, i0, i1 = (
        _numpy_unary(lambda a, _f=f: _f(np, a))
        for f in (fm._erfc, fm._erfinv, fm._lgamma, fm._i0_forward, fm._i1))

_PI = tl.constexpr(3.14159265358979323846)
_LN2 = tl.constexpr(0.69314718055994530942)
_LN10 = tl.constexpr(2.30258509299404568402)
_TWO_OVER_SQRT_PI = tl.constexpr(1.12837916709551257390)
_SQRT_PI_OVER_2 = tl.constexpr(0.88622692545275801365)
_DEG = tl.constexpr(57.295779513082320877)  # 180 / pi
_RAD = tl.constexpr(0.017453292519943295769)  # pi / 180


# ------------------------------------------------------------------------ unary, op by op
@triton.jit
def _tan(x):
    return tan(x)


@triton.jit
def _tan_grad(g, x, y):
    return g * (1 + y * y)


@triton.jit
def _asin(x):
    return asin(x)


@triton.jit
def _asin_grad(g, x, y):
    return fdiv(g, fsqrt(1 - x * x))


@triton.jit
def _acos(x):
    return acos(x)


@triton.jit
def _acos_grad(g, x, y):
    return fdiv(-g, fsqrt(1 - x * x))


@triton.jit
def _atan(x):
    return atan(x)


@triton.jit
def _atan_grad(g, x, y):
    return fdiv(g, 1 + x * x)


@triton.jit
def _asinh(x):
    return asinh(x)


@triton.jit
def _asinh_grad(g, x, y):
    return fdiv(g, fsqrt(x * x + 1))


@triton.jit
def _acosh(x):
    return acosh(x)


@triton.jit
def _acosh_grad(g, x, y):
    return fdiv(g, fsqrt(x * x - 1))


@triton.jit
def _atanh(x):
    return atanh(x)


@triton.jit
def _atanh_grad(g, x, y):
    return fdiv(g, 1 - x * x)


@triton.jit
def _log10(x):
    return log10(x)


@triton.jit
def _log10_grad(g, x, y):
    return fdiv(g, x * _LN10)


@triton.jit
def _log2(x):
    return log2(x)


@triton.jit
def _log2_grad(g, x, y):
    return fdiv(g, x * _LN2)


@triton.jit
def _exp2(x):
    return exp2(x)


@triton.jit
def _exp2_grad(g, x, y):
    return g * y * _LN2


@triton.jit
def _erfc(x):
    return erfc(x)


@triton.jit
def _erfc_grad(g, x, y):
    return -g * _TWO_OVER_SQRT_PI * tl.exp(-x * x)


@triton.jit
def _erfinv(x):
    return erfinv(x)


@triton.jit
def _erfinv_grad(g, x, y):
    return g * _SQRT_PI_OVER_2 * tl.exp(y * y)


@triton.jit
def _lgamma(x):
    return lgamma(x)


@triton.jit
def _lgamma_grad(g, x, y):
    return g * _digamma(x)


@triton.jit
def _digamma(x):
    # As formulas_math._digamma: reflection below 0.5, recurrence up to 10, asymptotic series.
    reflect = x < 0.5
    z = tl.where(reflect, 1 - x, x)
    acc = tl.zeros_like(z)
    for _ in tl.static_range(10):
        small = z < 10
        acc = acc - tl.where(small, fdiv(tl.full(z.shape, 1, z.dtype), z), 0)
        z = tl.where(small, z + 1, z)
    w = fdiv(tl.full(z.shape, 1, z.dtype), z * z)
    tail = w * (1 / 12 - w * (1 / 120 - w * (1 / 252 - w * (1 / 240 - w * (1 / 132)))))
    positive = acc + tl.log(z) - fdiv(tl.full(z.shape, 0.5, z.dtype), z) - tail
    frac = x - trunc(x)
    pole = reflect & (frac == 0)
    tan_pi_x = tan(tl.where(pole, 0.5, frac) * _PI)
    neg_zero = (1 / x) < 0  # x == -0.0
    at_pole = tl.where(x == 0, tl.where(neg_zero, float("inf"), float("-inf")), float("nan"))
    reflected = positive - fdiv(tl.full(z.shape, _PI, z.dtype), tan_pi_x)
    return tl.where(reflect, tl.where(pole, at_pole, reflected), positive).to(x.dtype)


@triton.jit
def _trigamma(x):
    # zeta(2, x): 12 terms, then Euler-Maclaurin (formulas_math._hurwitz_zeta with s = 2)
    total = tl.zeros_like(x)
    for k in tl.static_range(12):
        a = x + k
        pole = a == 0
        a = tl.where(pole, 1, a)
        total = total + tl.where(pole, float("inf"), fdiv(tl.full(x.shape, 1, x.dtype), a * a))
    a = x + 12
    a = tl.where(a == 0, 1, a)
    inv = fdiv(tl.full(x.shape, 1, x.dtype), a)
    w = inv * inv
    # a^-1 + a^-2 / 2 + sum_j B_2j a^-(2j+1)  (the rising factorials of s = 2 are (2j)!)
    series = 1 / 6 - w * (1 / 30 - w * (1 / 42 - w * (1 / 30 - w * (5 / 66 - w * (
        691 / 2730 - w * (7 / 6))))))
    return total + inv + 0.5 * w + series * w * inv


@triton.jit
def _digamma_grad(g, x, y):
    return g * _trigamma(x)


@triton.jit
def _i0(x):
    return i0(x)


@triton.jit
def _i0_grad(g, x, y):
    return g * i1(x)


@triton.jit
def _sinc(x):
    px = tl.where(x == 0, 1, x) * _PI  # (a constexpr times a block would stay a constexpr)
    return tl.where(x == 0, 1, fdiv(tl.sin(px), px)).to(x.dtype)


@triton.jit
def _sinc_grad(g, x, y):
    safe = tl.where(x == 0, 1, x)
    px = safe * _PI
    return tl.where(x == 0, 0, fdiv(g * (tl.cos(px) * px - tl.sin(px)), px * safe)).to(g.dtype)


@triton.jit
def _deg2rad(x):
    return x * _RAD


@triton.jit
def _deg2rad_grad(g, x, y):
    return g * _RAD


@triton.jit
def _rad2deg(x):
    return x * _DEG


@triton.jit
def _rad2deg_grad(g, x, y):
    return g * _DEG


@triton.jit
def _frac(x):
    return x - trunc(x)


@triton.jit
def _identity_grad(g, x, y):
    return g


UNARY = {
    "tan": (_tan, _tan_grad), "asin": (_asin, _asin_grad), "acos": (_acos, _acos_grad),
    "atan": (_atan, _atan_grad), "asinh": (_asinh, _asinh_grad), "acosh": (_acosh, _acosh_grad),
    "atanh": (_atanh, _atanh_grad), "log10": (_log10, _log10_grad), "log2": (_log2, _log2_grad),
    "exp2": (_exp2, _exp2_grad), "erfc": (_erfc, _erfc_grad), "erfinv": (_erfinv, _erfinv_grad),
    "lgamma": (_lgamma, _lgamma_grad), "digamma": (_digamma, _digamma_grad),
    "i0": (_i0, _i0_grad), "sinc": (_sinc, _sinc_grad), "deg2rad": (_deg2rad, _deg2rad_grad),
    "rad2deg": (_rad2deg, _rad2deg_grad), "frac": (_frac, _identity_grad),
}
