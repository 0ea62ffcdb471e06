"""The pooling functions PyTorch also spells at its top level (``torch.max_pool2d``,
``torch.avg_pool1d``, ``torch.adaptive_max_pool1d``...), with those spellings' signatures:
no ``return_indices`` on ``max_poolNd``, ``stride=[]`` meaning the kernel size, and
``adaptive_max_pool1d`` returning (values, indices). Each calls the ``nn.functional`` function
looked up per call, so that autocast's wrapper of it applies to this spelling too."""

from __future__ import annotations

from ...ops._util import Tensor
from .. import functional as F

__all__ = ["max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "avg_pool1d",
           "adaptive_avg_pool1d", "adaptive_max_pool1d"]


def _stride(stride):
    return None if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride


def max_pool1d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """``nn.functional.max_pool1d`` without ``return_indices``."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """``nn.functional.max_pool2d`` without ``return_indices``."""
    return F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
               ceil_mode: bool = False) -> Tensor:
    """``nn.functional.max_pool3d`` without ``return_indices``."""
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input: Tensor, kernel_size, stride=(), padding=0, dilation=1,
                            ceil_mode: bool = False):
    """``nn.functional.max_pool1d``'s (values, indices)."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode,
                              True)


def avg_pool1d(input: Tensor, kernel_size, stride=(), padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """``nn.functional.avg_pool1d``."""
    return F.avg_pool1d(input, kernel_size, _stride(stride), padding, ceil_mode,
                              count_include_pad)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """``nn.functional.adaptive_avg_pool1d``."""
    return F.adaptive_avg_pool1d(input, output_size)


def adaptive_max_pool1d(input: Tensor, output_size):
    """``nn.functional.adaptive_max_pool1d``'s (values, indices): the top-level spelling
    always returns both."""
    return F.adaptive_max_pool1d(input, output_size, True)
