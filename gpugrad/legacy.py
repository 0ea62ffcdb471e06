"""The legacy typed constructors: ``gpugrad.FloatTensor([1, 2])``, ``gpugrad.LongTensor(2, 3)``,
``gpugrad.cuda.FloatTensor(...)``, ``isinstance(t, gpugrad.LongTensor)``,
``set_default_tensor_type``, and the constructors that take a tensor's dtype and device:
``Tensor.new`` and ``new_tensor``, ``new_zeros``, ``new_ones``, ``new_empty``, ``new_full``.

Each is an instance of ``tensortype``, not a subclass of ``Tensor``: calling it makes a tensor of
its dtype on its device (from data, sizes, or a tensor of that type, which it views), and
``isinstance`` compares the tensor's dtype and device type, as in PyTorch.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from . import _dtype as dt
from ._device import device as _device_cls
from ._tensor_data import _host_array
from .backend import cpu_backend, cuda_available, get_backend
from .factories import _size
from .size import Size
from .tensor import Tensor

__all__ = [
    "tensortype", "FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor",
    "CharTensor", "ShortTensor", "IntTensor", "LongTensor", "BoolTensor",
    "set_default_tensor_type",
]
# Tensor methods installed by gpugrad/__init__.py: NEW_METHODS (Tensor.new, new_zeros ...).


def legacy_data(args, np_dtype, fn: str = "new"):
    """The array a legacy constructor makes: empty (no args), uninitialised of the given sizes
    (ints or one ``Size``), or a copy of one sequence of data, in ``np_dtype``."""
    if len(args) == 1 and isinstance(args[0], Size):
        args = tuple(args[0])
    if not args:
        return np.empty((0,), np_dtype)
    if all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in args):
        return np.empty(_size(args), np_dtype)
    if len(args) != 1:
        raise TypeError(
            f"{fn}() received an invalid combination of arguments - got "
            f"({', '.join(type(a).__name__ for a in args)}): pass sizes as ints, or one "
            "sequence of data"
        )
    data = args[0]
    if isinstance(data, (str, bytes)):
        raise TypeError(f"{fn}(): invalid data type '{type(data).__name__}'")
    if isinstance(data, numbers.Number):
        raise TypeError(f"{fn}(): data must be a sequence (got {type(data).__name__})")
    arr, _ = _host_array(data)
    return np.array(arr, dtype=np_dtype, copy=True)


def _type_name(d: dt.dtype, device_type: str) -> str:
    prefix = "torch.cuda." if device_type == "cuda" else "torch."
    return f"{prefix}{dt.SCALAR_TYPE_NAMES[d.name]}Tensor"


class tensortype(type):
    """The type of the legacy typed constructors (``gpugrad.FloatTensor`` ...)."""

    def __instancecheck__(cls, obj) -> bool:
        return (isinstance(obj, Tensor) and obj.dtype is cls.dtype
                and obj.device.type == cls._device_type)

    def __call__(cls, *args, device=None):
        want = cls._device_type
        if want == "cuda" and not cuda_available():
            raise TypeError(f"type {_type_name(cls.dtype, want)} not available: CUDA is not "
                            "available (gpugrad needs CuPy and a visible NVIDIA GPU)")
        dev = _device_cls(device) if device is not None else _device_cls(want)
        if dev.type != want:
            raise RuntimeError(f"legacy constructor expects device type: {want} but device "
                               f"type: {dev.type} was passed")
        if len(args) == 1 and isinstance(args[0], Tensor):
            t = args[0]
            if t.dtype is not cls.dtype or t.device.type != want:
                raise TypeError(f"expected {_type_name(cls.dtype, want)} (got "
                                f"{_type_name(t.dtype, t.device.type)})")
            return t.view(t.shape)  # a view of the same memory, as PyTorch
        backend = get_backend(dev) if want == "cuda" else cpu_backend()
        data = legacy_data(args, cls.dtype.np)
        return Tensor._make(backend.asarray(data), backend)

    def __repr__(cls) -> str:
        return f"<class '{_type_name(cls.dtype, cls._device_type)}'>"


def _make_types(device_type: str, module: str) -> dict:
    """The legacy type of each dtype (those of uint16, uint32, uint64 serve ``Tensor.new``
    only: PyTorch has no ``torch.UInt16Tensor``)."""
    types = {}
    for name, scalar in dt.SCALAR_TYPE_NAMES.items():
        cls_name = f"{scalar}Tensor"
        types[cls_name] = tensortype(cls_name, (), {
            "dtype": dt._by_name(name), "_device_type": device_type,
            "is_cuda": device_type == "cuda", "__module__": module,
        })
    return types


_CPU_TYPES = _make_types("cpu", "gpugrad")
CUDA_TYPES = _make_types("cuda", "gpugrad.cuda")
FloatTensor, DoubleTensor, HalfTensor, BFloat16Tensor = (
    _CPU_TYPES[n] for n in ("FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor"))
ByteTensor, CharTensor, ShortTensor = (_CPU_TYPES[n] for n in
                                       ("ByteTensor", "CharTensor", "ShortTensor"))
IntTensor, LongTensor, BoolTensor = (_CPU_TYPES[n] for n in
                                     ("IntTensor", "LongTensor", "BoolTensor"))


def set_default_tensor_type(t) -> None:
    """Deprecated in PyTorch: set the default dtype (and with a ``cuda`` type the default
    device) from a legacy type or its name."""
    warnings.warn(
        "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
        "torch.set_default_dtype() and torch.set_default_device() as alternatives.",
        UserWarning, stacklevel=2,
    )
    from ._device import set_default_device
    from .ops.convert import parse_type_name

    d, device_type = parse_type_name(t) if isinstance(t, str) else (t.dtype, t._device_type)
    if not d.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    dt.set_default_dtype(d)
    if device_type == "cuda":
        set_default_device("cuda")


def new(self: Tensor, *args, device=None) -> Tensor:
    """Legacy ``Tensor.new``: what this tensor's legacy type makes of ``args`` (data, sizes,
    a tensor of this type, or nothing), on this tensor's device."""
    types = CUDA_TYPES if self.is_cuda else _CPU_TYPES
    cls = types[f"{dt.SCALAR_TYPE_NAMES[self.dtype.name]}Tensor"]
    return cls(*args, device=self.device if device is None else device)


# ---------------------------------------------------------------------- Tensor.new_*
def _like_self(self: Tensor, dtype, device) -> dict:
    return {"dtype": self.dtype if dtype is None else dtype,
            "device": self.device if device is None else device}


def new_tensor(self: Tensor, data, *, dtype=None, device=None,
               requires_grad: bool = False) -> Tensor:
    """A copy of ``data`` with this tensor's dtype and device (unless given)."""
    from .factories import tensor, warn_copy_construct

    if isinstance(data, Tensor):
        warn_copy_construct("tensor.new_tensor")
        data = data.detach()
    return tensor(data, **_like_self(self, dtype, device), requires_grad=requires_grad)


def _new_filled(factory_name: str):
    def method(self: Tensor, *size, dtype=None, device=None,
               requires_grad: bool = False) -> Tensor:
        from . import factories

        factory = getattr(factories, factory_name)
        return factory(*size, **_like_self(self, dtype, device), requires_grad=requires_grad)

    method.__name__ = method.__qualname__ = f"new_{factory_name}"
    method.__doc__ = (f"``{factory_name}(*size)`` with this tensor's dtype and device (unless "
                      "given).")
    return method


def new_full(self: Tensor, size, fill_value, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``full(size, fill_value)`` with this tensor's dtype and device (unless given)."""
    from .factories import full

    return full(size, fill_value, **_like_self(self, dtype, device), requires_grad=requires_grad)


NEW_METHODS = {
    "new": new, "new_tensor": new_tensor, "new_zeros": _new_filled("zeros"),
    "new_ones": _new_filled("ones"), "new_empty": _new_filled("empty"), "new_full": new_full,
}
