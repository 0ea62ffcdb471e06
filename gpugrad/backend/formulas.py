"""Elementwise math written once, for arrays and for Tensors alike.

Each formula takes a math namespace ``m`` first: the array module (``numpy`` or ``cupy``) when
the NumPy twin runs it on arrays, or ``gpugrad`` itself when a backward must be differentiable
(``create_graph=True``) and runs it on Tensors. Both namespaces spell these functions the same
way, so one line of math serves the twin and the double-backward path, and the Triton kernels in
``kernels/`` are checked against the twin.

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
    float_only: bool = True  # integer inputs are promoted to the default float dtype


class BinaryFormula(NamedTuple):
    forward: Callable  # (m, a, b) -> out
    grad_a: Callable | None  # (m, g, a, b, out) -> ga
    grad_b: Callable | None  # (m, g, a, b, out) -> gb


def _sigmoid(m, x):
    return 1 / (1 + m.exp(-x))


UNARY: dict[str, UnaryFormula] = {
    "neg": UnaryFormula(lambda m, x: -x, lambda m, g, x, y: -g, float_only=False),
    "abs": UnaryFormula(lambda m, x: m.abs(x), lambda m, g, x, y: g * m.sign(x), float_only=False),
    "exp": UnaryFormula(lambda m, x: m.exp(x), lambda m, g, x, y: g * y),
    "log": UnaryFormula(lambda m, x: m.log(x), lambda m, g, x, y: g / x),
    "log1p": UnaryFormula(lambda m, x: m.log1p(x), lambda m, g, x, y: g / (x + 1)),
    "expm1": UnaryFormula(lambda m, x: m.expm1(x), lambda m, g, x, y: g * (y + 1)),
    "sqrt": UnaryFormula(lambda m, x: m.sqrt(x), lambda m, g, x, y: g / (2 * y)),
    "rsqrt": UnaryFormula(lambda m, x: 1 / m.sqrt(x), lambda m, g, x, y: g * (-0.5) * y * y * y),
    "sin": UnaryFormula(lambda m, x: m.sin(x), lambda m, g, x, y: g * m.cos(x)),
    "cos": UnaryFormula(lambda m, x: m.cos(x), lambda m, g, x, y: -g * m.sin(x)),
    "tanh": UnaryFormula(lambda m, x: m.tanh(x), lambda m, g, x, y: g * (1 - y * y)),
    "sigmoid": UnaryFormula(_sigmoid, lambda m, g, x, y: g * y * (1 - y)),
    "relu": UnaryFormula(
        lambda m, x: m.where(x > 0, x, 0), lambda m, g, x, y: m.where(y > 0, g, 0), float_only=False
    ),
    "reciprocal": UnaryFormula(lambda m, x: 1 / x, lambda m, g, x, y: -g * y * y),
    "square": UnaryFormula(lambda m, x: x * x, lambda m, g, x, y: 2 * g * x, float_only=False),
    "sign": UnaryFormula(lambda m, x: m.sign(x), lambda m, g, x, y: g * 0, float_only=False),
    "floor": UnaryFormula(lambda m, x: m.floor(x), lambda m, g, x, y: g * 0, float_only=False),
    "ceil": UnaryFormula(lambda m, x: m.ceil(x), lambda m, g, x, y: g * 0, float_only=False),
    "round": UnaryFormula(lambda m, x: m.round(x), lambda m, g, x, y: g * 0, float_only=False),
    "trunc": UnaryFormula(lambda m, x: m.trunc(x), lambda m, g, x, y: g * 0, float_only=False),
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
        lambda m, a, b: a * b, lambda m, g, a, b, o: g * b, lambda m, g, a, b, o: g * a
    ),
    "div": BinaryFormula(
        lambda m, a, b: a / b, lambda m, g, a, b, o: g / b, lambda m, g, a, b, o: -g * o / b
    ),
    "pow": BinaryFormula(lambda m, a, b: a**b, _pow_grad_base, _pow_grad_exponent),
    "maximum": BinaryFormula(
        lambda m, a, b: m.maximum(a, b), _max_grad, lambda m, g, a, b, o: _max_grad(m, g, b, a, o)
    ),
    "minimum": BinaryFormula(
        lambda m, a, b: m.minimum(a, b),
        lambda m, g, a, b, o: _max_grad(m, g, b, a, o),
        _max_grad,
    ),
}

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
}
