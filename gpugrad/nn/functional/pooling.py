"""Pooling: the maximum or the mean of each window, in 1-D and 2-D, on the windows of
``conv.py`` (a 1-D input is a one-row image)."""

from __future__ import annotations

from ...ops._util import Tensor, check_tensor
from ...ops.conv import Geometry, MaxPool, Unfold
from .conv import _check_image, _pair, _single, _symmetric

__all__ = ["max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d"]


def _pool_geometry(input: Tensor, fn: str, kernel_size, stride, padding, dilation, ceil_mode):
    _check_image(input, fn)
    if ceil_mode:
        raise NotImplementedError(f"{fn}: ceil_mode=True is not supported")
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == [] else _pair(stride, "stride")
    padding, dilation = _pair(padding, "padding"), _pair(dilation, "dilation")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise RuntimeError(
            f"pad should be at most half of effective kernel size, but got pad={padding}, "
            f"kernel_size={kernel} and dilation={dilation}"
        )
    return Geometry(input.shape[2:], kernel, dilation, _symmetric(padding), stride)


def _windows(input: Tensor, geo: Geometry, fill: float) -> Tensor:
    """(N, C, kh*kw, L): each window's values along dim 2."""
    n, c = input.shape[0], input.shape[1]
    return Unfold.apply(input, geo, fill).reshape(n, c, geo.kernel[0] * geo.kernel[1], -1)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum of each window of ``input`` (N, C, H, W) or (C, H, W); padding counts as
    -inf. The gradient goes to the first maximum of each window, as PyTorch's."""
    if isinstance(input, Tensor) and input.dim() == 3:  # unbatched
        return max_pool2d(input.unsqueeze(0), kernel_size, stride, padding, dilation, ceil_mode,
                          return_indices).squeeze(0)
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not supported")
    geo = _pool_geometry(input, "max_pool2d", kernel_size, stride, padding, dilation, ceil_mode)
    return MaxPool.apply(input, geo)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """The mean of each window of ``input`` (N, C, H, W) or (C, H, W): over the whole window
    (zeros of the padding included), over its unpadded part (``count_include_pad=False``), or
    the sum over ``divisor_override``."""
    if isinstance(input, Tensor) and input.dim() == 3:  # unbatched
        return avg_pool2d(input.unsqueeze(0), kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override).squeeze(0)
    geo = _pool_geometry(input, "avg_pool2d", kernel_size, stride, padding, 1, ceil_mode)
    sums = _windows(input, geo, 0.0).sum(dim=2)
    if divisor_override is not None:
        if not divisor_override:
            raise RuntimeError("divisor must be not zero")
        out = sums / divisor_override
    elif count_include_pad or not any(geo.pads):
        out = sums / (geo.kernel[0] * geo.kernel[1])
    else:
        ones = input._new(input._backend.xp.ones((1, 1, *input.shape[2:]), input._data.dtype))
        out = sums / _windows(ones, geo, 0.0).sum(dim=2)
    return out.reshape(input.shape[0], input.shape[1], *geo.out)


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
    kernel, stride, padding, dilation = _line_args(kernel_size, stride, padding, dilation)
    return max_pool2d(_as_image(input, "max_pool1d"), kernel, stride, padding, dilation,
                      ceil_mode, return_indices).squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window of ``input`` (N, C, L) or (C, L)."""
    kernel, stride, padding, _ = _line_args(kernel_size, stride, padding, 1)
    return avg_pool2d(_as_image(input, "avg_pool1d"), kernel, stride, padding, ceil_mode,
                      count_include_pad).squeeze(-2)
