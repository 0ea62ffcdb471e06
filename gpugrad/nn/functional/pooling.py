"""Pooling: the maximum or the mean of each window, in 1-D, 2-D and 3-D, on the windows of
``conv.py`` (a 1-D input is a one-row image; 2-D and 3-D share one path)."""

from __future__ import annotations

import math

from ... import _dtype as dt
from ..._dtype import int64
from ...ops._util import Tensor, check_tensor
from ...ops.conv import Geometry, MaxPool, MaxPool3, Unfold, max_positions
from .conv import _check_image, _ntuple, _pair, _single

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
           "max_unpool1d", "max_unpool2d", "max_unpool3d", "max_pool1d_with_indices",
           "max_pool2d_with_indices", "max_pool3d_with_indices"]


# The dtypes PyTorch's CPU pooling kernels take beyond the floating ones ("integer": all but
# bool; "int64": int64 only), and the kernel its error names where that is not the op.
_INTEGERS_TAKEN = {"max_pool2d": "integer", "max_pool3d": "integer", "avg_pool2d": "int64",
                   "avg_pool3d": "int64"}
_KERNEL_NAMES = {"max_pool1d": "max_pool1d_impl", "avg_pool3d": "avg_pool3d_out_frame",
                 "adaptive_max_pool1d": "adaptive_max_pool2d",
                 "adaptive_avg_pool1d": "adaptive_avg_pool2d",
                 "adaptive_max_pool3d": "adaptive_max_pool3d_cpu",
                 "adaptive_avg_pool3d": "adaptive_avg_pool3d_cpu"}


def check_pool_dtype(input: Tensor, fn: str) -> None:
    """PyTorch's refusal of a dtype its pooling kernel ``fn`` lacks (``NotImplementedError``)."""
    d = input.dtype
    if d.is_floating_point:
        return
    taken = _INTEGERS_TAKEN.get(fn)
    if (taken == "integer" and d.np.kind in "iu") or (taken == "int64" and d == int64):
        return
    raise dt.not_implemented_for(_KERNEL_NAMES.get(fn, fn), d)


def _pool_geometry(input: Tensor, fn: str, kernel_size, stride, padding, dilation, ceil_mode,
                   dims: int = 2):
    """The windows of a pooling. ``ceil_mode`` adds a partial last window where the input
    leaves one (starting inside the input or its left padding, as PyTorch): an extra pad at
    the end of each dim that no window's average counts."""
    _check_image(input, fn, dims, floats_only=False)
    check_pool_dtype(input, fn)
    kernel = _ntuple(kernel_size, "kernel_size", dims)
    stride = kernel if stride is None or stride == [] else _ntuple(stride, "stride", dims)
    padding, dilation = _ntuple(padding, "padding", dims), _ntuple(dilation, "dilation", dims)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise _too_much_padding(fn, padding, kernel, dilation)
    hw = input.shape[2:]
    extra = (_ceil_extra(n, k, d, p, s) for n, k, d, p, s in
             zip(hw, kernel, dilation, padding, stride)) if ceil_mode else (0,) * dims
    pads = tuple(q for p, e in zip(padding, extra) for q in (p, p + e))
    return Geometry(hw, kernel, dilation, pads, stride)


def _too_much_padding(fn: str, padding, kernel, dilation) -> RuntimeError:
    """PyTorch's error for padding over half a kernel: for a dilated max pooling, every dim's
    values in the order its C++ check prints them; otherwise the first dim that fails."""
    if fn.startswith("max_pool") and any(d != 1 for d in dilation):
        if len(kernel) == 2:
            (ph, pw), (kh, kw) = padding, kernel
            return RuntimeError(f"pad should be smaller than or equal to half of kernel size, "
                                f"but got padW = {pw}, padH = {ph}, kW = {kw}, kH = {kh}")
        (pt, ph, pw), (kt, kh, kw) = padding, kernel
        return RuntimeError(f"pad should be smaller than or equal to half of kernel size, but "
                            f"got kT: {kt} kW: {kw} kH: {kh} padT: {pt} padW: {pw} padH: {ph}")
    p, k, d = next((p, k, d) for p, k, d in zip(padding, kernel, dilation) if 2 * p > k)
    return RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                        f"kernel_size={k} and dilation={d}")


def _ceil_extra(size: int, kernel: int, dilation: int, pad: int, stride: int) -> int:
    """The padding ``ceil_mode`` adds after a dim for its last, partial window (PyTorch's
    output size: rounded up, less a window that would start in the right padding)."""
    reach = dilation * (kernel - 1) + 1
    out = (size + 2 * pad - reach + stride - 1) // stride + 1
    if (out - 1) * stride >= size + pad:
        out -= 1
    return max(0, (out - 1) * stride + reach - size - 2 * pad)


def _windows(input: Tensor, geo: Geometry, fill: float) -> Tensor:
    """(N, C, prod(kernel), L): each window's values along dim 2."""
    n, c = input.shape[0], input.shape[1]
    return Unfold.apply(input, geo, fill).reshape(n, c, geo.positions, math.prod(geo.out))


def _max_pool(input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool,
              return_indices: bool, dims: int):
    fn = f"max_pool{dims}d"
    if isinstance(input, Tensor) and input.dim() == dims + 1:  # unbatched
        out = _max_pool(input.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode,
                        return_indices, dims)
        return (out[0].squeeze(0), out[1].squeeze(0)) if return_indices else out.squeeze(0)
    geo = _pool_geometry(input, fn, kernel_size, stride, padding, dilation, ceil_mode, dims)
    out = (MaxPool3 if dims == 3 else MaxPool).apply(input, geo)
    if not return_indices:
        return out
    return out, input._new(max_positions(input._backend.xp, input._data, out._data, geo))


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum of each window of ``input`` (N, C, H, W) or (C, H, W); padding counts as
    -inf. The gradient goes to the first maximum of each window, as PyTorch's."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     2)


def max_pool3d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum of each window of ``input`` (N, C, D, H, W) or (C, D, H, W) (see
    ``max_pool2d``)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     3)


def _avg_pool(input: Tensor, kernel_size, stride, padding, ceil_mode: bool,
              count_include_pad: bool, divisor_override, dims: int) -> Tensor:
    if isinstance(input, Tensor) and input.dim() == dims + 1:  # unbatched
        return _avg_pool(input.unsqueeze(0), kernel_size, stride, padding, ceil_mode,
                         count_include_pad, divisor_override, dims).squeeze(0)
    geo = _pool_geometry(input, f"avg_pool{dims}d", kernel_size, stride, padding, 1, ceil_mode,
                         dims)
    sums = _windows(input, geo, 0.0).sum(dim=2)
    symmetric = all(geo.pads[2 * d] == geo.pads[2 * d + 1] for d in range(dims))
    # (an int64 average is truncated, as PyTorch's integer kernel divides)
    rounding = None if input.is_floating_point() else "trunc"
    if divisor_override is not None:
        if not divisor_override:
            raise RuntimeError("divisor must be not zero")
        out = sums.div(divisor_override, rounding_mode=rounding)
    elif not any(geo.pads) or (count_include_pad and symmetric):
        out = sums.div(geo.positions, rounding_mode=rounding)
    else:  # divide by the number of positions each window counts
        out = sums.div(_window_counts(input, geo, count_include_pad), rounding_mode=rounding)
    return out.reshape(input.shape[0], input.shape[1], *geo.out)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """The mean of each window of ``input`` (N, C, H, W) or (C, H, W): over the whole window
    (zeros of the padding included), over its unpadded part (``count_include_pad=False``), or
    the sum over ``divisor_override``."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2)


def avg_pool3d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """The mean of each window of ``input`` (N, C, D, H, W) or (C, D, H, W) (see
    ``avg_pool2d``)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 3)


def _window_counts(input: Tensor, geo: Geometry, count_include_pad: bool):
    """(1, 1, L) per window: how many of its positions an average counts: those in the input,
    and with ``count_include_pad`` those in the padding too, never those of ceil_mode's extra
    padding."""
    dims = len(geo.hw)
    if count_include_pad:  # ones over the input and its symmetric padding
        hw = tuple(n + 2 * geo.pads[2 * d] for d, n in enumerate(geo.hw))
        pads = tuple(q for d in range(dims)
                     for q in (0, geo.pads[2 * d + 1] - geo.pads[2 * d]))
    else:
        hw, pads = geo.hw, geo.pads
    ones = input._new(input._backend.xp.ones((1, 1, *hw), input._data.dtype))
    return _windows(ones, Geometry(hw, geo.kernel, geo.dilation, pads, geo.stride), 0.0).sum(
        dim=2)


# ------------------------------------------------------------------- 1-D: a 1 x L image
def _line_args(kernel_size, stride, padding, dilation):
    """1-D window arguments as the 2-D ones of a 1-row image."""
    k = _single(kernel_size, "kernel_size")
    return ((1, k), None if stride is None else (1, _single(stride, "stride")),
            (0, _single(padding, "padding")), (1, _single(dilation, "dilation")))


def _as_image(input: Tensor, fn: str) -> Tensor:
    """(N, C, L) as (N, C, 1, L); unbatched (C, L) as (C, 1, L)."""
    check_tensor(input, fn)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"{fn}: expected a 2-D (C, L) or 3-D (N, C, L) input, got "
                           f"{input.dim()}-D")
    return input.unsqueeze(-2)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum of each window of ``input`` (N, C, L) or (C, L)."""
    check_tensor(input, "max_pool1d")
    check_pool_dtype(input, "max_pool1d")
    kernel, stride, padding, dilation = _line_args(kernel_size, stride, padding, dilation)
    if 2 * padding[1] > kernel[1]:
        raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but "
                           f"got padding={padding[1]} and kernel_size={kernel[1]}")
    out = max_pool2d(_as_image(input, "max_pool1d"), kernel, stride, padding, dilation,
                     ceil_mode, return_indices)
    return (out[0].squeeze(-2), out[1].squeeze(-2)) if return_indices else out.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window of ``input`` (N, C, L) or (C, L)."""
    kernel, stride, padding, _ = _line_args(kernel_size, stride, padding, 1)
    return avg_pool2d(_as_image(input, "avg_pool1d"), kernel, stride, padding, ceil_mode,
                      count_include_pad).squeeze(-2)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool1d``'s (values, indices), whatever ``return_indices`` says (as PyTorch)."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool2d``'s (values, indices), whatever ``return_indices`` says (as PyTorch)."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool3d_with_indices(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode: bool = False, return_indices: bool = False):
    """``max_pool3d``'s (values, indices), whatever ``return_indices`` says (as PyTorch)."""
    return max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


# ------------------------------------------------------------------------ unpooling
def _unpool_size(input: Tensor, fn: str, kernel, stride, padding, output_size, dims: int):
    spatial = tuple(input.shape[-dims:])
    default = tuple((n - 1) * s - 2 * p + k for n, k, s, p in zip(spatial, kernel, stride,
                                                                    padding))
    if output_size is None:
        return default
    size = tuple(output_size)[-dims:]
    if len(size) != dims:
        raise ValueError(f"{fn}: output_size must have {dims} or {dims + 2} elements, got "
                         f"{len(tuple(output_size))}")
    for dim, (n, d, s) in enumerate(zip(size, default, stride)):
        if not d - s < n < d + s:
            raise ValueError(f'invalid output_size "{tuple(output_size)}" (dim {dim} must be '
                             f"between {d - s} and {d + s})")
    return size


def _unpool(input: Tensor, indices: Tensor, size: tuple, fn: str) -> Tensor:
    """Zeros of ``size`` per (N, C) plane with ``input`` scattered to ``indices``."""
    check_tensor(input, fn)
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"{fn}: Expected shape of indices to be same as that of the input "
                           f"tensor ({list(input.shape)}) but got indices tensor with shape: "
                           f"{list(indices.shape)}")
    if indices.dtype != int64:
        raise RuntimeError(f"{fn}: elements in indices should be type int64 but got: "
                           f"{indices.dtype}")
    lead, n = tuple(input.shape[:-len(size)]), math.prod(size)
    flat_idx = indices.reshape(*lead, -1)
    if flat_idx.numel() and (int(flat_idx.min()) < 0 or int(flat_idx.max()) >= n):
        raise RuntimeError(f"{fn}: Found an invalid max index: {int(flat_idx.max())} (output "
                           f"volumes are of size {' x '.join(map(str, size))})")
    out = input.new_zeros(*lead, n).scatter(-1, flat_idx, input.reshape(*lead, -1))
    return out.reshape(*lead, *size)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The inverse of ``max_pool2d``: each value put back where ``indices`` (from
    ``return_indices=True``) says its maximum was, zeros elsewhere."""
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    size = _unpool_size(input, "max_unpool2d", kernel, stride, _pair(padding, "padding"),
                        output_size, 2)
    return _unpool(input, indices, size, "max_unpool2d")


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The inverse of ``max_pool3d`` (see ``max_unpool2d``)."""
    kernel = _ntuple(kernel_size, "kernel_size", 3)
    stride = kernel if stride is None else _ntuple(stride, "stride", 3)
    size = _unpool_size(input, "max_unpool3d", kernel, stride,
                        _ntuple(padding, "padding", 3), output_size, 3)
    return _unpool(input, indices, size, "max_unpool3d")


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size, stride=None, padding=0,
                 output_size=None) -> Tensor:
    """The inverse of ``max_pool1d`` (see ``max_unpool2d``)."""
    kernel = (_single(kernel_size, "kernel_size"),)
    stride = kernel if stride is None else (_single(stride, "stride"),)
    size = _unpool_size(input, "max_unpool1d", kernel, stride,
                        (_single(padding, "padding"),), output_size, 1)
    return _unpool(input, indices, size, "max_unpool1d")
