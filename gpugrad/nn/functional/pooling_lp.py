"""Power-average pooling, ``lp_pool1d/2d/3d``: ``(sum over the window of x**p) ** (1/p)``,
built as PyTorch builds it from average pooling, so values and gradients (a window whose sum
is zero gets a zero gradient only where PyTorch's does) come out the same; ``p = inf`` is max
pooling of ``|x|`` and ``p = -inf`` the minimum of ``|x|``."""

from __future__ import annotations

import math

from ...ops._util import Tensor, check_tensor
from .. import functional as F
from .activation import relu
from .conv import _ntuple

__all__ = ["lp_pool1d", "lp_pool2d", "lp_pool3d"]


def _lp_pool(input: Tensor, norm_type, kernel_size, stride, ceil_mode: bool, dims: int):
    check_tensor(input, f"lp_pool{dims}d")
    # (the poolings looked up per call: autocast's wrappers of them apply, as in PyTorch)
    max_pool, avg_pool = getattr(F, f"max_pool{dims}d"), getattr(F, f"avg_pool{dims}d")
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        if norm_type > 0:
            return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if dims == 1:
        if isinstance(kernel_size, (tuple, list)):
            raise TypeError(f"lp_pool1d: kernel_size must be an int, got {kernel_size!r}")
        count = kernel_size
    else:
        count = math.prod(_ntuple(kernel_size, "kernel_size", dims))
    out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    # sign's gradient is zero: detached, so that an infinite upstream gradient (a window
    # summing to zero) is not multiplied by it into nan (PyTorch's sign passes zeros)
    return (out.sign().detach() * relu(out.abs())).mul(count).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """The ``norm_type``-norm of each window of ``input`` (N, C, L) or (C, L):
    ``(sum x**p) ** (1/p)``; ``p = inf`` gives max pooling of ``|x|``. No padding;
    ``stride`` defaults to ``kernel_size``."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """The ``norm_type``-norm of each window of ``input`` (N, C, H, W) or (C, H, W) (see
    ``lp_pool1d``)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size, stride=None,
              ceil_mode: bool = False) -> Tensor:
    """The ``norm_type``-norm of each window of ``input`` (N, C, D, H, W) or (C, D, H, W) (see
    ``lp_pool1d``)."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)
