"""``ConvTranspose1d``/``2d``/``3d`` and their lazy forms: modules over
``nn.functional.conv_transpose``, with PyTorch's arguments, initialization, reprs and
``forward(input, output_size=None)``."""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .conv import _Conv, _LazyConv
from .lazy import LazyModuleMixin

__all__ = ["ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConvTranspose1d",
           "LazyConvTranspose2d", "LazyConvTranspose3d"]


class _ConvTranspose(_Conv):
    """Transposed convolution over ``_dims`` spatial dims; weight (in, out/groups, *kernel),
    initialized as PyTorch's (fan_in = out/groups * kernel size)."""

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None):
        if padding_mode != "zeros":
            raise ValueError(
                f'Only "zeros" padding mode is supported for {self.__class__.__name__}')
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device=device, dtype=dtype)
        self.output_padding = self._tuple(output_padding, "output_padding")

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """``output_padding``, or the one that gives ``output_size`` (its last ``_dims``
        entries; each between the smallest output and that plus ``stride - 1``)."""
        if output_size is None:
            return self.output_padding
        dims = self._dims
        non_spatial = 2 if input.dim() == dims + 2 else 1
        output_size = list(output_size)
        if len(output_size) == non_spatial + dims:
            output_size = output_size[non_spatial:]
        if len(output_size) != dims:
            raise ValueError(
                f"ConvTranspose{dims}D: for {input.dim()}D input, output_size must have {dims} "
                f"or {non_spatial + dims} elements (got {len(output_size)})")
        spatial = input.shape[non_spatial:]
        smallest = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                    zip(spatial, self.stride, self.padding, self.dilation, self.kernel_size)]
        largest = [m + s - 1 for m, s in zip(smallest, self.stride)]
        if any(not lo <= n <= hi for n, lo, hi in zip(output_size, smallest, largest)):
            raise ValueError(
                f"requested an output size of {output_size}, but valid sizes range from "
                f"{smallest} to {largest} (for an input of {input.shape[2:]})")
        return tuple(n - lo for n, lo in zip(output_size, smallest))

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        if self.padding_mode != "zeros":
            raise ValueError(
                f"Only `zeros` padding mode is supported for {self.__class__.__name__}")
        conv = getattr(F, f"conv_transpose{self._dims}d")
        return conv(input, self.weight, self.bias, self.stride, self.padding,
                    self._output_padding(input, output_size), self.groups, self.dilation)


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution over (N, C, L) inputs: the gradient of ``Conv1d`` with
    respect to its input."""

    _dims = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution over (N, C, H, W) inputs: the gradient of ``Conv2d`` with
    respect to its input."""

    _dims = 2


class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution over (N, C, D, H, W) inputs: the gradient of ``Conv3d`` with
    respect to its input."""

    _dims = 3


class _LazyConvTranspose(_LazyConv):
    """A transposed convolution whose ``in_channels`` is taken from the first input."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, padding_mode: str = "zeros",
                 device=None, dtype=None):
        LazyModuleMixin.__init__(self, 0, 0, kernel_size, stride, padding, output_padding,
                                 groups, False, dilation, padding_mode, device=device,
                                 dtype=dtype)
        self._uninitialized(out_channels, bias, device, dtype)


class LazyConvTranspose1d(_LazyConvTranspose, ConvTranspose1d):
    """A ``ConvTranspose1d`` whose ``in_channels`` is taken from the first input; it becomes a
    ``ConvTranspose1d`` at its first call."""

    cls_to_become = ConvTranspose1d


class LazyConvTranspose2d(_LazyConvTranspose, ConvTranspose2d):
    """A ``ConvTranspose2d`` whose ``in_channels`` is taken from the first input; it becomes a
    ``ConvTranspose2d`` at its first call."""

    cls_to_become = ConvTranspose2d


class LazyConvTranspose3d(_LazyConvTranspose, ConvTranspose3d):
    """A ``ConvTranspose3d`` whose ``in_channels`` is taken from the first input; it becomes a
    ``ConvTranspose3d`` at its first call."""

    cls_to_become = ConvTranspose3d
