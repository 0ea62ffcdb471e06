"""Division: ``div`` (true, or rounded with ``rounding_mode``), ``divide``, ``true_divide``,
``floor_divide``, ``remainder``, ``fmod`` and the ``//``, ``%`` operators. True division is
arithmetic's ``Div`` node; rounded division of floats rounds that quotient (no gradient, as in
PyTorch), of integers is exact integer arithmetic; ``remainder`` and ``fmod`` are composites.
"""

from __future__ import annotations

from ..autograd.function import Function
from ._broadcast import raise_broadcast_error
from ._util import Tensor, data_as, operator_method, result_dtype, scalar_or_tensor
from .arithmetic import Div, _div, _number_input, mul, sub
from .elementwise import FUNCTIONS as _UNARY


def rounding_mode_arg(rounding_mode, fn: str):
    """``rounding_mode`` checked as PyTorch's ``div`` does: None, ``"trunc"`` or ``"floor"``
    (bytes read as text, as PyTorch's argument parser does); another string is a
    RuntimeError, another type a TypeError."""
    if rounding_mode is None:
        return None
    if isinstance(rounding_mode, bytes):
        rounding_mode = rounding_mode.decode()
    if not isinstance(rounding_mode, str):
        raise TypeError(f"{fn}(): argument 'rounding_mode' must be str or None, not "
                        f"{type(rounding_mode).__name__}")
    if rounding_mode not in ("trunc", "floor"):
        raise RuntimeError(
            f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found "
            f"'{rounding_mode}'"
        )
    return rounding_mode


def div(input, other, *, rounding_mode=None) -> Tensor:
    """True division (integers divide to the default float dtype); ``rounding_mode`` in
    None, ``"trunc"``, ``"floor"`` (the rounded forms have no gradient, as in PyTorch)."""
    rounding_mode = rounding_mode_arg(rounding_mode, "div")
    if rounding_mode is None:
        return _div(input, other)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = _number_input(scalar_or_tensor(input, "input"), other, Div)
    rt = result_dtype(scalar_or_tensor(input), scalar_or_tensor(other))
    if rt.np.kind == "b":
        raise NotImplementedError(f"\"div_{rounding_mode}\" not implemented for 'Bool'")
    if rt.np.kind in "iu":
        return IntegerDiv.apply(scalar_or_tensor(input), scalar_or_tensor(other), rt,
                                rounding_mode)
    q = _div(input, other).detach()
    return _UNARY[rounding_mode](q)


def true_divide(input, other) -> Tensor:
    """``div`` without rounding: ``input / other``, integers to the default float dtype."""
    return _div(input, other)


class IntegerDiv(Function):
    """Rounded division of integers, exact in integer arithmetic (a float detour loses digits
    past 2**24 in float32). Integers carry no gradient."""


    @staticmethod
    def forward(ctx, a, b, out_dtype, rounding_mode):
        t = a if isinstance(a, Tensor) else b
        xp = t._backend.xp
        ad, bd = data_as(a, out_dtype.np), data_as(b, out_dtype.np)
        if bool(xp.any(xp.asarray(bd) == 0)):  # a host read, as PyTorch's CPU check
            raise RuntimeError("ZeroDivisionError")
        try:
            if rounding_mode == "trunc":  # a - fmod(a, b) is an exact multiple of b
                ad = ad - xp.fmod(ad, bd)
            q = xp.floor_divide(ad, bd)
        except ValueError:
            raise_broadcast_error(a, b)
        return t._new(xp.asarray(q, out_dtype.np))


def floor_divide(input, other) -> Tensor:
    return div(input, other, rounding_mode="floor")


def remainder(input, other) -> Tensor:
    """Python's ``%``: the result has the sign of ``other``."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("remainder(): at least one argument must be a Tensor")
    return sub(input, mul(floor_divide(input, other), other))


def fmod(input, other) -> Tensor:
    """C's ``fmod``: the remainder of truncated division; the result has the sign of
    ``input``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fmod(): argument 'input' must be Tensor, not {type(input).__name__}")
    return sub(input, mul(div(input, other, rounding_mode="trunc"), other))


__all__ = ["div", "divide", "true_divide", "floor_divide", "remainder", "fmod"]
divide = div


METHODS = {
    "div": div, "divide": div, "true_divide": true_divide, "floor_divide": floor_divide,
    "remainder": remainder, "fmod": fmod,
    "__floordiv__": operator_method(floor_divide),
    "__rfloordiv__": operator_method(floor_divide, reflected=True),
    "__mod__": operator_method(remainder), "__rmod__": operator_method(remainder, reflected=True),
}
