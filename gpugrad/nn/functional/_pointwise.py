"""Helpers of the activations written as composites of Tensor ops."""

from __future__ import annotations

from ... import _dtype as dt
from ...ops._util import Tensor, check_tensor, math_ns
from ...ops.inplace import _apply as write_in_place

__all__ = ["float_only", "maybe_in_place", "log1p_exp"]


def float_only(input, fn: str, kernel: str) -> Tensor:
    """``input``, checked to be a floating-point Tensor (``kernel`` names PyTorch's kernel in
    its message for other dtypes)."""
    check_tensor(input, fn)
    if not input.is_floating_point():
        raise NotImplementedError(
            f'"{kernel}" not implemented for \'{dt.SCALAR_TYPE_NAMES[input.dtype.name]}\'')
    return input


def maybe_in_place(input: Tensor, inplace: bool, compute) -> Tensor:
    """``compute(input)``; with ``inplace``, written into ``input`` and returned (the graph
    keeps a copy of the old values where ``compute`` saved them, as PyTorch's in-place
    activations do)."""
    return write_in_place(input, compute) if inplace else compute(input)


def log1p_exp(z: Tensor) -> Tensor:
    """``log(1 + exp(z))`` to rounding for every ``z``: past 40 it equals ``z`` in float64 and
    float32, and the clamp keeps ``exp`` (and its gradient) finite in the branch not taken."""
    return math_ns().where(z > 40, z, z.clamp(max=40).exp().log1p())
