"""``round`` with ``decimals`` (PyTorch's ``RoundBackward1``; ``decimals=0`` is the unary op of
``elementwise.py``) and ``frexp`` (mantissa and exponent)."""

from __future__ import annotations

from .. import _dtype as dt
from ..autograd.function import Function
from ._return_types import result as _result
from ._util import Tensor, check_tensor, math_ns
from .elementwise import FUNCTIONS
from .inplace import _apply

__all__ = ["round", "frexp"]


class RoundDecimals(Function):
    node_name = "RoundBackward1"

    @staticmethod
    def forward(ctx, x, decimals):
        xp, d = x._backend.xp, x._data
        # As PyTorch: x * 10**decimals rounded half to even and scaled back, in x's dtype
        # (a negative ``decimals`` divides first).
        scale = xp.asarray(10.0 ** abs(decimals), dtype=d.dtype)
        out = xp.round(d * scale) / scale if decimals > 0 else xp.round(d / scale) * scale
        return x._new(out.astype(d.dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        return math_ns().zeros_like(grad), None


def round(input: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    """Round half to even; with ``decimals``, to that many decimal places (negative: tens,
    hundreds...)."""
    check_tensor(input, "round")
    if decimals == 0:
        return FUNCTIONS["round"](input)
    if not isinstance(decimals, int):
        raise TypeError(f"round(): argument 'decimals' must be int, not {type(decimals).__name__}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(
            f"\"round_cpu\" not implemented for '{dt.SCALAR_TYPE_NAMES[input.dtype.name]}'")
    return RoundDecimals.apply(input, decimals)


def _round_(self: Tensor, *, decimals: int = 0) -> Tensor:
    return _apply(self, lambda s: round(s, decimals=decimals), (), adopt_output=True)


frexp_result = _result("frexp", "mantissa exponent")


class Frexp(Function):
    """The mantissa of ``x = mantissa * 2**exponent`` (``|mantissa|`` in [0.5, 1)), picked from
    what ``frexp`` computed: one output, as PyTorch's ``FrexpBackward0`` (the int exponent is
    not among the node's outputs). Its gradient is ``grad / 2**exponent``."""

    node_name = "FrexpBackward0"

    @staticmethod
    def forward(ctx, x, mantissa, exponent):
        if ctx.needs_input_grad[0]:  # (recorded: otherwise nothing reads it)
            ctx.save_for_backward(exponent)
        return Tensor._make(mantissa, x._backend)

    @staticmethod
    def backward(ctx, grad):
        (exponent,) = ctx.saved_tensors
        return grad / math_ns().pow(2.0, exponent).to(grad.dtype), None, None


def frexp(input: Tensor):
    """The mantissa and the (int32) exponent of each element: ``input = m * 2**e``."""
    check_tensor(input, "frexp")
    if not input.dtype.is_floating_point:
        raise RuntimeError("torch.frexp() only supports floating-point dtypes")
    backend = input._backend
    mantissa, exponent = backend.xp.frexp(input._data)
    exponent = Tensor._make(exponent.astype(dt.int32.np), backend)
    return frexp_result(Frexp.apply_unary(input, mantissa, exponent), exponent)


METHODS = {"round": round, "round_": _round_, "frexp": frexp}
