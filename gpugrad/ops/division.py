"""Division: ``div`` (true, or rounded with ``rounding_mode``), ``divide``, ``true_divide``,
``floor_divide``, ``remainder``, ``fmod`` and the ``//``, ``%`` operators. True division is
arithmetic's ``Div`` node. Rounded division (no gradient, as in PyTorch), ``remainder`` and
``fmod`` are the array module's own functions (``floor_divide``, ``remainder``, ``fmod``: exact,
Python's floor-division algorithm for floats, as PyTorch's kernels), except division rounded
toward zero of floats, which is ``trunc(a / b)`` as PyTorch computes it.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ._broadcast import raise_broadcast_error
from ._util import Tensor, data_as, operator_method, result_dtype, scalar_or_tensor
from .arithmetic import Div, _div, _number_input
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
        raise dt.not_implemented_for(f"div_{rounding_mode}_{_device_type(input, other)}", rt)
    if rt.np.kind in "iu" or rounding_mode == "floor":
        return RoundedDiv.apply(scalar_or_tensor(input), scalar_or_tensor(other), rt,
                                rounding_mode)
    return _UNARY["trunc"](_div(input, other).detach())


def true_divide(input, other) -> Tensor:
    """``div`` without rounding: ``input / other``, integers to the default float dtype."""
    return _div(input, other)


def _operands(a, b, out_dtype):
    """The arrays (or numbers) of ``a`` and ``b`` in ``out_dtype``, the array module, and the
    tensor among them; integer division by zero is PyTorch's error."""
    t = a if isinstance(a, Tensor) else b
    xp = t._backend.xp
    ad, bd = data_as(a, out_dtype.np), data_as(b, out_dtype.np)
    if out_dtype.np.kind in "iu" and bool(xp.any(xp.asarray(bd) == 0)):  # (a host read, as
        raise RuntimeError("ZeroDivisionError")  # PyTorch's CPU check)
    return ad, bd, xp, t


def _exactly(fn, a, b, out_dtype, xp):
    """``fn(a, b)`` of the array module in ``out_dtype`` (bfloat16 through float32)."""
    if out_dtype.np.kind == "V":  # (a number rounded to bfloat16 first, as PyTorch's)
        a, b = (xp.asarray(x, dtype=out_dtype.np).astype(np.float32) for x in (a, b))
    try:
        out = fn(a, b)
    except ValueError:
        raise_broadcast_error(a, b)
    return xp.asarray(out).astype(out_dtype.np, copy=False)


class RoundedDiv(Function):
    """Rounded division: of integers, exact integer arithmetic (a float detour loses digits
    past 2**24 in float32); floored, of floats, the array module's ``floor_divide`` (Python's
    algorithm from ``fmod``, as PyTorch's, not ``floor(a / b)``, which is off where ``b`` is
    inexact: ``1.0 // 0.1`` is 9). No gradient flows through rounding."""

    @staticmethod
    def forward(ctx, a, b, out_dtype, rounding_mode):
        ad, bd, xp, t = _operands(a, b, out_dtype)
        if rounding_mode == "trunc":  # (integers) a - fmod(a, b) is an exact multiple of b
            ad = _exactly(xp.subtract, ad, _exactly(xp.fmod, ad, bd, out_dtype, xp), out_dtype,
                          xp)
        out = t._new(_exactly(xp.floor_divide, ad, bd, out_dtype, xp))
        ctx.mark_non_differentiable(out)
        return out


class Remainder(Function):
    """``remainder`` (Python's ``%``: the sign of ``other``) or, with ``op`` ``"fmod"``, C's
    ``fmod`` (the sign of ``input``): the array module's exact functions. The gradient is
    ``grad`` for ``input`` and ``-grad * q`` for ``other``, ``q`` the quotient rounded toward
    minus infinity (``remainder``) or zero (``fmod``)."""

    node_name = "RemainderBackward0"

    @staticmethod
    def forward(ctx, a, b, out_dtype, op):
        ad, bd, xp, t = _operands(a, b, out_dtype)
        ctx.operands, ctx.rounding = (a, b), "floor" if op == "remainder" else "trunc"
        mod = _exactly(xp.fmod, ad, bd, out_dtype, xp)
        if op == "remainder" and out_dtype.np.kind not in "iu":
            # PyTorch's: fmod, moved by one ``b`` where its sign is not ``b``'s (a zero keeps
            # fmod's sign; NumPy's remainder would give it ``b``'s)
            adjust = (mod != 0) & ((xp.asarray(bd) < 0) != (mod < 0))
            mod = xp.where(adjust, _exactly(xp.add, mod, bd, out_dtype, xp), mod)
        elif op == "remainder":
            mod = _exactly(xp.remainder, ad, bd, out_dtype, xp)
        return t._new(xp.asarray(mod).astype(out_dtype.np, copy=False))

    @staticmethod
    def backward(ctx, grad):
        need_a, need_b = ctx.needs_input_grad[:2]
        a, b = ctx.operands
        gb = -grad * div(a, b, rounding_mode=ctx.rounding) if need_b else None
        return (grad if need_a else None), gb, None, None


class RemainderTensor(Remainder):
    node_name = "RemainderBackward1"  # (PyTorch's node where ``other`` is a tensor)


class Fmod(Remainder):
    node_name = "FmodBackward0"


class FmodTensor(Remainder):
    node_name = "FmodBackward1"


def _remainder(input, other, op: str) -> Tensor:
    a, b = scalar_or_tensor(input), scalar_or_tensor(other)
    rt = result_dtype(a, b)
    if rt.np.kind == "b":
        raise dt.not_implemented_for(f"{op}_{_device_type(a, b)}", rt)
    tensor_other = isinstance(b, Tensor)
    cls = {("remainder", False): Remainder, ("remainder", True): RemainderTensor,
           ("fmod", False): Fmod, ("fmod", True): FmodTensor}[op, tensor_other]
    return cls.apply(a, b, rt, op)


def _device_type(a, b) -> str:
    """``cpu`` or ``cuda``, as PyTorch's kernel names end."""
    t = a if isinstance(a, Tensor) else b
    return "cuda" if t.device.type == "cuda" else "cpu"


def floor_divide(input, other) -> Tensor:
    return div(input, other, rounding_mode="floor")


def remainder(input, other) -> Tensor:
    """Python's ``%``: the result has the sign of ``other``."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("remainder(): at least one argument must be a Tensor")
    return _remainder(input, other, "remainder")


def fmod(input, other) -> Tensor:
    """C's ``fmod``: the remainder of truncated division; the result has the sign of
    ``input``."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fmod(): argument 'input' must be Tensor, not {type(input).__name__}")
    return _remainder(input, other, "fmod")


__all__ = ["div", "divide", "true_divide", "floor_divide", "remainder", "fmod"]
divide = div


METHODS = {
    "div": div, "divide": div, "true_divide": true_divide, "floor_divide": floor_divide,
    "remainder": remainder, "fmod": fmod,
    "__floordiv__": operator_method(floor_divide),
    "__rfloordiv__": operator_method(floor_divide, reflected=True),
    "__mod__": operator_method(remainder), "__rmod__": operator_method(remainder, reflected=True),
}
