"""Activation functions: ``relu``, ``leaky_relu``, ``gelu``, ``silu``, ``sigmoid``, ``tanh``,
``softmax``, ``log_softmax``.

GELU and SiLU are entries of ``backend/formulas.UNARY`` (not public as ``gpugrad.gelu``): their
ops are generated in ``ops/elementwise.py`` like ``exp``'s.
"""

from __future__ import annotations

from ... import _dtype as dt
from ...ops import elementwise
from ...ops import softmax as _softmax_ops
from ...ops._util import Tensor, check_tensor
from ...ops.layers import LeakyRelu
from ._pointwise import maybe_in_place

__all__ = ["relu", "relu_", "leaky_relu", "leaky_relu_", "gelu", "silu", "sigmoid", "tanh",
           "softmax", "log_softmax"]


def _float_input(input, fn: str, kernel: str) -> Tensor:
    """``input``, checked to be a floating-point Tensor (``kernel``: PyTorch's CPU kernel,
    which its error names)."""
    check_tensor(input, fn)
    if not input.is_floating_point():
        raise dt.not_implemented_for(kernel, input.dtype)
    return input


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(input, 0)`` elementwise; with ``inplace``, written into ``input`` (returned)."""
    check_tensor(input, "relu")
    return input.relu_() if inplace else input.relu()


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``x * Phi(x)`` (Phi the standard normal CDF, through erf), or its tanh approximation
    with ``approximate='tanh'``."""
    _float_input(input, "gelu", "GeluKernelImpl")
    if approximate == "none":
        return elementwise.FUNCTIONS["gelu"](input)
    if approximate == "tanh":
        return elementwise.FUNCTIONS["gelu_tanh"](input)
    raise RuntimeError(f"approximate argument must be either none or tanh. Got {approximate}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``x * sigmoid(x)`` (also called swish); with ``inplace``, written into ``input``."""
    _float_input(input, "silu", "silu_cpu")
    return maybe_in_place(input, inplace, elementwise.FUNCTIONS["silu"])


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x``; with ``inplace``, written into
    ``input``."""
    _float_input(input, "leaky_relu", "leaky_relu_cpu")
    return maybe_in_place(input, inplace, lambda x: LeakyRelu.apply(x, float(negative_slope)))


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    return leaky_relu(input, negative_slope, inplace=True)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def sigmoid(input: Tensor) -> Tensor:
    """``1 / (1 + exp(-x))``."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``dim`` (each slice sums to 1)."""
    return _softmax_ops.softmax_any_dim(input, dim, dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype=None) -> Tensor:
    """``log(softmax(x))`` along ``dim``, computed stably as ``x - logsumexp(x)``."""
    return _softmax_ops.log_softmax_any_dim(input, dim, dtype=dtype)

