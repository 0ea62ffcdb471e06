"""Piecewise activations, as composites of Tensor ops: ``hardtanh``, ``relu6``,
``hardsigmoid``, ``hardswish``, ``softshrink``, ``hardshrink``, ``threshold``, ``prelu``,
``rrelu`` (and the in-place ``hardtanh_``, ``threshold_``, ``rrelu_``).

Each is a ``where`` between its pieces, with the comparisons PyTorch's kernels use, so the
gradient at a breakpoint is PyTorch's too (e.g. ``hardtanh``'s is 0 at ``min_val``), and a
constant piece gets no gradient. ``hardtanh`` (and ``relu6``) is one node, as PyTorch's, whose
gradient stays a function of the input under ``create_graph`` (``ops/_grad_of_input.py``).
"""

from __future__ import annotations

import numpy as np

from ... import _dtype as dt
from ...autograd.function import Function
from ...autograd.grad_mode import no_grad
from ...ops._grad_of_input import keep_input
from ...ops._util import Tensor, check_tensor, math_ns
from ...sampling import rand_like
from ._pointwise import float_only, maybe_in_place
from .activation import leaky_relu

__all__ = ["hardtanh", "hardtanh_", "relu6", "hardsigmoid", "hardswish", "softshrink",
           "hardshrink", "threshold", "threshold_", "prelu", "rrelu", "rrelu_"]


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """``input`` clamped to ``[min_val, max_val]``; the gradient is 1 strictly inside, else 0."""
    check_tensor(input, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    if input.dtype.name == "bool":
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if not input.is_floating_point():
        return maybe_in_place(input, inplace, lambda x: x.clamp(min_val, max_val))
    return maybe_in_place(input, inplace, lambda x: Hardtanh.apply(x, min_val, max_val))


class Hardtanh(Function):
    """``input`` clamped to ``[min_val, max_val]`` (NaN stays NaN); the gradient passes
    strictly inside the bounds."""

    node_name = "HardtanhBackward0"

    @staticmethod
    def forward(ctx, x, min_val, max_val):
        ctx.save_for_backward(x)
        ctx.bounds = (min_val, max_val)
        xp, xd = x._backend.xp, x._data
        out = xp.where(xd <= min_val, min_val, xp.where(xd >= max_val, max_val, xd))
        return x._new(out.astype(xd.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        lo, hi = ctx.bounds
        grad_input = math_ns().where((x <= lo) | (x >= hi), 0.0, grad)
        return keep_input("HardtanhBackwardBackward0", grad_input, x), None, None


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)``."""
    return hardtanh(input, 0.0, 6.0, inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``relu6(x + 3) / 6``: 0 below -3, 1 above 3, linear between."""
    float_only(input, "hardsigmoid", "hardsigmoid_cpu")
    where = math_ns().where
    return maybe_in_place(input, inplace, lambda x: where(
        x <= -3, 0.0, where(x >= 3, 1.0, (x + 3) / 6)))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * relu6(x + 3) / 6``."""
    float_only(input, "hardswish", "hardswish_cpu")
    where = math_ns().where
    return maybe_in_place(input, inplace, lambda x: where(
        x < -3, 0.0, where(x <= 3, x * (x + 3) / 6, x)))


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd`` above ``lambd``, ``x + lambd`` below ``-lambd``, 0 between."""
    float_only(input, "softshrink", "softshrink_check")
    if lambd < 0:
        name = dt.SCALAR_TYPE_NAMES[input.dtype.name]
        raise RuntimeError(f"lambda must be in range [0, {np.finfo(input.dtype.np).max:g}] for "
                           f"input dtype {name}, but found {lambd:g}")
    where = math_ns().where
    return where(input > lambd, input - lambd, where(input < -lambd, input + lambd, 0.0))


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x`` where ``|x| > lambd``, else 0."""
    float_only(input, "hardshrink", "hardshrink_cpu")
    return math_ns().where((input >= -lambd) & (input <= lambd), 0.0, input)


def _threshold(input: Tensor, level: float, value: float, inplace: bool) -> Tensor:
    check_tensor(input, "threshold")
    where = math_ns().where
    return maybe_in_place(input, inplace, lambda x: where(x <= level, value, x))


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``x`` where ``x > threshold``, else ``value``."""
    return _threshold(input, threshold, value, inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    return _threshold(input, threshold, value, True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, else ``weight * x``, with one learned slope (``weight`` of one
    element) or one per channel (dim 1, ``weight`` of ``C`` elements)."""
    check_tensor(input, "prelu")
    check_tensor(weight, "prelu", "weight")
    if weight.dim() > 1:
        raise RuntimeError("prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.dim()}")
    if input.dtype != weight.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got "
                           f"{dt.SCALAR_TYPE_NAMES[input.dtype.name]} and "
                           f"{dt.SCALAR_TYPE_NAMES[weight.dtype.name]}")
    float_only(input, "prelu", "prelu_cpu")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {weight.numel()} and channel size = "
                           f"{channels}.")
    if weight.numel() == 1:
        slope = weight.reshape(())
    else:
        slope = weight.reshape((channels,) + (1,) * (input.dim() - 2))
    return math_ns().where(input > 0, input, slope * input)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: in training each non-positive entry is scaled by its own slope
    drawn from U(``lower``, ``upper``); otherwise ``leaky_relu`` with their mean."""
    return rrelu_with_generator(input, lower, upper, training, inplace, None)


def rrelu_with_generator(input: Tensor, lower: float, upper: float, training: bool,
                         inplace: bool, generator) -> Tensor:
    """``rrelu`` drawing its slopes from ``generator`` (``torch.rrelu`` takes one)."""
    float_only(input, "rrelu", "rrelu_with_noise_cpu")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return maybe_in_place(input, inplace,
                              lambda x: leaky_relu(x, (lower + upper) / 2))
    with no_grad():
        slope = rand_like(input, generator=generator) * (upper - lower) + lower
    where = math_ns().where
    return maybe_in_place(input, inplace, lambda x: where(x <= 0, x * slope, x))


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3,
           training: bool = False) -> Tensor:
    return rrelu(input, lower, upper, training, inplace=True)
