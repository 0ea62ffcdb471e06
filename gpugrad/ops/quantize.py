"""Fake quantization, as quantization-aware training simulates integer arithmetic:
``fake_quantize_per_tensor_affine`` and ``fake_quantize_per_channel_affine``.

Each value is mapped to the integer code ``zero_point + round(x / scale)`` (``x`` times the
float32 reciprocal of ``scale``, rounded half to even), clamped to ``[quant_min, quant_max]``,
and mapped back: ``(code - zero_point) * scale``, computed as PyTorch's CPU kernel computes it
(the product in float32, or float64 for float64 input; the mapping back in float32). The
gradient passes unchanged where the code was not clamped and is zero where it was: PyTorch's
straight-through estimator, from the mask its ``...Cachemask`` node keeps.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from ._util import Tensor, check_tensor

__all__ = ["fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine"]


def _fake_quantized(xp, data, scale, zero_point, quant_min: int, quant_max: int):
    """The fake-quantized values of the array ``data`` and where their codes were in range;
    ``scale`` (float32) and ``zero_point`` (int64): numbers or arrays broadcast to ``data``."""
    wide = np.float64 if data.dtype == np.float64 else np.float32
    inverse = (np.float32(1) / xp.asarray(scale, np.float32)).astype(wide)
    codes = xp.rint(data.astype(wide) * inverse).astype(np.int64) + zero_point
    kept = (codes >= quant_min) & (codes <= quant_max)
    codes = xp.clip(codes, quant_min, quant_max)
    values = (codes - zero_point).astype(np.float32) * xp.asarray(scale, np.float32)
    return values.astype(data.dtype), kept


class FakeQuantize(Function):
    node_name = "FakeQuantizePerTensorAffineCachemaskBackward0"

    @staticmethod
    def forward(ctx, x, scale, zero_point, quant_min, quant_max):
        values, ctx.kept = _fake_quantized(x._backend.xp, x._data, scale, zero_point, quant_min,
                                           quant_max)
        return x._new(values)

    @staticmethod
    def backward(ctx, grad):
        return grad * grad._new(ctx.kept), None, None, None, None


class FakeQuantizeTensorQparams(FakeQuantize):
    node_name = "FakeQuantizePerTensorAffineCachemaskTensorQparamsBackward0"


class FakeQuantizePerChannel(FakeQuantize):
    node_name = "FakeQuantizePerChannelAffineCachemaskBackward0"


def _check_range(quant_min: int, quant_max: int) -> None:
    if quant_min > quant_max:  # (PyTorch's words, spaces included)
        raise RuntimeError("`quant_min` should be less than or         equal to `quant_max`.")


def fake_quantize_per_tensor_affine(input: Tensor, scale, zero_point, quant_min: int,
                                    quant_max: int) -> Tensor:
    """``input`` rounded to the grid of ``scale`` steps around ``zero_point`` and clamped to the
    codes ``[quant_min, quant_max]`` (see the module docstring); ``scale`` and ``zero_point``
    are numbers or one-element tensors."""
    check_tensor(input, "fake_quantize_per_tensor_affine")
    _check_range(quant_min, quant_max)
    cls = FakeQuantizeTensorQparams if isinstance(scale, Tensor) else FakeQuantize
    scale, zero_point = float(scale), int(zero_point)
    if not quant_min <= zero_point <= quant_max:
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
    return cls.apply(input, scale, zero_point, int(quant_min), int(quant_max))


def fake_quantize_per_channel_affine(input: Tensor, scale: Tensor, zero_point: Tensor,
                                     axis: int, quant_min: int, quant_max: int) -> Tensor:
    """``fake_quantize_per_tensor_affine`` with one ``scale`` and int32 ``zero_point`` per
    index of dim ``axis``."""
    check_tensor(input, "fake_quantize_per_channel_affine")
    _check_range(quant_min, quant_max)
    if zero_point.dtype.name != "int32":
        raise RuntimeError(f"Zero-point must be Int32, Float or Half, found "
                           f"{dt.SCALAR_TYPE_NAMES[zero_point.dtype.name]}")
    if not 0 <= axis < input.dim():  # (no negative dims, as PyTorch's)
        raise RuntimeError("`axis` must be between 0 and number of dimensions of input")
    if (scale.dim() != 1 or zero_point.shape != scale.shape
            or scale.shape[0] != input.shape[axis]):
        raise RuntimeError("dimensions of scale and zero-point are not consistent with input "
                           "tensor")
    zero_data = zero_point._data.astype(np.int64)
    if bool(((zero_data < quant_min) | (zero_data > quant_max)).any()):
        raise RuntimeError("`zero_point` must be between `quant_min` and `quant_max`.")
    along = (-1,) + (1,) * (input.dim() - axis - 1)  # (broadcast along ``axis``)
    return FakeQuantizePerChannel.apply(input, scale._data.reshape(along),
                                        zero_data.reshape(along), int(quant_min),
                                        int(quant_max))


METHODS: dict = {}
