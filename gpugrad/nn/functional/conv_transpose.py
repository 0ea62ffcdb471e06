"""Transposed convolutions, ``conv_transpose1d``, ``conv_transpose2d`` and ``conv_transpose3d``:
the adjoint of ``conv2d`` / ``conv3d`` with respect to its input.

Convolution is ``unfold`` then a matmul with the weight; its adjoint is a matmul with the
transposed weight, giving one column of ``out_channels * kh * kw`` values per input position,
then ``fold`` (col2im), which sums each column into the output window it came from. The
output's windows are those of a convolution of the output back to the input's size: padding
``p`` is cropped from both ends, ``output_padding`` added at the end (rows that no column
reaches stay zero). Gradients and double backward come from ``matmul`` and ``Fold``.
"""

from __future__ import annotations

import math

from ...ops._util import Tensor, check_tensor
from ...ops.conv import Fold, Geometry
from .conv import _ntuple, _single, check_conv_dtype, check_dtypes
from .padding import pad

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d"]


def _check(x: Tensor, weight: Tensor, bias, groups) -> None:
    in_ch, out_per_group = weight.shape[:2]
    if not isinstance(groups, int) or groups < 1:
        raise RuntimeError(f"non-positive groups is not supported, got groups={groups}")
    if in_ch % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(weight.shape)}] "
                           "instead")
    if x.shape[1] != in_ch:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"input{list(x.shape)} to have {in_ch} channels, but got "
                           f"{x.shape[1]} channels instead")
    out_ch = out_per_group * groups
    if bias is not None and tuple(bias.shape) != (out_ch,):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected "
                           f"bias to be 1-dimensional with {out_ch} elements, but got bias of "
                           f"size {list(bias.shape)} instead")
    check_dtypes(x, weight, bias, bias_first=False)
    check_conv_dtype(x, max(x.dim() - 2, 2), False, transposed=True)  # (1-D runs as 2-D)


def _geometry(hw, kernel, stride, padding, output_padding, dilation) -> tuple:
    """The windows that fold the columns into the output, and the zero rows and columns
    ``output_padding`` adds past the last window's reach (where it exceeds ``padding``)."""
    if min(stride) < 1:
        raise RuntimeError("non-positive stride is not supported")
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        names = ("height", "width") if len(hw) == 2 else ("depth", "height", "width")
        got = [f"output_padding_{n}: {v}" for n, v in zip(names, output_padding)]
        got += [f"stride_{n}: {v}" for n, v in zip(names, stride)]
        got += [f"dilation_{n}: {v}" for n, v in zip(names, dilation)]
        raise RuntimeError("output padding must be smaller than either stride or dilation, but "
                           f"got {' '.join(got)}")
    size = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op in
                 zip(hw, stride, padding, dilation, kernel, output_padding))
    if min(size) < 0:
        raise RuntimeError(f"Given input size per channel: ({' x '.join(map(str, hw))}). "
                           f"Calculated output size per channel: ({' x '.join(map(str, size))})"
                           ". Output size is too small")
    extra = tuple(max(0, op - p) for op, p in zip(output_padding, padding))
    pads = tuple(q for p, op, e in zip(padding, output_padding, extra) for q in (p, p - op + e))
    geo = Geometry(tuple(n - e for n, e in zip(size, extra)), kernel, dilation, pads, stride)
    return geo, extra


def _conv_transpose(input: Tensor, weight: Tensor, bias, stride, padding, output_padding,
                    groups: int, dilation, dims: int) -> Tensor:
    fn = f"conv_transpose{dims}d"
    check_tensor(input, fn)
    check_tensor(weight, fn, "weight")
    if input.dim() not in (dims + 1, dims + 2):
        raise RuntimeError(f"Expected {dims + 1}D (unbatched) or {dims + 2}D (batched) input to "
                           f"{fn}, but got input of size: {list(input.shape)}")
    if weight.dim() != dims + 2:
        raise RuntimeError(f"{fn}: expected a {dims + 2}-D weight, got weight of shape "
                           f"{list(weight.shape)}")
    batched = input.dim() == dims + 2
    x = input if batched else input.unsqueeze(0)
    _check(x, weight, bias, groups)
    in_ch, out_per_group, *kernel = weight.shape
    geo, extra = _geometry(x.shape[2:], tuple(kernel), _ntuple(stride, "stride", dims),
                           _ntuple(padding, "padding", dims),
                           _ntuple(output_padding, "output_padding", dims),
                           _ntuple(dilation, "dilation", dims))
    n, per_group, positions = x.shape[0], in_ch // groups, math.prod(x.shape[2:])
    k = out_per_group * geo.positions
    w = weight.reshape(groups, per_group, k).transpose(1, 2)  # (groups, C_out/g * K, C_in/g)
    cols = w.matmul(x.reshape(n, groups, per_group, positions))
    out = Fold.apply(cols.reshape(n, groups * k, positions), geo)
    if any(extra):
        out = pad(out, tuple(q for e in reversed(extra) for q in (0, e)))
    if bias is not None:
        out = out + bias.reshape(1, -1, *(1,) * dims)
    return out if batched else out.squeeze(0)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution of ``input`` (N, C_in, H, W) or (C_in, H, W) with
    ``weight`` (C_in, C_out/groups, kh, kw), plus ``bias`` (C_out,): the gradient of
    ``conv2d`` with respect to its input. Output size per dim:
    ``(H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1``."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """3-D transposed convolution of ``input`` (N, C_in, D, H, W) or (C_in, D, H, W) with
    ``weight`` (C_in, C_out/groups, kd, kh, kw) (see ``conv_transpose2d``)."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 3)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1,
                     padding=0, output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution of ``input`` (N, C_in, L) or (C_in, L) with ``weight``
    (C_in, C_out/groups, k) (see ``conv_transpose2d``)."""
    check_tensor(input, "conv_transpose1d")
    check_tensor(weight, "conv_transpose1d", "weight")
    if input.dim() not in (2, 3):
        raise RuntimeError("Expected 2D (unbatched) or 3D (batched) input to conv_transpose1d, "
                           f"but got input of size: {list(input.shape)}")
    if weight.dim() != 3:
        raise RuntimeError(f"conv_transpose1d: expected a 3-D weight, got weight of shape "
                           f"{list(weight.shape)}")
    _check(input if input.dim() == 3 else input.unsqueeze(0), weight, bias, groups)
    out = conv_transpose2d(
        input.unsqueeze(-2), weight.unsqueeze(2), bias, (1, _single(stride, "stride")),
        (0, _single(padding, "padding")), (0, _single(output_padding, "output_padding")),
        groups, (1, _single(dilation, "dilation")))
    return out.squeeze(-2)
