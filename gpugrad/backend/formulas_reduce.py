"""The gradient math of the reductions and of softmax, written once for arrays and Tensors.

As in ``formulas.py``, each function takes a namespace ``m``: the twins call them with the array
module, and ops call them with ``gpugrad`` under ``create_graph=True`` so the backward is itself
differentiable. ``ksum(a)`` sums ``a`` over the reduced axes, keeping them.
"""

from __future__ import annotations

import math


def amax_grad_math(m, ksum, g, x, out):
    """amax/amin/max(): ties share the gradient evenly; when the result is NaN, the NaNs tie."""
    mask = (x == out) | ((x != x) & (out != out))
    return m.where(mask, g / ksum(mask), 0)


def var_grad_math(m, g, x, mean, dof: float, full: bool):
    """d var / dx = 2 (x - mean) / dof, as PyTorch's var_backward (incl. its dof <= 0 cases)."""
    if full and dof <= 0:  # reduction over everything: inf, or nan where x == mean
        return g * m.where(x == mean, math.nan, math.inf)
    return (2.0 / dof if dof else math.inf) * g * (x - mean)


def std_grad_math(m, g, x, mean, std, dof: float, full: bool):
    """d std = d var / (2 std); PyTorch gives 0 (not nan) where std == 0."""
    # The zero is divided by a safe 1, not by 0: a nan masked by where would still poison the
    # second derivative (where's gradient is 0 * nan there).
    zero = std == 0
    return var_grad_math(m, m.where(zero, 0, g / (2 * m.where(zero, 1, std))), x, mean, dof, full)


def logsumexp_grad_math(m, g, x, out):
    return g * m.exp(x - out)


def norm_grad_math(m, ksum, g, x, norm, p: float):
    """Gradient of the vector p-norm, with PyTorch's choices at zero (0, never nan)."""
    if p == 1:
        return g * m.sign(x)
    if p == 2:
        zero = norm == 0
        return x * m.where(zero, 0, g / m.where(zero, 1, norm))
    if math.isinf(p):  # d max|x|: the entries at the norm (or NaN) share the gradient
        ax = m.abs(x)
        mask = (ax == norm) | (ax != ax)
        return m.sign(x) * ((g / ksum(mask)) * mask)
    if p < 1:
        scaled = m.sign(x) * m.where(x == 0, 0, m.abs(x) ** (p - 1))
        return scaled * g * norm ** (1 - p)
    scaled = m.sign(x) * m.abs(x) ** (p - 1) if p < 2 else x * m.abs(x) ** (p - 2)
    return scaled * m.where(norm == 0, 0, g / norm ** (p - 1))


def softmax_grad_math(m, ksum, g, y, log: bool):
    """Gradient of softmax (``y`` its output) or of log_softmax (``y`` its output)."""
    if log:
        return g - m.exp(y) * ksum(g)
    return y * (g - ksum(g * y))
