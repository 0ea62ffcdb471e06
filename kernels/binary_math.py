"""The Triton expression of every binary formula in ``gpugrad/backend/formulas.py``, of the
comparisons, bitwise ops, ``where`` and ``clamp``.

Binary gradients take ``(g, a, b, out)`` (whichever of a, b, out the op saved; scalars arrive as
0-d values) and return one operand's gradient in the output's broadcast shape.
"""

from __future__ import annotations

import triton
import triton.language as tl

from ._common import fdiv
from ._math import pow

_NAN_ALL = tl.constexpr(tl.PropagateNan.ALL)


# ------------------------------------------------ binary ops: forward, then gradients
# A gradient is (g, a, b, out) -> the gradient of one operand, in the output's (broadcast)
# shape; None in the table: the gradient is g itself (no pass needed).
@triton.jit
def _add(a, b):
    return a + b


@triton.jit
def _sub(a, b):
    return a - b


@triton.jit
def _neg_g(g, a, b, out):
    return -g


@triton.jit
def _mul(a, b):
    return a * b


@triton.jit
def _mul_grad_a(g, a, b, out):
    return g * b


@triton.jit
def _mul_grad_b(g, a, b, out):
    return g * a


@triton.jit
def _div(a, b):
    return fdiv(a, b)


@triton.jit
def _div_grad_a(g, a, b, out):
    return fdiv(g, b)


@triton.jit
def _div_grad_b(g, a, b, out):
    return fdiv(-g * a, b * b)


@triton.jit
def _pow(a, b):
    return pow(a, b)


@triton.jit
def _pow_grad_a(g, a, b, out):
    # d/da a**b = b * a**(b-1); 0 where b == 0, even at a == 0 (PyTorch)
    return tl.where(b == 0, 0, g * b * pow(a, b - 1))


@triton.jit
def _pow_grad_b(g, a, b, out):
    # d/db a**b = a**b * log(a); 0 where a == 0 and b >= 0 instead of nan (PyTorch)
    grad = g * out * tl.log(a)
    return tl.where(a == 0, tl.where(b >= 0, 0, grad), grad)  # nested: a may be a scalar


@triton.jit
def _maximum(a, b):
    return tl.maximum(a, b, propagate_nan=_NAN_ALL)


@triton.jit
def _minimum(a, b):
    return tl.minimum(a, b, propagate_nan=_NAN_ALL)


@triton.jit
def _max_grad(g, a, b):
    # ties split the gradient evenly, as PyTorch
    return tl.where(a > b, g, tl.where(a == b, g * 0.5, 0))


@triton.jit
def _maximum_grad_a(g, a, b, out):
    return _max_grad(g, a, b)


@triton.jit
def _maximum_grad_b(g, a, b, out):
    return _max_grad(g, b, a)


# op -> (forward, gradient of a, gradient of b): the ops of ``formulas.BINARY`` (a test checks).
BINARY = {
    "add": (_add, None, None), "sub": (_sub, None, _neg_g), "mul": (_mul, _mul_grad_a, _mul_grad_b),
    "div": (_div, _div_grad_a, _div_grad_b), "pow": (_pow, _pow_grad_a, _pow_grad_b),
    "maximum": (_maximum, _maximum_grad_a, _maximum_grad_b),
    "minimum": (_minimum, _maximum_grad_b, _maximum_grad_a),
}
BINARY_INT = {"add": _add, "sub": _sub, "mul": _mul, "maximum": _maximum, "minimum": _minimum}


# ------------------------------------------------------------------------------ bitwise
@triton.jit
def _bitwise_and(a, b):
    return a & b


@triton.jit
def _bitwise_or(a, b):
    return a | b


@triton.jit
def _bitwise_xor(a, b):
    return a ^ b


@triton.jit
def _left_shift(a, b):
    # A shift by a negative amount or by the width or more is undefined in LLVM: PyTorch gives 0.
    out_of_range = (b < 0) | (b >= a.dtype.primitive_bitwidth)
    return tl.where(out_of_range, 0, a << tl.where(out_of_range, 0, b)).to(a.dtype)


@triton.jit
def _right_shift(a, b):
    # Out of range (as above): PyTorch fills with the sign, -1 or 0.
    out_of_range = (b < 0) | (b >= a.dtype.primitive_bitwidth)
    return tl.where(out_of_range, tl.where(a < 0, -1, 0),
                    a >> tl.where(out_of_range, 0, b)).to(a.dtype)


BITWISE = {"bitwise_and": _bitwise_and, "bitwise_or": _bitwise_or, "bitwise_xor": _bitwise_xor,
           "bitwise_left_shift": _left_shift, "bitwise_right_shift": _right_shift}


# ------------------------------------------------------------------ comparisons, logic
@triton.jit
def _eq(a, b):
    return a == b


@triton.jit
def _ne(a, b):
    return a != b


@triton.jit
def _lt(a, b):
    return a < b


@triton.jit
def _le(a, b):
    return a <= b


@triton.jit
def _gt(a, b):
    return a > b


@triton.jit
def _ge(a, b):
    return a >= b


@triton.jit
def _truth(a):
    return (a != 0).to(tl.int8)  # int8: the interpreter cannot mix bool blocks and scalars


@triton.jit
def _logical_and(a, b):
    return (_truth(a) & _truth(b)) != 0


@triton.jit
def _logical_or(a, b):
    return (_truth(a) | _truth(b)) != 0


@triton.jit
def _logical_xor(a, b):
    return (_truth(a) ^ _truth(b)) != 0


COMPARE = {
    "eq": _eq, "ne": _ne, "lt": _lt, "le": _le, "gt": _gt, "ge": _ge,
    "logical_and": _logical_and, "logical_or": _logical_or, "logical_xor": _logical_xor,
}


# ---------------------------------------------------------------------- where, clamp
@triton.jit
def where(c, a, b):
    return tl.where(c, a, b)


@triton.jit
def clamp_min(x, lo):
    return tl.maximum(x, lo, propagate_nan=_NAN_ALL)


@triton.jit
def clamp_max(x, hi):
    return tl.minimum(x, hi, propagate_nan=_NAN_ALL)


@triton.jit
def clamp_both(x, lo, hi):
    # max first, then min: with lo > hi every value becomes hi, as NumPy and PyTorch
    return tl.minimum(tl.maximum(x, lo, propagate_nan=_NAN_ALL), hi, propagate_nan=_NAN_ALL)


@triton.jit
def clamp_min_grad(g, x, lo):
    return tl.where(x >= lo, g, 0)


@triton.jit
def clamp_max_grad(g, x, hi):
    return tl.where(x <= hi, g, 0)


@triton.jit
def clamp_both_grad(g, x, lo, hi):
    return tl.where((x >= lo) & (x <= hi), g, 0)


# atan2, hypot, copysign, fmax/fmin, logaddexp, xlogy... (binary_math_more.py).
from . import binary_math_more as _more  # noqa: E402

BINARY.update(_more.BINARY)
BINARY_INT.update(_more.BINARY_INT)
