"""``roll``: entries shifted cyclically along dims."""

from __future__ import annotations

import numbers

from ..autograd.function import Function
from ._util import Tensor, check_tensor, grad_state, wrap_dim

__all__ = ["roll"]


class Roll(Function):
    """Forward rolls by ``shifts``; backward rolls the gradient back by ``-shifts``."""

    node_name = "RollBackward0"

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return x._new(x._backend.xp.roll(x._data, shifts, dims))

    @staticmethod
    def backward(ctx, grad):
        back = tuple(-s for s in ctx.shifts)
        if grad_state.enabled:
            return Roll.apply(grad, back, ctx.dims), None, None
        return grad._new(grad._backend.xp.roll(grad._data, back, ctx.dims)), None, None


def _ints(value, name: str) -> tuple:
    items = value if isinstance(value, (tuple, list)) else (value,)
    out = []
    for v in items:
        if isinstance(v, Tensor) and v.numel() == 1 and not v.is_floating_point():
            v = v.item()
        if not isinstance(v, numbers.Integral) or isinstance(v, bool):
            raise TypeError(f"roll(): argument '{name}' must be tuple of ints, not "
                            f"{type(v).__name__}")
        out.append(int(v))
    return tuple(out)


def roll(input: Tensor, shifts, dims=None) -> Tensor:
    """A copy of ``input`` with its entries shifted by ``shifts`` places along ``dims``,
    wrapping around at the ends (``shifts`` and ``dims`` are ints or equal-length tuples); with
    no ``dims``, along the flattened tensor, keeping the shape."""
    check_tensor(input, "roll")
    shifts = _ints(shifts, "shifts")
    dims = () if dims is None else _ints(dims, "dims")
    if not shifts:
        raise RuntimeError("`shifts` required")
    if not dims and len(shifts) == 1:
        return Roll.apply(input, shifts, None)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    ndim = input.dim()
    return Roll.apply(input, shifts, tuple(wrap_dim(d, ndim) for d in dims))


METHODS = {"roll": roll}
