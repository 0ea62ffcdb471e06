"""The Triton expression of the formulas of ``gpugrad/backend/formulas_special.py``: ``i1``,
``i0e``, ``i1e`` and ``erfcx`` of ``torch.special`` and their gradients. ``unary_math.UNARY``
merges this table.

Traffic as every elementwise op: one read and one write per element (a gradient reads its input
as well). Compiled, ``i0``, ``i1`` and ``erfcx`` are CUDA's libdevice functions; Triton's
interpreter cannot call libdevice, so there each is the NumPy twin's own function (as in
``math_more.py``). The scaled Bessel functions use them below |x| = 20 and their asymptotic
series above it, written out here as the twin writes it.
"""

from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from . import INTERPRET
from ._common import fdiv, fsqrt

if not INTERPRET:
    from triton.language.extra import libdevice

    i0, i1, erfcx = libdevice.cyl_bessel_i0, libdevice.cyl_bessel_i1, libdevice.erfcx
else:
    from gpugrad.backend import formulas_math as fm
    from gpugrad.backend import formulas_special as fs

    from ._math import _numpy_unary

    i0, i1, erfcx = (_numpy_unary(lambda a, _f=f: _f(np, a))
                     for f in (fm._i0_forward, fs._i1_full, fs._erfcx))

_SERIES_MAX = tl.constexpr(20.0)
_TWO_PI = tl.constexpr(6.28318530717958647692)
_TWO_OVER_SQRT_PI = tl.constexpr(1.12837916709551257390)
_TERMS = tl.constexpr(24)


@triton.jit
def _scaled_asymptotic(ax, MU: tl.constexpr):
    """exp(-x) I_nu(x) for x >= 20 (MU = 4 nu^2): (2 pi x)^-1/2 sum_k (-1)^k a_k / x^k."""
    w = fdiv(tl.full(ax.shape, 1.0, ax.dtype), ax)
    coef = tl.full(ax.shape, 1.0, ax.dtype)
    power = tl.full(ax.shape, 1.0, ax.dtype)
    total = tl.full(ax.shape, 1.0, ax.dtype)
    for k in tl.static_range(1, _TERMS):
        coef = -coef * ((MU - (2 * k - 1) * (2 * k - 1)) / (8.0 * k))
        power = power * w
        total = total + coef * power
    return fdiv(total, fsqrt(ax * _TWO_PI))


@triton.jit
def _i0e(x):
    ax = tl.abs(x)
    small = tl.minimum(ax, _SERIES_MAX)
    near = i0(small) * tl.exp(-small)
    far = _scaled_asymptotic(tl.maximum(ax, _SERIES_MAX), 0)
    return tl.where(ax <= _SERIES_MAX, near, far).to(x.dtype)


@triton.jit
def _sign(x):
    return tl.where(x > 0, 1.0, tl.where(x < 0, -1.0, 0.0)).to(x.dtype)


@triton.jit
def _i1e(x):
    ax = tl.abs(x)
    xs = tl.minimum(tl.maximum(x, -_SERIES_MAX), _SERIES_MAX)
    near = i1(xs) * tl.exp(-tl.abs(xs))
    far = _scaled_asymptotic(tl.maximum(ax, _SERIES_MAX), 4) * _sign(x)
    return tl.where(ax <= _SERIES_MAX, near, far).to(x.dtype)


@triton.jit
def _i1(x):
    return i1(x)


@triton.jit
def _i1_grad(g, x, y):
    safe = tl.where(x == 0, 1, x).to(x.dtype)
    d = tl.where(x == 0, 0.5, i0(x) - fdiv(i1(x), safe))
    return (g * d).to(g.dtype)


@triton.jit
def _i0e_grad(g, x, y):
    return (g * (_i1e(x) - _sign(x) * _i0e(x))).to(g.dtype)


@triton.jit
def _i1e_grad(g, x, y):
    safe = tl.where(x == 0, 1, x).to(x.dtype)
    d = tl.where(x == 0, 0.5, _i0e(x) - _i1e(safe) * (_sign(x) + fdiv(1.0 + 0 * safe, safe)))
    return (g * d).to(g.dtype)


@triton.jit
def _erfcx(x):
    return erfcx(x)


@triton.jit
def _erfcx_grad(g, x, y):
    xf = x.to(tl.float32) if x.dtype != tl.float64 else x  # (2 x erfcx(x) overflows float16)
    return (g * (2 * xf * erfcx(xf) - _TWO_OVER_SQRT_PI)).to(g.dtype)


UNARY = {
    "special_i1": (_i1, _i1_grad), "special_i0e": (_i0e, _i0e_grad),
    "special_i1e": (_i1e, _i1e_grad), "special_erfcx": (_erfcx, _erfcx_grad),
}
