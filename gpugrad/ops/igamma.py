"""The regularized incomplete gamma functions ``igamma`` (P(a, x), ``special.gammainc``) and
``igammac`` (Q(a, x) = 1 - P, ``special.gammaincc``), their Tensor methods and in-place forms.

As PyTorch, both are differentiable in ``other`` (x) only: dP/dx = x^(a-1) e^-x / Gamma(a), and
backward raises for ``input`` (a). The values come from ``backend/formulas_igamma.py``,
computed in float64 for every floating dtype and rounded once.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ..backend.formulas_igamma import regularized_gamma
from . import elementwise
from ._broadcast import raise_broadcast_error
from ._inplace_graph import same_device
from ._util import Tensor
from .inplace import inplace_method
from .math_nograd import _torch_name

_unary = elementwise.FUNCTIONS


def _values(a: Tensor, x: Tensor, upper: bool) -> Tensor:
    xp = a._backend.xp
    try:
        shape = np.broadcast_shapes(a._data.shape, x._data.shape)
    except ValueError as e:
        raise_broadcast_error(a, x, e)
    with np.errstate(all="ignore"):
        out = regularized_gamma(xp, a._data.astype(np.float64), x._data.astype(np.float64),
                                upper)
    return a._new(xp.broadcast_to(out, shape).astype(a._data.dtype))


def _density(a: Tensor, x: Tensor) -> Tensor:
    """x^(a-1) e^-x / Gamma(a), written with Tensor ops (so it is differentiable itself)."""
    return _unary["exp"]((a - 1) * _unary["log"](x) - x - _unary["lgamma"](a))


class Igamma(Function):
    """P(a, x); ``Igammac`` is Q = 1 - P, whose gradient in x is the density's negative."""

    node_name = "IgammaBackward0"
    upper = False

    @staticmethod
    def forward(ctx, a, x):
        ctx.save_for_backward(a, x)
        return _values(a, x, upper=ctx.upper)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        if ctx.needs_input_grad[0]:
            name = "igammac" if ctx.upper else "igamma"
            raise NotImplementedError(f"the derivative for '{name}: input' is not implemented.")
        density = _density(a, x)
        return None, -grad * density if ctx.upper else grad * density


class Igammac(Igamma):
    node_name = "IgammacBackward0"
    upper = True


def _operands(name: str, kernel: str, input, other):
    for value, arg, pos in ((input, "input", 1), (other, "other", 2)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{name}(): argument '{arg}' (position {pos}) must be Tensor, not "
                            f"{type(value).__name__}")
    other = same_device(input, other)
    if not isinstance(other, Tensor):  # a 0-d tensor of another device, read as a number
        other = Tensor._make(input._backend.xp.asarray(other), input._backend)
    dtype = dt.result_type(input, other)
    if not dtype.is_floating_point:
        raise NotImplementedError(
            f'"{kernel}_{input.device.type}" not implemented for \'{_torch_name(dtype)}\'')
    return input.to(dtype), other.to(dtype)


def igamma(input: Tensor, other: Tensor) -> Tensor:
    """The regularized lower incomplete gamma function P(input, other); differentiable in
    ``other`` only."""
    return Igamma.apply(*_operands("igamma", "igamma", input, other))


def igammac(input: Tensor, other: Tensor) -> Tensor:
    """The regularized upper incomplete gamma function Q(input, other) = 1 - P; differentiable
    in ``other`` only."""
    return Igammac.apply(*_operands("igammac", "igammac", input, other))


def gammainc(input: Tensor, other: Tensor) -> Tensor:
    """``torch.special.gammainc``: ``igamma``."""
    return Igamma.apply(*_operands("special_gammainc", "igamma", input, other))


def gammaincc(input: Tensor, other: Tensor) -> Tensor:
    """``torch.special.gammaincc``: ``igammac``."""
    return Igammac.apply(*_operands("special_gammaincc", "igammac", input, other))


METHODS = {"igamma": igamma, "igammac": igammac,
           "igamma_": inplace_method(igamma, "igamma"),
           "igammac_": inplace_method(igammac, "igammac")}

__all__ = ["igamma", "igammac"]
