"""Elementwise math written once, for arrays and for Tensors alike: the one place an
elementwise op is defined.

Each formula takes a math namespace ``m`` first: the array module (``numpy`` or ``cupy``) when
the NumPy twin runs it on arrays, or ``gpugrad`` itself when a backward must be differentiable
(``create_graph=True``) and runs it on Tensors. Both namespaces spell these functions the same
way, so one line of math serves the twin and the double-backward path, and the Triton kernels in
``kernels/`` (``unary_math.py``, ``binary_math.py``: one entry per op here, a test holds the
tables equal) are checked against the twin.

An entry also says what its gradient reads (what the op saves for backward); from that the op
layer generates the rest: the ``Function`` class, its node, the public function, the Tensor
method and the in-place method (``ops/elementwise.py``, ``ops/arithmetic.py``).

Gradient formulas return the gradient in the broadcast shape of the op's output; the autograd
engine sums it back to each input's shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple


class UnaryFormula(NamedTuple):
    forward: Callable  # (m, x) -> y
    grad: Callable | None  # (m, g, x, y) -> gx; None: not differentiable
    saves: str = ""  # what ``grad`` reads: "x" (the input), "y" (the output) or nothing
    float_only: bool = True  # integer inputs are promoted to the default float dtype
    node: str = ""  # PyTorch's node name when it is not "<Op>Backward0"
    public: bool = True  # gpugrad.<op>, Tensor.<op> and Tensor.<op>_; False: nn.functional's
    # PyTorch's node for the gradient where ``grad`` masks by what it saves: under create_graph
    # the gradient stays a recorded function of that tensor (``ops/_grad_of_input.py``)
    grad_node: str = ""


class BinaryFormula(NamedTuple):
    forward: Callable  # (m, a, b) -> out
    grad_a: Callable | None  # (m, g, a, b, out) -> ga
    grad_b: Callable | None  # (m, g, a, b, out) -> gb
    # What each gradient reads of "a", "b" and the output "o" (what the op saves).
    reads: tuple[str, str] = ("", "")


# Forwards that are exactly one function of the array module, by its name there: the NumPy
# backend calls that function directly, saving the formula's call on every small op.
UNARY_XP = {op: op for op in ("exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh",
                              "sinh", "cosh", "abs", "floor", "ceil", "trunc")}
BINARY_XP = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "true_divide",
             "pow": "power", "maximum": "maximum", "minimum": "minimum"}


def _sign(m, x):
    s = m.sign(x)
    return m.where(s != s, 0, s)  # sign(nan) is 0 in PyTorch (NumPy's is nan)


def _zero_grad(m, g, x, y):
    return m.zeros_like(g)  # zeros even where g is inf or nan, as PyTorch


def _sigmoid(m, x):
    return 1 / (1 + m.exp(-x))


UNARY: dict[str, UnaryFormula] = {
    "neg": UnaryFormula(lambda m, x: -x, lambda m, g, x, y: -g, float_only=False),
    "abs": UnaryFormula(lambda m, x: m.abs(x), lambda m, g, x, y: g * _sign(m, x), "x",
                        float_only=False),
    "exp": UnaryFormula(lambda m, x: m.exp(x), lambda m, g, x, y: g * y, "y"),
    "log": UnaryFormula(lambda m, x: m.log(x), lambda m, g, x, y: g / x, "x"),
    "log1p": UnaryFormula(lambda m, x: m.log1p(x), lambda m, g, x, y: g / (x + 1), "x",
                          node="Log1PBackward0"),
    "expm1": UnaryFormula(lambda m, x: m.expm1(x), lambda m, g, x, y: g * (y + 1), "y"),
    "sqrt": UnaryFormula(lambda m, x: m.sqrt(x), lambda m, g, x, y: g / (2 * y), "y"),
    "rsqrt": UnaryFormula(lambda m, x: 1 / m.sqrt(x), lambda m, g, x, y: g * (-0.5) * y * y * y,
                          "y"),
    "sin": UnaryFormula(lambda m, x: m.sin(x), lambda m, g, x, y: g * m.cos(x), "x"),
    "cos": UnaryFormula(lambda m, x: m.cos(x), lambda m, g, x, y: -g * m.sin(x), "x"),
    "tanh": UnaryFormula(lambda m, x: m.tanh(x), lambda m, g, x, y: g * (1 - y * y), "y"),
    "sinh": UnaryFormula(lambda m, x: m.sinh(x), lambda m, g, x, y: g * m.cosh(x), "x"),
    "cosh": UnaryFormula(lambda m, x: m.cosh(x), lambda m, g, x, y: g * m.sinh(x), "x"),
    "sigmoid": UnaryFormula(_sigmoid, lambda m, g, x, y: g * y * (1 - y), "y"),
    # As PyTorch: relu(nan) = nan, and the gradient passes wherever the output is not <= 0.
    "relu": UnaryFormula(lambda m, x: m.maximum(x, 0), lambda m, g, x, y: m.where(y <= 0, 0, g),
                         "y", float_only=False, grad_node="ThresholdBackwardBackward0"),
    "reciprocal": UnaryFormula(lambda m, x: 1 / x, lambda m, g, x, y: -g * y * y, "y"),
    "square": UnaryFormula(lambda m, x: x * x, lambda m, g, x, y: 2 * g * x, "x",
                           float_only=False, node="PowBackward0"),
    "sign": UnaryFormula(_sign, _zero_grad, float_only=False),
    "floor": UnaryFormula(lambda m, x: m.floor(x), _zero_grad, float_only=False),
    "ceil": UnaryFormula(lambda m, x: m.ceil(x), _zero_grad, float_only=False),
    "round": UnaryFormula(lambda m, x: m.round(x), _zero_grad, float_only=False),
    "trunc": UnaryFormula(lambda m, x: m.trunc(x), _zero_grad, float_only=False),
}


def _max_grad(m, g, a, b, out):
    # PyTorch splits the gradient evenly between equal operands.
    return m.where(a > b, g, m.where(a == b, g * 0.5, 0))


def _is_scalar(x) -> bool:
    return not hasattr(x, "shape")


def _pow_grad_base(m, g, a, b, out):
    # d/da a**b = b * a**(b-1); PyTorch gives 0 where b == 0, even at a == 0.
    if _is_scalar(b):
        return g * 0 if b == 0 else g * b * a ** (b - 1)
    return m.where(b == 0, 0, g * b * a ** (b - 1))


def _pow_grad_exponent(m, g, a, b, out):
    # d/db a**b = a**b * log(a); PyTorch masks a == 0 with b >= 0 to 0 instead of nan.
    if _is_scalar(a):
        if a == 0:
            return m.where(b >= 0, 0, g * out * -math.inf)
        return g * out * (math.log(a) if a > 0 else math.nan)
    return m.where((a == 0) & (b >= 0), 0, g * out * m.log(a))


BINARY: dict[str, BinaryFormula] = {
    "add": BinaryFormula(lambda m, a, b: a + b, lambda m, g, a, b, o: g, lambda m, g, a, b, o: g),
    "sub": BinaryFormula(lambda m, a, b: a - b, lambda m, g, a, b, o: g, lambda m, g, a, b, o: -g),
    "mul": BinaryFormula(
        lambda m, a, b: a * b, lambda m, g, a, b, o: g * b, lambda m, g, a, b, o: g * a,
        reads=("b", "a"),
    ),
    "div": BinaryFormula(
        # As PyTorch, d/db reads a and b (not the output): an in-place op on the quotient
        # must not invalidate the graph.
        lambda m, a, b: a / b, lambda m, g, a, b, o: g / b,
        lambda m, g, a, b, o: -g * a / (b * b), reads=("b", "ab"),
    ),
    "pow": BinaryFormula(lambda m, a, b: a**b, _pow_grad_base, _pow_grad_exponent,
                         reads=("ab", "abo")),
    "maximum": BinaryFormula(
        lambda m, a, b: m.maximum(a, b), _max_grad, lambda m, g, a, b, o: _max_grad(m, g, b, a, o),
        reads=("ab", "ab"),
    ),
    "minimum": BinaryFormula(
        lambda m, a, b: m.minimum(a, b),
        lambda m, g, a, b, o: _max_grad(m, g, b, a, o),
        _max_grad, reads=("ab", "ab"),
    ),
}

def clamp_grad(m, g, x, lo, hi):
    """The gradient of ``clamp(x, lo, hi)`` (a bound may be None): ``g`` where ``x`` is within
    the bounds, else 0 (0 at NaN)."""
    if lo is None:
        inside = x <= hi
    else:
        inside = x >= lo if hi is None else (x >= lo) & (x <= hi)
    return m.where(inside, g, 0)


# Comparisons and logical ops: bool results, no gradient.
COMPARE: dict[str, Callable] = {
    "eq": lambda m, a, b: a == b,
    "ne": lambda m, a, b: a != b,
    "lt": lambda m, a, b: a < b,
    "le": lambda m, a, b: a <= b,
    "gt": lambda m, a, b: a > b,
    "ge": lambda m, a, b: a >= b,
    "logical_and": lambda m, a, b: m.logical_and(a, b),
    "logical_or": lambda m, a, b: m.logical_or(a, b),
    "logical_xor": lambda m, a, b: m.logical_xor(a, b),
}

# Bitwise ops on integer and bool tensors: results in the promoted dtype, no gradient.
BITWISE: dict[str, Callable] = {
    "bitwise_and": lambda m, a, b: m.bitwise_and(a, b),
    "bitwise_or": lambda m, a, b: m.bitwise_or(a, b),
    "bitwise_xor": lambda m, a, b: m.bitwise_xor(a, b),
    # NumPy's shifts give PyTorch's results for shifts out of range (negative or at least the
    # width): 0 to the left, the sign to the right.
    "bitwise_left_shift": lambda m, a, b: m.left_shift(a, b),
    "bitwise_right_shift": lambda m, a, b: m.right_shift(a, b),
}


# ---------------------------------------------------------------------------- nn activations
# erf has no NumPy (or gpugrad) function: W. J. Cody's rational approximations (Math. Comp. 1969,
# as in his CALERF), accurate to ~2e-16 in float64. Each range runs on inputs clamped into that
# range, so no branch produces inf or nan (which ``where`` would turn into nan gradients when the
# formula runs on Tensors for double backward).
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_ERF_SMALL, _ERF_BIG = 0.46875, 4.0
_INV_SQRT_PI = 0.56418958354775628695
_TWO_OVER_SQRT_PI = 1.12837916709551257390
_INV_SQRT_2 = 0.70710678118654752440
_INV_SQRT_2PI = 0.39894228040143267794
_GELU_TANH_BETA = 0.79788456080286535588  # sqrt(2 / pi)
_GELU_TANH_KAPPA = 0.044715


def _erf(m, x):
    # Past |x| = 4, erfc(|x|) < 1.6e-8 and 1 - erfc rounds to 1 in float32 (and narrower) as
    # it does from the middle range's erfc(4): only float64 needs the far tail's formula.
    small, erfc, y = _erf_parts(m, x, far_tail=x.dtype.itemsize >= 8)
    return m.where(y <= _ERF_SMALL, small, m.sign(x) * (1 - erfc))


def _erf_parts(m, x, far_tail: bool = True):
    """erf(x) for |x| <= 0.46875, erfc(|x|) past it, and |x|. Without ``far_tail``, erfc past
    |x| = 4 is erfc(4) (a third less work, for ``erf`` in float32)."""
    y = m.abs(x)
    # |x| <= 0.46875: erf(x) = x * A(x^2) / B(x^2)
    xs = m.minimum(m.maximum(x, -_ERF_SMALL), _ERF_SMALL)
    z = xs * xs
    num, den = _ERF_A[4] * z, z
    for a, b in zip(_ERF_A[:3], _ERF_B[:3]):
        num, den = (num + a) * z, (den + b) * z
    small = xs * (num + _ERF_A[3]) / (den + _ERF_B[3])
    # 0.46875 < |x| <= 4: erfc(|x|) = exp(-x^2) * C(|x|) / D(|x|)
    ym = m.minimum(m.maximum(y, _ERF_SMALL), _ERF_BIG)
    num, den = _ERF_C[8] * ym, ym
    for c, d in zip(_ERF_C[:7], _ERF_D[:7]):
        num, den = (num + c) * ym, (den + d) * ym
    erfc_mid = m.exp(-ym * ym) * (num + _ERF_C[7]) / (den + _ERF_D[7])
    if not far_tail:
        return small, erfc_mid, y
    # |x| > 4: erfc(|x|) = exp(-x^2) / |x| * (1/sqrt(pi) + R(1/x^2) / x^2)
    yb = m.maximum(y, _ERF_BIG)
    z = 1 / (yb * yb)
    num, den = _ERF_P[5] * z, z
    for p, q in zip(_ERF_P[:4], _ERF_Q[:4]):
        num, den = (num + p) * z, (den + q) * z
    erfc_big = m.exp(-yb * yb) * (_INV_SQRT_PI - z * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / yb
    return small, m.where(y <= _ERF_BIG, erfc_mid, erfc_big), y


def _gelu(m, x):
    return 0.5 * x * (1 + _erf(m, x * _INV_SQRT_2))


def _gelu_grad(m, g, x, y):
    # d/dx x*Phi(x) = Phi(x) + x*phi(x)
    cdf = 0.5 * (1 + _erf(m, x * _INV_SQRT_2))
    return g * (cdf + x * m.exp(-0.5 * x * x) * _INV_SQRT_2PI)


def _gelu_tanh(m, x):
    inner = _GELU_TANH_BETA * (x + _GELU_TANH_KAPPA * x * x * x)
    return 0.5 * x * (1 + m.tanh(inner))


def _gelu_tanh_grad(m, g, x, y):
    # PyTorch's GeluBackward with approximate='tanh', term by term.
    x_sq = x * x
    t = m.tanh(_GELU_TANH_BETA * (x + _GELU_TANH_KAPPA * x_sq * x))
    left_derivative = 0.5 * (1 + t)
    right_derivative = 0.5 * x * (1 - t * t) * _GELU_TANH_BETA * (1 + 3 * _GELU_TANH_KAPPA * x_sq)
    return g * (left_derivative + right_derivative)


def _silu_grad(m, g, x, y):
    s = _sigmoid(m, x)
    return g * s * (1 + x * (1 - s))


UNARY.update({
    "erf": UnaryFormula(_erf, lambda m, g, x, y: g * _TWO_OVER_SQRT_PI * m.exp(-x * x), "x"),
    "gelu": UnaryFormula(_gelu, _gelu_grad, "x", public=False),
    "gelu_tanh": UnaryFormula(_gelu_tanh, _gelu_tanh_grad, "x", node="GeluBackward0",
                              public=False),
    "silu": UnaryFormula(lambda m, x: x * _sigmoid(m, x), _silu_grad, "x", public=False),
})


# The inverse trigonometric and hyperbolic functions, other bases, the special functions and more
# binary math: their own module, merged here so that this stays the one table.
from .formulas_math import (  # noqa: E402
    BINARY_MATH,
    BINARY_MATH_XP,
    UNARY_MATH,
    UNARY_MATH_XP,
)

UNARY.update(UNARY_MATH)
UNARY_XP.update(UNARY_MATH_XP)
BINARY.update(BINARY_MATH)
BINARY_XP.update(BINARY_MATH_XP)

# The differentiable special functions of torch.special that formulas_math lacks (i1, i0e...).
from .formulas_special import UNARY_SPECIAL  # noqa: E402

UNARY.update(UNARY_SPECIAL)
