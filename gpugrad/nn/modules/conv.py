"""``Conv1d``/``2d``/``3d``, max and average pooling in 1-D, 2-D and 3-D, ``Unfold``, ``Fold``:
modules over ``nn.functional.conv``, with PyTorch's arguments, initialization and reprs."""

from __future__ import annotations

import math

from ... import factories
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..functional.conv import _ntuple, _single
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Conv1d", "Conv2d", "Conv3d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "MaxPool1d",
           "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d", "Unfold", "Fold",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]


class _Conv(Module):
    """Convolution over ``_dims`` spatial dims; weight (out, in/groups, *kernel) initialized as
    PyTorch's (Kaiming uniform with a = sqrt(5); bias uniform in +-1/sqrt(fan_in))."""

    _dims = 2
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__()
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {set(_PADDING_MODES)}, but got "
                             f"padding_mode='{padding_mode}'")
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = self._tuple(kernel_size, "kernel_size")
        self.stride, self.dilation = self._tuple(stride, "stride"), self._tuple(dilation,
                                                                                "dilation")
        self.output_padding = (0,) * self._dims  # a transposed convolution's sets its own
        self.padding = padding if isinstance(padding, str) else self._tuple(padding, "padding")
        self.padding_mode = padding_mode
        if self.padding == "same" and any(st != 1 for st in self.stride):
            raise ValueError("padding='same' is not supported for strided convolutions")
        # F.pad's order (last dim first) for the modes other than zeros, as PyTorch keeps it
        self._reversed_padding_repeated_twice = _pads_of(self.padding, self.kernel_size,
                                                         self.dilation)
        kw = {"device": device, "dtype": dtype}
        self.weight = Parameter(factories.empty(self._weight_shape(), **kw))
        self.register_parameter(
            "bias", Parameter(factories.empty(out_channels, **kw)) if bias else None)
        self.reset_parameters()

    def _tuple(self, value, name: str) -> tuple:
        if self._dims == 1:
            return (_single(value, name),)
        return _ntuple(value, name, self._dims)

    def _weight_shape(self) -> tuple:
        """(out, in/groups, *kernel); transposed: (in, out/groups, *kernel)."""
        if self.transposed:
            return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    def reset_parameters(self) -> None:
        # fan_in is weight.shape[1] * kernel either way (PyTorch's, for transposed ones too)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias) -> Tensor:
        """This layer's convolution (its stride, padding and padding mode...) with ``weight``
        and ``bias`` given: what subclasses that transform the weight first call (PyTorch's
        name)."""
        conv = getattr(F, f"conv{self._dims}d")  # looked up per call (autocast wraps it)
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._dims:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._dims:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _pads_of(padding, kernel, dilation) -> list:
    """Per dim, last first: the padding before and after (``'same'``: the extra one after)."""
    pads = []
    for j in reversed(range(len(kernel))):
        if padding == "valid":
            before = after = 0
        elif padding == "same":
            total = dilation[j] * (kernel[j] - 1)
            before, after = total // 2, total - total // 2
        elif isinstance(padding, str):
            raise ValueError(f"Invalid padding string '{padding}', should be one of "
                             "{'valid', 'same'}")
        else:
            before = after = padding[j]
        pads += [before, after]
    return pads


class Conv1d(_Conv):
    """1-D convolution over (N, C, L) inputs."""

    _dims = 1


class Conv2d(_Conv):
    """2-D convolution over (N, C, H, W) inputs."""

    _dims = 2


class Conv3d(_Conv):
    """3-D convolution over (N, C, D, H, W) inputs."""

    _dims = 3


class _LazyConv(LazyModuleMixin):
    """A convolution whose ``in_channels`` is taken from the first input."""

    def __init__(self, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", device=None,
                 dtype=None):
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False,
                         padding_mode, device=device, dtype=dtype)
        self._uninitialized(out_channels, bias, device, dtype)

    def _uninitialized(self, out_channels: int, bias: bool, device, dtype) -> None:
        self.weight = UninitializedParameter(device=device, dtype=dtype)
        self.out_channels = out_channels
        if bias:
            self.bias = UninitializedParameter(device=device, dtype=dtype)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor, *args, **kwargs) -> None:
        """Take ``in_channels`` from ``input`` and initialize the parameters."""
        if not self.has_uninitialized_params():
            return
        self.in_channels = self._get_in_channels(input)
        if self.in_channels % self.groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        self.weight.materialize(self._weight_shape())
        if self.bias is not None:
            self.bias.materialize((self.out_channels,))
        self.reset_parameters()

    def _get_in_channels(self, input: Tensor) -> int:
        unbatched = self._dims + 1
        if input.dim() not in (unbatched, unbatched + 1):
            raise RuntimeError(
                f"Expected {unbatched}D (unbatched) or {unbatched + 1}D (batched) input to "
                f"{type(self).__name__}, but got input of size: {input.shape}")
        return input.shape[1] if input.dim() == unbatched + 1 else input.shape[0]


class LazyConv1d(_LazyConv, Conv1d):
    """A ``Conv1d`` whose ``in_channels`` is taken from the first input (dim 1, or dim 0 of an
    unbatched input); it becomes a ``Conv1d`` at its first call."""

    cls_to_become = Conv1d


class LazyConv2d(_LazyConv, Conv2d):
    """A ``Conv2d`` whose ``in_channels`` is taken from the first input (dim 1, or dim 0 of an
    unbatched input); it becomes a ``Conv2d`` at its first call."""

    cls_to_become = Conv2d


class LazyConv3d(_LazyConv, Conv3d):
    """A ``Conv3d`` whose ``in_channels`` is taken from the first input (dim 1, or dim 0 of an
    unbatched input); it becomes a ``Conv3d`` at its first call."""

    cls_to_become = Conv3d


class AvgPool1d(Module):
    """The mean over each window of (N, C, L) inputs."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__()
        self.kernel_size = (_single(kernel_size, "kernel_size"),)
        self.stride = (_single(stride if stride is not None else kernel_size, "stride"),)
        self.padding = (_single(padding, "padding"),)
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _MaxPool(Module):
    """The maximum over each window; subclasses name the functional (1-D, 2-D or 3-D) in
    ``F``."""

    _pool = None

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Tensor:
        pool = getattr(F, self._pool)  # (looked up here: autocast may have wrapped it)
        return pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                    self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPool):
    """The maximum over each window of (N, C, L) inputs."""

    _pool = "max_pool1d"


class MaxPool2d(_MaxPool):
    """The maximum over each window of (N, C, H, W) inputs."""

    _pool = "max_pool2d"


class MaxPool3d(_MaxPool):
    """The maximum over each window of (N, C, D, H, W) inputs."""

    _pool = "max_pool3d"


class AvgPool2d(Module):
    """The mean over each window of (N, C, H, W) inputs."""

    _pool = "avg_pool2d"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride if stride is not None else kernel_size
        self.padding, self.ceil_mode = padding, ceil_mode
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        pool = getattr(F, self._pool)  # (looked up here: autocast may have wrapped it)
        return pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                    self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool3d(AvgPool2d):
    """The mean over each window of (N, C, D, H, W) inputs."""

    _pool = "avg_pool3d"


class Unfold(Module):
    """Sliding windows as columns (``F.unfold``)."""

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation, self.padding, self.stride = (kernel_size, dilation,
                                                                      padding, stride)

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """Columns summed back into an image (``F.fold``)."""

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class _MaxUnpool(Module):
    """The inverse of max pooling: values put back where the pooling's indices say."""

    _dims = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        dims = self._dims
        self.kernel_size = _ntuple(_single(kernel_size, "kernel_size") if dims == 1
                                   else kernel_size, "kernel_size", dims)
        self.stride = _ntuple(_single(stride if stride is not None else kernel_size, "stride")
                              if dims == 1 else stride if stride is not None else kernel_size,
                              "stride", dims)
        self.padding = _ntuple(_single(padding, "padding") if dims == 1 else padding,
                               "padding", dims)

    def forward(self, input: Tensor, indices: Tensor, output_size=None) -> Tensor:
        unpool = getattr(F, f"max_unpool{self._dims}d")
        return unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpool):
    """The inverse of ``MaxPool1d(..., return_indices=True)``."""

    _dims = 1


class MaxUnpool2d(_MaxUnpool):
    """The inverse of ``MaxPool2d(..., return_indices=True)``."""

    _dims = 2


class MaxUnpool3d(_MaxUnpool):
    """The inverse of ``MaxPool3d(..., return_indices=True)``."""

    _dims = 3
