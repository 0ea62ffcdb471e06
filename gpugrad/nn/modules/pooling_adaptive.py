"""Adaptive pooling modules: ``AdaptiveAvgPool1d/2d/3d`` and ``AdaptiveMaxPool1d/2d/3d`` over
``nn.functional.pooling_adaptive``, with PyTorch's arguments and reprs."""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d",
           "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"]


class _AdaptiveAvgPool(Module):
    _pool = ""  # the functional's name, looked up per call (autocast wraps it)

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._pool)(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """The mean over each of ``output_size`` windows of (N, C, L) or (C, L) inputs."""

    _pool = "adaptive_avg_pool1d"


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """The mean over each of ``output_size`` (an int or an (H, W) pair; None keeps that dim)
    windows of (N, C, H, W) or (C, H, W) inputs."""

    _pool = "adaptive_avg_pool2d"


class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    """The mean over each of ``output_size`` (an int or a (D, H, W) triple; None keeps that
    dim) windows of (N, C, D, H, W) or (C, D, H, W) inputs."""

    _pool = "adaptive_avg_pool3d"


class _AdaptiveMaxPool(Module):
    _pool = ""  # the functional's name, looked up per call (autocast wraps it)

    def __init__(self, output_size, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size, self.return_indices = output_size, return_indices

    def forward(self, input: Tensor):
        return getattr(F, self._pool)(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """The maximum over each of ``output_size`` windows of (N, C, L) or (C, L) inputs (and
    where it is, with ``return_indices``)."""

    _pool = "adaptive_max_pool1d"


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """The maximum over each of ``output_size`` windows of (N, C, H, W) or (C, H, W) inputs
    (and where it is, with ``return_indices``)."""

    _pool = "adaptive_max_pool2d"


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """The maximum over each of ``output_size`` windows of (N, C, D, H, W) or (C, D, H, W)
    inputs; with ``return_indices``, also where each maximum is."""

    _pool = "adaptive_max_pool3d"
