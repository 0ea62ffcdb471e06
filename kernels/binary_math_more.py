"""The Triton expression of the binary formulas of ``gpugrad/backend/formulas_math.py``:
``atan2``, ``hypot``, ``copysign``, ``fmax``/``fmin``, ``logaddexp``/``logaddexp2``, ``xlogy``,
``xlog1py``; ``binary_math.BINARY`` merges this table (the unary half is ``math_more.py``).

Compiled, ``atan2``, ``hypot`` and ``copysign`` are CUDA's libdevice; Triton's interpreter
cannot call libdevice, so there each is NumPy's own function (as in ``_math.py``).
"""

from __future__ import annotations

import numpy as np
import triton
import triton.language as tl

from . import INTERPRET
from ._common import fdiv
from ._math import log1p

if not INTERPRET:
    from triton.language.extra import libdevice

    atan2, hypot, copysign = libdevice.atan2, libdevice.hypot, libdevice.copysign
else:
    from ._math import _numpy_binary

    atan2, hypot, copysign = (_numpy_binary(f) for f in (np.arctan2, np.hypot, np.copysign))

_LN2 = tl.constexpr(0.69314718055994530942)

@triton.jit
def _atan2(a, b):
    return atan2(a, b)


@triton.jit
def _atan2_grad_a(g, a, b, out):
    d = a * a + b * b + g * 0
    return tl.where(d == 0, 0, fdiv(g * b, tl.where(d == 0, 1, d))).to(g.dtype)  # 0 at 0, 0


@triton.jit
def _atan2_grad_b(g, a, b, out):
    d = a * a + b * b + g * 0
    return tl.where(d == 0, 0, fdiv(-g * a, tl.where(d == 0, 1, d))).to(g.dtype)


@triton.jit
def _hypot(a, b):
    return hypot(a, b)


@triton.jit
def _hypot_grad_a(g, a, b, out):
    return fdiv(g * a, out)


@triton.jit
def _hypot_grad_b(g, a, b, out):
    return fdiv(g * b, out)


@triton.jit
def _copysign(a, b):
    return copysign(a, b)


@triton.jit
def _copysign_grad_a(g, a, b, out):
    # out / a is +-1; 0 where a == 0, as PyTorch
    return tl.where(a == 0, 0, fdiv(g * out, tl.where(a == 0, 1, a) + out * 0)).to(g.dtype)


@triton.jit
def _zero_grad_b(g, a, b, out):
    return g * 0


@triton.jit
def _fmax(a, b):
    # the number wins over a nan
    return tl.where(b != b, a, tl.where(a != a, b, tl.where(a >= b, a, b)))


@triton.jit
def _fmin(a, b):
    return tl.where(b != b, a, tl.where(a != a, b, tl.where(a <= b, a, b)))


# (nested wheres, not ``|``: an operand may be a scalar, which the interpreter cannot combine)
@triton.jit
def _fmax_grad_a(g, a, b, out):
    return tl.where(b != b, g, tl.where(a >= b, g, 0)).to(g.dtype)  # ties to a, as PyTorch


@triton.jit
def _fmax_grad_b(g, a, b, out):
    return tl.where(b != b, 0, tl.where(a >= b, 0, g)).to(g.dtype)


@triton.jit
def _fmin_grad_a(g, a, b, out):
    return tl.where(b != b, g, tl.where(a <= b, g, 0)).to(g.dtype)


@triton.jit
def _fmin_grad_b(g, a, b, out):
    return tl.where(b != b, 0, tl.where(a <= b, 0, g)).to(g.dtype)


@triton.jit
def _logaddexp(a, b):
    # max + log1p(exp(-|a - b|)); equal operands (infinities too) give a + log 2
    hi = tl.maximum(a, b)
    d = tl.abs(a - b)
    return tl.where(a == b, a + _LN2, hi + log1p(tl.exp(-d)))


@triton.jit
def _logaddexp_grad_a(g, a, b, out):
    return fdiv(g, 1 + tl.exp(b - a))


@triton.jit
def _logaddexp_grad_b(g, a, b, out):
    return fdiv(g, 1 + tl.exp(a - b))


@triton.jit
def _logaddexp2(a, b):
    hi = tl.maximum(a, b)
    d = tl.abs(a - b)
    return tl.where(a == b, a + 1, hi + log1p(tl.exp(-d * _LN2)) / _LN2)


@triton.jit
def _logaddexp2_grad_a(g, a, b, out):
    return fdiv(g, 1 + tl.exp((b - a) * _LN2))


@triton.jit
def _logaddexp2_grad_b(g, a, b, out):
    return fdiv(g, 1 + tl.exp((a - b) * _LN2))


@triton.jit
def _xlogy(a, b):
    r = a * tl.log(b + a * 0)
    return tl.where(a == 0, tl.where(b == b, 0, r), r).to(r.dtype)


@triton.jit
def _xlogy_grad_a(g, a, b, out):
    # xlogy(g, b), then 0 where a == 0 and b <= 0
    r = g * tl.log(b + g * 0)
    r = tl.where(g == 0, tl.where(b == b, 0, r), r)
    return tl.where(a == 0, tl.where(b <= 0, 0, r), r).to(g.dtype)


@triton.jit
def _xlogy_grad_b(g, a, b, out):
    return fdiv(g * a, b + g * 0)


@triton.jit
def _xlog1py(a, b):
    r = a * log1p(b + a * 0)
    return tl.where(a == 0, tl.where(b == b, 0, r), r).to(r.dtype)


@triton.jit
def _xlog1py_grad_a(g, a, b, out):
    # xlog1py(g, b), then 0 where a == 0 and b <= -1
    r = g * log1p(b + g * 0)
    r = tl.where(g == 0, tl.where(b == b, 0, r), r)
    return tl.where(a == 0, tl.where(b <= -1, 0, r), r).to(g.dtype)


@triton.jit
def _xlog1py_grad_b(g, a, b, out):
    return fdiv(g * a, b + 1 + g * 0)


BINARY = {
    "atan2": (_atan2, _atan2_grad_a, _atan2_grad_b),
    "hypot": (_hypot, _hypot_grad_a, _hypot_grad_b),
    "copysign": (_copysign, _copysign_grad_a, _zero_grad_b),
    "fmax": (_fmax, _fmax_grad_a, _fmax_grad_b), "fmin": (_fmin, _fmin_grad_a, _fmin_grad_b),
    "logaddexp": (_logaddexp, _logaddexp_grad_a, _logaddexp_grad_b),
    "logaddexp2": (_logaddexp2, _logaddexp2_grad_a, _logaddexp2_grad_b),
    "xlogy": (_xlogy, _xlogy_grad_a, _xlogy_grad_b),
    "xlog1py": (_xlog1py, _xlog1py_grad_a, _xlog1py_grad_b),
}
BINARY_INT = {"fmax": _fmax, "fmin": _fmin}
