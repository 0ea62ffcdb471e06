"""The Triton expression of every unary formula in ``gpugrad/backend/formulas.py``.

One small ``@triton.jit`` function per formula and per gradient, side by side and written as the
formula is: the elementwise kernel takes them as constexpr arguments, so each (op, dtype,
layout) compiles once. Values arrive in the compute dtype (float32 for float16 storage). A
gradient is ``(g, x, y) -> gx`` with ``x`` the input and ``y`` the output, whichever the op saves
(the other arrives as ``None``). ``UNARY`` names the same ops as ``formulas.UNARY`` (a test
checks it).
"""

from __future__ import annotations

import triton
import triton.language as tl

from ._common import fdiv, fsqrt
from ._math import expm1, log1p, rint, tanh, trunc

_NAN_ALL = tl.constexpr(tl.PropagateNan.ALL)
_INV_SQRT_2 = tl.constexpr(0.70710678118654752440)
_INV_SQRT_2PI = tl.constexpr(0.39894228040143267794)
_TWO_OVER_SQRT_PI = tl.constexpr(1.12837916709551257390)
_GELU_TANH_BETA = tl.constexpr(0.79788456080286535588)
_GELU_TANH_KAPPA = tl.constexpr(0.044715)


# --------------------------------------------------- forward and gradient, op by op
@triton.jit
def _neg(x):
    return -x


@triton.jit
def _neg_grad(g, x, y):
    return -g


@triton.jit
def _abs(x):
    return tl.abs(x)


@triton.jit
def _abs_grad(g, x, y):
    return g * _sign(x)


@triton.jit
def _exp(x):
    return tl.exp(x)


@triton.jit
def _exp_grad(g, x, y):
    return g * y


@triton.jit
def _log(x):
    return tl.log(x)


@triton.jit
def _log_grad(g, x, y):
    return fdiv(g, x)


@triton.jit
def _log1p(x):
    return log1p(x)


@triton.jit
def _log1p_grad(g, x, y):
    return fdiv(g, x + 1)


@triton.jit
def _expm1(x):
    return expm1(x)


@triton.jit
def _expm1_grad(g, x, y):
    return g * (y + 1)


@triton.jit
def _sqrt(x):
    return fsqrt(x)


@triton.jit
def _sqrt_grad(g, x, y):
    return fdiv(g, 2 * y)


@triton.jit
def _rsqrt(x):
    return fdiv(tl.full(x.shape, 1, x.dtype), fsqrt(x))


@triton.jit
def _rsqrt_grad(g, x, y):
    return g * -0.5 * y * y * y


@triton.jit
def _sin(x):
    return tl.sin(x)


@triton.jit
def _sin_grad(g, x, y):
    return g * tl.cos(x)


@triton.jit
def _cos(x):
    return tl.cos(x)


@triton.jit
def _cos_grad(g, x, y):
    return -g * tl.sin(x)


@triton.jit
def _sinh(x):
    return 0.5 * (expm1(x) - expm1(-x))  # exact near 0, where exp(x) - exp(-x) cancels


@triton.jit
def _sinh_grad(g, x, y):
    return g * _cosh(x)


@triton.jit
def _cosh(x):
    return 0.5 * (tl.exp(x) + tl.exp(-x))


@triton.jit
def _cosh_grad(g, x, y):
    return g * _sinh(x)


@triton.jit
def _tanh(x):
    return tanh(x)


@triton.jit
def _tanh_grad(g, x, y):
    return g * (1 - y * y)


@triton.jit
def _sigmoid(x):
    return 1 / (1 + tl.exp(-x))


@triton.jit
def _sigmoid_grad(g, x, y):
    return g * y * (1 - y)


@triton.jit
def _relu(x):
    return tl.maximum(x, tl.full(x.shape, 0, x.dtype), propagate_nan=_NAN_ALL)  # relu(nan): nan


@triton.jit
def _relu_grad(g, x, y):
    return tl.where(y <= 0, 0, g).to(g.dtype)  # passes where the output is not <= 0 (nan too)


@triton.jit
def _reciprocal(x):
    return fdiv(tl.full(x.shape, 1, x.dtype), x)


@triton.jit
def _reciprocal_grad(g, x, y):
    return -g * y * y


@triton.jit
def _square(x):
    return x * x


@triton.jit
def _square_grad(g, x, y):
    return 2 * g * x


@triton.jit
def _sign(x):
    # sign(0) = 0 and sign(nan) = 0, as PyTorch's
    return tl.where(x > 0, 1, tl.where(x < 0, -1, 0)).to(x.dtype)


@triton.jit
def _floor(x):
    return tl.floor(x)


@triton.jit
def _ceil(x):
    return tl.ceil(x)


@triton.jit
def _round(x):
    return rint(x)  # half to even, as NumPy and PyTorch


@triton.jit
def _trunc(x):
    return trunc(x)


@triton.jit
def _erf(x):
    return tl.erf(x)


@triton.jit
def _erf_grad(g, x, y):
    return g * _TWO_OVER_SQRT_PI * tl.exp(-x * x)


@triton.jit
def _gelu(x):
    return 0.5 * x * (1 + tl.erf(x * _INV_SQRT_2))


@triton.jit
def _gelu_grad(g, x, y):
    # d/dx x * Phi(x) = Phi(x) + x * phi(x)
    cdf = 0.5 * (1 + tl.erf(x * _INV_SQRT_2))
    return g * (cdf + x * tl.exp(-0.5 * x * x) * _INV_SQRT_2PI)


@triton.jit
def _gelu_tanh(x):
    inner = _GELU_TANH_BETA * (x + _GELU_TANH_KAPPA * x * x * x)
    return 0.5 * x * (1 + tanh(inner))


@triton.jit
def _gelu_tanh_grad(g, x, y):
    x_sq = x * x
    t = tanh(_GELU_TANH_BETA * (x + _GELU_TANH_KAPPA * x_sq * x))
    left = 0.5 * (1 + t)
    right = 0.5 * x * (1 - t * t) * _GELU_TANH_BETA * (1 + 3 * _GELU_TANH_KAPPA * x_sq)
    return g * (left + right)


@triton.jit
def _silu(x):
    return x * _sigmoid(x)


@triton.jit
def _silu_grad(g, x, y):
    s = _sigmoid(x)
    return g * s * (1 + x * (1 - s))


@triton.jit
def _zero_grad(g, x, y):
    return tl.zeros_like(g)  # zeros even where g is inf or nan, as PyTorch


@triton.jit
def _identity(x):
    return x


# op -> (forward, gradient); gradient None: not differentiable.
UNARY = {
    "neg": (_neg, _neg_grad), "abs": (_abs, _abs_grad), "exp": (_exp, _exp_grad),
    "log": (_log, _log_grad), "log1p": (_log1p, _log1p_grad), "expm1": (_expm1, _expm1_grad),
    "sinh": (_sinh, _sinh_grad), "cosh": (_cosh, _cosh_grad),
    "sqrt": (_sqrt, _sqrt_grad), "rsqrt": (_rsqrt, _rsqrt_grad), "sin": (_sin, _sin_grad),
    "cos": (_cos, _cos_grad), "tanh": (_tanh, _tanh_grad), "sigmoid": (_sigmoid, _sigmoid_grad),
    "relu": (_relu, _relu_grad), "reciprocal": (_reciprocal, _reciprocal_grad),
    "square": (_square, _square_grad), "sign": (_sign, _zero_grad),
    "sgn": (_sign, _zero_grad),  # (sign on real numbers)
    "floor": (_floor, _zero_grad), "ceil": (_ceil, _zero_grad),
    "round": (_round, _zero_grad), "trunc": (_trunc, _zero_grad),
    "erf": (_erf, _erf_grad), "gelu": (_gelu, _gelu_grad),
    "gelu_tanh": (_gelu_tanh, _gelu_tanh_grad), "silu": (_silu, _silu_grad),
}
# Unary ops that integer tensors keep (the others are computed in floating point).
UNARY_INT = {
    "neg": _neg, "abs": _abs, "relu": _relu, "square": _square, "sign": _sign, "sgn": _sign,
    "floor": _identity, "ceil": _identity, "round": _identity, "trunc": _identity,
}


# The inverse trigonometric functions, other bases, the special functions... (math_more.py).
from . import math_more as _more  # noqa: E402

UNARY.update(_more.UNARY)

# The scaled and order-1 Bessel functions and erfcx of torch.special (special_more.py).
from . import special_more as _special  # noqa: E402

UNARY.update(_special.UNARY)
