"""The numeric limits of the dtypes (``finfo``, ``iinfo``) and the one tensor layout
(``layout``, ``strided``), with PyTorch's attributes and errors."""

from __future__ import annotations

import numpy as np

from . import _dtype as dt

__all__ = ["finfo", "iinfo", "layout", "strided"]


class layout:
    """How a tensor's elements are stored; gpugrad has one layout, ``strided`` (dense arrays;
    no sparse layouts)."""

    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return f"gpugrad.{self._name}"

    def __reduce__(self):
        return (_layout_by_name, (self._name,))


strided = layout("strided")


def _layout_by_name(name: str) -> layout:
    if name != "strided":
        raise ValueError(f"gpugrad has no layout {name}")
    return strided


def check_factory_options(layout_, pin_memory, fn: str) -> None:
    """Refuse a factory's ``layout`` other than ``strided`` and ``pin_memory=True``."""
    if layout_ is not None and layout_ is not strided:
        raise NotImplementedError(f"{fn}: gpugrad has only the strided layout, got {layout_}")
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
