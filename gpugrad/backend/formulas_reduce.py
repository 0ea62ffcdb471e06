"""The gradient math of the reductions and of softmax, written once for arrays and Tensors.

As in ``formulas.py``, each formula takes a namespace ``m``: the NumPy twin (the backend's
``reduce_grad``) calls it with the array module, and the op calls it with ``gpugrad`` under
``create_graph=True``, so the backward is itself differentiable. One entry of ``REDUCE`` per op:
its gradient ``grad(m, r, g, x, y)`` and what that reads of the input ``x`` and the output ``y``
(what the op saves). ``g`` and ``y`` come in the kept shape (reduced dims as size 1; softmax's
have the input's shape); ``r`` is what the formula knows of the reduction (``Reduced``). A
gradient returned in the kept shape is broadcast to the input's shape by the caller; None means
no gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple


class Reduced(NamedTuple):
    """The reduction a gradient formula undoes."""

    ksum: Callable  # ksum(a): a summed over the reduced dims, keeping them
    count: int  # elements reduced into each output
    full: bool  # every dim reduced
    param: float | None = None  # the op's parameter: a norm's p, var's and std's correction


class ReduceFormula(NamedTuple):
    grad: Callable  # (m, r, g, x, y) -> gx
    saves: str  # what grad reads: "x", "y", "xy" or ""
    same_shape: bool = False  # the output has the input's shape (softmax): no kept shape


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


def _mean_grad(m, r, g, x, y):
    # count == 0 gives nan (0/0), as PyTorch's mean of an empty tensor does.
    return g * ((1.0 / r.count) if r.count else math.nan)


def _var_grad(m, r, g, x, y):
    return var_grad_math(m, g, x, r.ksum(x) / r.count, r.count - r.param, r.full)


def _std_grad(m, r, g, x, y):
    return std_grad_math(m, g, x, r.ksum(x) / r.count, y, r.count - r.param, r.full)


def _norm_grad(m, r, g, x, y):
    if r.param == 0:  # piecewise constant: PyTorch leaves the gradient undefined (None)
        return None
    return norm_grad_math(m, r.ksum, g, x, y, r.param)


REDUCE: dict[str, ReduceFormula] = {
    "sum": ReduceFormula(lambda m, r, g, x, y: g, ""),
    "mean": ReduceFormula(_mean_grad, ""),
    "amax": ReduceFormula(lambda m, r, g, x, y: amax_grad_math(m, r.ksum, g, x, y), "xy"),
    "amin": ReduceFormula(lambda m, r, g, x, y: amax_grad_math(m, r.ksum, g, x, y), "xy"),
    "var": ReduceFormula(_var_grad, "x"),
    "std": ReduceFormula(_std_grad, "xy"),
    "norm": ReduceFormula(_norm_grad, "xy"),
    "logsumexp": ReduceFormula(lambda m, r, g, x, y: logsumexp_grad_math(m, g, x, y), "xy"),
    "softmax": ReduceFormula(lambda m, r, g, x, y: softmax_grad_math(m, r.ksum, g, y, False),
                             "y", same_shape=True),
    "log_softmax": ReduceFormula(lambda m, r, g, x, y: softmax_grad_math(m, r.ksum, g, y, True),
                                 "y", same_shape=True),
}
