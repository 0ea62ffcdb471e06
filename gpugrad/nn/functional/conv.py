"""Sliding windows: ``unfold`` / ``fold`` and the convolutions built on them, ``conv1d`` and
``conv2d``,
 (pooling, built on the same windows, is in ``pooling.py``).

``unfold`` (im2col) and ``fold`` (col2im) are ops (``ops/conv.py``), each other's adjoint:
convolution is ``unfold`` followed by a (batched) matmul with the weight, average pooling
``unfold`` followed by a mean over the kernel positions, and their gradients, double backward
included, come from those ops (max pooling is its own op, folding its gradient back).
"""

from __future__ import annotations

import math

from ... import _dtype as dt
from ..._warnings import warn_user_once
from ...ops._util import Tensor, check_tensor, wrap_dim
from ...ops.conv import Fold, Geometry, Unfold, kernel_too_large

__all__ = ["unfold", "fold", "conv1d", "conv2d", "conv3d"]


def _ntuple(value, name: str, dims: int) -> tuple:
    """An int or ``dims`` ints as a tuple of ``dims`` non-negative ints."""
    tup = tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims
    if len(tup) != dims or not all(isinstance(v, int) and not isinstance(v, bool) for v in tup):
        what = "a pair of ints" if dims == 2 else f"a {dims}-tuple of ints"
        raise TypeError(f"{name} must be an int or {what}, got {value!r}")
    if any(v < 0 for v in tup):
        raise RuntimeError(f"{name} must be non-negative, got {value!r}")
    return tup


def _pair(value, name: str) -> tuple:
    """An int or a pair of ints as a pair of non-negative ints."""
    return _ntuple(value, name, 2)


def _triple(value, name: str) -> tuple:
    """An int or three ints as a triple of non-negative ints."""
    return _ntuple(value, name, 3)


def _symmetric(padding) -> tuple:
    """Per-dim padding as (before, after) per dim: (top, bottom, left, right) in 2-D."""
    return tuple(p for q in padding for p in (q, q))


_LAYOUT = {2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def check_dtypes(input: Tensor, weight: Tensor, bias, bias_first: bool = True) -> None:
    """PyTorch's dtype errors of a convolution: the bias's against the input first (a
    transposed convolution checks it last), then the weight's."""
    cpp, names = dt.CPP_TYPE_NAMES, dt.SCALAR_TYPE_NAMES
    bias_differs = bias is not None and bias.dtype != input.dtype
    if bias_first and bias_differs:
        raise RuntimeError(f"Input type ({cpp[input.dtype.name]}) and bias type "
                           f"({cpp[bias.dtype.name]}) should be the same")
    for other in (weight, bias if bias_differs else weight):
        if other.dtype != input.dtype:
            raise RuntimeError(f"expected scalar type {names[input.dtype.name]} but found "
                               f"{names[other.dtype.name]}")


def _check_image(input: Tensor, fn: str, dims: int = 2, floats_only: bool = True) -> None:
    check_tensor(input, fn)
    if input.dim() != dims + 2:
        raise RuntimeError(f"{fn}: expected a {dims + 2}-D {_LAYOUT[dims]} input, got "
                           f"{input.dim()}-D")
    if floats_only and not input.is_floating_point():
        raise RuntimeError(f"{fn}: expected a floating-point input, got {input.dtype}")


def check_conv_dtype(input: Tensor, dims: int, dilated: bool, transposed: bool) -> None:
    """The integer convolutions PyTorch computes: on the CPU, every integer dtype (not bool)
    undilated, only int64 dilated or transposed; none on a GPU. Its error names the kernel
    that lacks the dtype. (An empty input is never refused.)"""
    d = input.dtype
    if d.is_floating_point or input.numel() == 0:
        return
    if input.device.type != "cpu":
        kernel = f"slow_conv{dims}d_cuda"
    elif transposed:
        kernel = None if d == dt.int64 else f"slow_conv_transpose{dims}d_out_cpu"
    elif dilated:
        kernel = None if d == dt.int64 else "slow_conv_dilated<>"
    elif d == dt.bool:
        kernel = "compute_columns3d" if dims == 3 else "slow_conv2d_cpu"
    else:
        kernel = None
    if kernel is not None:
        raise dt.not_implemented_for(kernel, d)


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Every kernel-sized window of ``input`` (N, C, H, W), or unbatched (C, H, W), as a
    column: (N, C*kh*kw, L) or (C*kh*kw, L), L the number of windows (im2col)."""
    check_tensor(input, "unfold")
    if input.dim() < 3:  # (PyTorch reads its dims 1 and 2 first)
        wrap_dim(2 if input.dim() == 2 else 1, input.dim())
    if input.dim() not in (3, 4):
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with possibly 0 batch size "
                           f"and other non-zero dimensions for input, but got: "
                           f"{list(input.shape)}")
    if not input.is_floating_point():
        raise dt.not_implemented_for("im2col_out_cpu", input.dtype)
    if input.dim() == 3:
        return unfold(input.unsqueeze(0), kernel_size, dilation, padding, stride).squeeze(0)
    geo = Geometry(input.shape[2:], _pair(kernel_size, "kernel_size"),
                    _pair(dilation, "dilation"), _symmetric(_pair(padding, "padding")),
                    _pair(stride, "stride"))
    return Unfold.apply(input, geo, 0.0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns (N, C*kh*kw, L) (or unbatched (C*kh*kw, L)) back into an image of
    ``output_size`` (col2im: the adjoint of ``unfold``)."""
    check_tensor(input, "fold")
    batched = input.dim() == 3
    if input.dim() not in (2, 3):
        raise RuntimeError(f"fold: expected a 2-D or 3-D input, got {input.dim()}-D")
    cols = input if batched else input.unsqueeze(0)
    geo = Geometry(_pair(output_size, "output_size"), _pair(kernel_size, "kernel_size"),
                    _pair(dilation, "dilation"), _symmetric(_pair(padding, "padding")),
                    _pair(stride, "stride"))
    kk = geo.kernel[0] * geo.kernel[1]
    if cols.shape[1] % kk or cols.shape[2] != geo.out[0] * geo.out[1]:
        raise RuntimeError(
            f"fold: expected input of shape (N, C * {kk}, {geo.out[0] * geo.out[1]}) for "
            f"output_size={geo.hw}, kernel_size={geo.kernel}, got {list(input.shape)}"
        )
    out = Fold.apply(cols, geo)
    return out if batched else out.squeeze(0)


def _check_groups(weight: Tensor, groups) -> None:
    """PyTorch's checks of ``groups`` against the weight's output channels."""
    if not isinstance(groups, int) or groups < 1:
        raise RuntimeError("non-positive groups is not supported")
    if weight.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(weight.shape)}] "
                           "instead")


def invalid_padding(padding: str) -> RuntimeError:
    """PyTorch's error for a functional convolution's padding string other than ``'same'`` and
    ``'valid'`` (the modules refuse one at construction, with a ValueError)."""
    return RuntimeError(f"Invalid padding string: '{padding}'")


def _conv_pads(padding, hw, kernel, dilation, stride) -> tuple:
    """(before, after) per dim for an int/tuple padding, ``'valid'`` or ``'same'`` (extra
    padding at the end when the total is odd, as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0) * len(kernel)
        if padding != "same":
            raise invalid_padding(padding)
        if any(s != 1 for s in stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]
            if total % 2:  # one side padded more: PyTorch's kernels pad a copy, and say so
                warn_user_once("Using padding='same' with even kernel lengths and odd dilation "
                               "may require a zero-padded copy of the input be created")
        return tuple(pads)
    return _symmetric(_ntuple(padding, "padding", len(kernel)))


def _conv(input: Tensor, weight: Tensor, bias, stride, padding, dilation, groups: int,
          dims: int, fn: str) -> Tensor:
    """Convolution over ``dims`` (2 or 3) spatial dims: ``unfold``, then a batched matmul per
    group."""
    check_tensor(input, fn)
    check_tensor(weight, fn, "weight")
    batched = input.dim() == dims + 2
    if input.dim() not in (dims + 1, dims + 2) or weight.dim() != dims + 2:
        raise RuntimeError(
            f"{fn}: expected a {dims + 1}-D or {dims + 2}-D input and a {dims + 2}-D weight, got "
            f"input of shape {list(input.shape)} and weight of shape {list(weight.shape)}"
        )
    x = input if batched else input.unsqueeze(0)
    out_ch, in_per_group, *kernel = weight.shape
    _check_groups(weight, groups)
    _check_channels(x, weight, groups)
    check_dtypes(input, weight, bias)
    if bias is not None and tuple(bias.shape) != (out_ch,):
        raise RuntimeError(f"{fn}: expected bias of shape [{out_ch}], got {list(bias.shape)}")
    _check_image(x, fn, dims, floats_only=False)
    stride, dilation = _ntuple(stride, "stride", dims), _ntuple(dilation, "dilation", dims)
    check_conv_dtype(x, dims, max(dilation) > 1, transposed=False)
    kernel = tuple(kernel)
    geo = Geometry(x.shape[2:], kernel, dilation,
                   _conv_pads(padding, x.shape[2:], kernel, dilation, stride), stride)
    n, positions = x.shape[0], math.prod(geo.out)
    cols = Unfold.apply(x, geo, 0.0)  # (N, C*prod(kernel), L)
    k = in_per_group * geo.positions
    w = weight.reshape(groups, out_ch // groups, k)
    out = w.matmul(cols.reshape(n, groups, k, positions))  # (N, groups, O/groups, L)
    out = out.reshape(n, out_ch, *geo.out)
    if bias is not None:
        out = out + bias.reshape(1, out_ch, *(1,) * dims)
    return out if batched else out.squeeze(0)


def _check_channels(x: Tensor, weight: Tensor, groups: int) -> None:
    """PyTorch's error for a batched input ``x`` whose channels the weight does not take."""
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {weight.shape[1] * groups} channels, but got {x.shape[1]} "
            "channels instead"
        )


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch) of ``input`` (N, C, H, W) or (C, H, W)
    with ``weight`` (O, C/groups, kh, kw), plus ``bias`` (O,)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """3-D convolution of ``input`` (N, C, D, H, W) or (C, D, H, W) with ``weight``
    (O, C/groups, kd, kh, kw), plus ``bias`` (O,)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 3, "conv3d")


# ------------------------------------------------------------------- 1-D: a 1 x L image
def _single(value, name: str) -> int:
    """An int, or a one-element tuple/list of one, as an int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise TypeError(f"{name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return value


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution of ``input`` (N, C, L) or (C, L) with ``weight`` (O, C/groups, k)."""
    check_tensor(input, "conv1d")
    check_tensor(weight, "conv1d", "weight")
    if weight.dim() != 3 or input.dim() not in (2, 3):
        raise RuntimeError(
            f"conv1d: expected a 2-D or 3-D input and a 3-D weight, got input of shape "
            f"{list(input.shape)} and weight of shape {list(weight.shape)}"
        )
    stride2, dilation2 = (1, _single(stride, "stride")), (1, _single(dilation, "dilation"))
    if isinstance(padding, str) and padding not in ("same", "valid"):
        raise invalid_padding(padding)
    pad2 = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    # PyTorch's errors name the 1-D shapes (the 2-D convolution below would name its own)
    x = input if input.dim() == 3 else input.unsqueeze(0)
    _check_groups(weight, groups)
    _check_channels(x, weight, groups)
    if padding != "same" and isinstance(dilation2[1], int):
        padded = x.shape[-1] + (0 if padding == "valid" else 2 * pad2[1])
        reach = dilation2[1] * (weight.shape[-1] - 1) + 1
        if padded < reach:
            raise kernel_too_large((padded,), (reach,))
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, stride2, pad2, dilation2,
                 groups)
    return out.squeeze(-2)
