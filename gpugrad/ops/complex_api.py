"""PyTorch's complex-number API on gpugrad's tensors, which are all real: ``conj``,
``conj_physical`` (and ``conj_physical_``), ``resolve_conj``, ``resolve_neg`` and ``real`` give
the tensor itself, as PyTorch's do for a real tensor; ``imag`` raises PyTorch's error; ``angle``
is 0 for a number >= 0 and pi for a negative one (NaN stays NaN), with a zero gradient.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ._inplace_graph import needs_graph
from ._util import Tensor, check_tensor

__all__ = ["conj", "conj_physical", "conj_physical_", "resolve_conj", "resolve_neg", "real",
           "imag", "angle"]


def _itself(name: str):
    def fn(input: Tensor) -> Tensor:
        return check_tensor(input, name)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"``input`` itself: a real tensor is its own ``{name}`` (as in PyTorch)."
    return fn


conj = _itself("conj")
conj_physical = _itself("conj_physical")
resolve_conj = _itself("resolve_conj")
resolve_neg = _itself("resolve_neg")
real = _itself("real")


def conj_physical_(input: Tensor) -> Tensor:
    """``input`` itself, unchanged, after an in-place op's checks (a leaf that requires grad
    is refused, as by PyTorch)."""
    needs_graph(check_tensor(input, "conj_physical_"))
    return input


def imag(input: Tensor) -> Tensor:
    """An error, as PyTorch's for a real tensor (gpugrad has no complex dtypes)."""
    check_tensor(input, "imag")
    raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")


class Angle(Function):
    """The argument of a real number: pi where it is negative, else 0 (NaN kept); a step
    function, so its gradient is zero."""

    node_name = "AngleBackward0"

    @staticmethod
    def forward(ctx, x, np_dtype):
        d = x._data
        xp = x._backend.xp
        out = xp.where(d < 0, math.pi, xp.where(d != d, d, 0)).astype(np_dtype, copy=False)
        return x._new(out)

    @staticmethod
    def backward(ctx, grad):
        return grad.new_zeros(grad.shape), None  # (not grad * 0: a NaN gradient gives 0)


def angle(input: Tensor) -> Tensor:
    """The argument of each element: pi for negative numbers, 0 otherwise (NaN stays NaN).
    Integer and bool inputs give the default float dtype."""
    check_tensor(input, "angle")
    kind = input._data.dtype.kind
    np_dtype = input._data.dtype if kind in dt.FLOAT_KINDS else dt.get_default_dtype().np
    return Angle.apply(input, np.dtype(np_dtype))


METHODS = {
    "conj": conj, "conj_physical": conj_physical, "conj_physical_": conj_physical_,
    "resolve_conj": resolve_conj, "resolve_neg": resolve_neg, "angle": angle,
    "real": property(real), "imag": property(imag),
}
