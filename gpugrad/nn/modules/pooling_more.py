"""Power-average and fractional max pooling modules: ``LPPool1d/2d/3d`` and
``FractionalMaxPool2d/3d`` over ``nn.functional``, with PyTorch's arguments, checks and
reprs."""

from __future__ import annotations

from ...ops._util import Tensor
from .. import functional as F
from ..functional.conv import _ntuple
from .module import Module

__all__ = ["LPPool1d", "LPPool2d", "LPPool3d", "FractionalMaxPool2d", "FractionalMaxPool3d"]


class _LPPool(Module):
    _pool = ""  # the functional's name, looked up per call

    def __init__(self, norm_type: float, kernel_size, stride=None,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type, self.kernel_size = norm_type, kernel_size
        self.stride, self.ceil_mode = stride, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        return getattr(F, self._pool)(input, float(self.norm_type), self.kernel_size,
                                      self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, ceil_mode={self.ceil_mode}")


class LPPool1d(_LPPool):
    """Power-average pooling of (N, C, L) or (C, L) inputs: ``(sum x**p) ** (1/p)`` over each
    window (``F.lp_pool1d``)."""

    _pool = "lp_pool1d"


class LPPool2d(_LPPool):
    """Power-average pooling of (N, C, H, W) or (C, H, W) inputs (``F.lp_pool2d``)."""

    _pool = "lp_pool2d"


class LPPool3d(_LPPool):
    """Power-average pooling of (N, C, D, H, W) or (C, D, H, W) inputs (``F.lp_pool3d``)."""

    _pool = "lp_pool3d"


class _FractionalMaxPool(Module):
    _dims = 2

    def __init__(self, kernel_size, output_size=None, output_ratio=None,
                 return_indices: bool = False, _random_samples=None) -> None:
        super().__init__()
        dims, name = self._dims, type(self).__name__
        if dims == 3:
            kernels = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size,)
            if not all(k > 0 for k in kernels):
                raise ValueError(f"kernel_size must be greater than 0, but got {kernel_size}")
        self.kernel_size = _ntuple(kernel_size, "kernel_size", dims)
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = None if output_size is None else _ntuple(output_size, "output_size",
                                                                    dims)
        self.output_ratio = None if output_ratio is None else (
            tuple(output_ratio) if isinstance(output_ratio, (tuple, list))
            else (output_ratio,) * dims)
        if output_size is None and output_ratio is None:
            raise ValueError(f"{name} requires specifying either an output size, or a pooling "
                             "ratio")
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")

    def forward(self, input: Tensor):
        pool = F.fractional_max_pool2d if self._dims == 2 else F.fractional_max_pool3d
        return pool(input, self.kernel_size, self.output_size, self.output_ratio,
                    self.return_indices, _random_samples=self._random_samples)


class FractionalMaxPool2d(_FractionalMaxPool):
    """Fractional max pooling of (N, C, H, W) or (C, H, W) inputs to ``output_size`` or
    ``output_ratio`` times the input size (``F.fractional_max_pool2d``); ``_random_samples``
    (a buffer) fixes the windows, else each call draws new ones."""

    _dims = 2


class FractionalMaxPool3d(_FractionalMaxPool):
    """Fractional max pooling of (N, C, T, H, W) or (C, T, H, W) inputs
    (``F.fractional_max_pool3d``)."""

    _dims = 3
