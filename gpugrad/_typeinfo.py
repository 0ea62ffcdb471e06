"""The numeric limits of the dtypes (``finfo``, ``iinfo``) and the tensor layouts (``layout``:
``strided``, and ``sparse_coo`` for ``gpugrad.sparse``'s tensors), with PyTorch's attributes and
errors."""

from __future__ import annotations

import numpy as np

from . import _dtype as dt

__all__ = ["finfo", "iinfo", "layout", "sparse_coo", "strided"]


class layout:
    """How a tensor's elements are stored: ``strided`` (dense arrays) or ``sparse_coo``
    (coordinates and values, ``gpugrad.sparse``)."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"gpugrad.{self._name}"

    def __reduce__(self):
        return (_layout_by_name, (self._name,))


strided = layout("strided")
sparse_coo = layout("sparse_coo")
_LAYOUTS = {"strided": strided, "sparse_coo": sparse_coo}


def _layout_by_name(name: str) -> layout:
    if name not in _LAYOUTS:
        raise ValueError(f"gpugrad has no layout {name}")
    return _LAYOUTS[name]


def check_factory_options(layout_, pin_memory, fn: str) -> None:
    """Refuse a factory's ``layout`` other than ``strided`` and ``pin_memory=True``."""
    if layout_ is not None and layout_ is not strided:
        raise NotImplementedError(f"{fn}: gpugrad's factories make tensors of the strided layout "
                                  f"only, got {layout_} (sparse tensors: "
                                  "gpugrad.sparse_coo_tensor, Tensor.to_sparse)")
    if pin_memory:
        from .backend import cuda_available

        if not cuda_available():
            raise RuntimeError("pin_memory=True requires a CUDA or other accelerator backend; "
                               "no pinned memory allocator is available on this system.")
        raise NotImplementedError(f"{fn}: gpugrad does not pin host memory (pin_memory=True)")


def _check_dtype_arg(type_, fn: str) -> dt.dtype:
    if type_ is None:
        return dt.get_default_dtype()
    if not isinstance(type_, dt.dtype):
        raise TypeError(f"{fn}(): argument 'type' (position 1) must be torch.dtype, not "
                        f"{type(type_).__name__}")
    return type_


class finfo:
    """The limits of a floating dtype (the default dtype without an argument): ``bits``,
    ``eps`` (1.0's distance to the next larger number), ``max``, ``min``, ``tiny`` and
    ``smallest_normal`` (the smallest positive normal number), ``resolution`` (10 to minus
    the decimal digits of precision), ``dtype`` (its name)."""

    __slots__ = ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype")

    def __init__(self, type=None):  # noqa: A002 - PyTorch's parameter name
        d = _check_dtype_arg(type, "finfo")
        if not d.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo "
                            "to handle 'torch.finfo'")
        if d is dt.bfloat16:
            import ml_dtypes

            info = ml_dtypes.finfo(ml_dtypes.bfloat16)
        else:
            info = np.finfo(d.np)
        self.bits = int(info.bits)
        self.eps, self.max, self.min = float(info.eps), float(info.max), float(info.min)
        self.tiny = self.smallest_normal = float(info.smallest_normal)
        self.resolution = float(10.0 ** -int(info.precision))
        self.dtype = d.name

    def __eq__(self, other) -> bool:
        return isinstance(other, finfo) and self.dtype == other.dtype

    __hash__ = None

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
                f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, "
                f"tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """The limits of an integer dtype: ``bits``, ``max``, ``min``, ``dtype`` (its name)."""

    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, type):  # noqa: A002
        d = _check_dtype_arg(type, "iinfo")
        if d is dt.bool:
            raise TypeError("torch.bool is not supported by torch.iinfo")
        if d.is_floating_point:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to "
                            "handle 'torch.iinfo'")
        info = np.iinfo(d.np)
        self.bits, self.max, self.min, self.dtype = int(info.bits), int(info.max), \
            int(info.min), d.name

    def __eq__(self, other) -> bool:
        return isinstance(other, iinfo) and self.dtype == other.dtype

    __hash__ = None

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"


class memory_format:
    """How a tensor's dims are ordered in memory: ``contiguous_format`` (row-major, the
    default), ``channels_last`` (4-D, N H W C in memory), ``channels_last_3d`` (5-D, N D H W C),
    ``preserve_format`` (keep the input's)."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"gpugrad.{self._name}"

    def __reduce__(self):
        return (_FORMATS.__getitem__, (self._name,))


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
legacy_contiguous_format = memory_format("legacy_contiguous_format")  # (row-major too)
_FORMATS = {f._name: f for f in (contiguous_format, preserve_format, channels_last,
                                 channels_last_3d, legacy_contiguous_format)}
# The dims of a channels-last tensor from the innermost in memory (channels) outwards.
_CHANNELS_LAST_ORDER = {channels_last: (1, 3, 2, 0), channels_last_3d: (1, 4, 3, 2, 0)}

__all__ += ["memory_format", "contiguous_format", "preserve_format", "channels_last",
            "channels_last_3d", "legacy_contiguous_format"]


def check_memory_format(fmt, fn: str):
    """``fmt`` (None means ``contiguous_format``) checked to be a memory format."""
    if fmt is None or fmt is legacy_contiguous_format:
        return contiguous_format
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{fn}(): argument 'memory_format' must be torch.memory_format, not "
                        f"{type(fmt).__name__}")
    return fmt


def is_contiguous_as(data, fmt) -> bool:
    """Whether the array ``data`` is laid out densely in the order ``fmt`` asks (dims of size
    1 take any stride, as PyTorch's check)."""
    order = _CHANNELS_LAST_ORDER.get(fmt)
    if order is None:
        return bool(data.flags.c_contiguous)
    if data.ndim != len(order):
        return False
    expected, item = 1, data.dtype.itemsize
    for d in order:
        if data.shape[d] != 1:
            if data.strides[d] != expected * item:
                return False
            expected *= data.shape[d]
    return True


def laid_out(t, fmt, fn: str):
    """``t`` itself when already laid out as ``fmt`` (``preserve_format``: always), else a
    differentiable copy that is: a channels-last copy is the row-major copy of ``t`` with its
    channels moved last, viewed back in ``t``'s dim order."""
    fmt = check_memory_format(fmt, fn)
    if fmt is preserve_format or is_contiguous_as(t._data, fmt):
        return t
    order = _CHANNELS_LAST_ORDER.get(fmt)
    if order is None:
        return t.contiguous()
    if t.dim() != len(order):
        raise RuntimeError(f"required rank {len(order)} tensor to use {fmt._name} format")
    physical = order[::-1]  # outermost first
    return t.permute(*physical).contiguous().permute(*np.argsort(physical).tolist())


def suggested_format(data):
    """The memory format an array's strides follow: channels-last (3d) where it is laid out
    so, else ``contiguous_format`` (PyTorch's ``suggest_memory_format``, for dense arrays)."""
    for fmt in (channels_last, channels_last_3d):
        if is_contiguous_as(data, fmt) and not data.flags.c_contiguous:
            return fmt
    return contiguous_format
