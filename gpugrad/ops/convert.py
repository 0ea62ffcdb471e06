"""Conversions between dtypes and devices, copies: ``to``, ``float``, ``cpu``, ``clone``...;
and to Python numbers and NumPy arrays: ``item``, ``tolist``, ``numpy``, ``bool(t)``..."""

from __future__ import annotations

import numpy as np

from .. import _capture
from .. import _dtype as dt
from .._device import device as _device_cls
from .._typeinfo import check_memory_format, laid_out, preserve_format, suggested_format
from .._warnings import warn_user_once
from ..autograd.function import Function
from ..backend import cpu_backend, get_backend
from ..backend.meta_backend import storage_free
from ._util import Tensor, grad_state

__all__ = ["clone"]


class ToCopy(Function):
    """Copy to another dtype and/or device; the gradient goes back the same way."""

    node_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, np_dtype, backend):
        ctx.src = (x._data.dtype, x._backend)
        data = x._data
        if backend is not x._backend:
            data = _transfer(data, x._backend, backend)
        if data.dtype.kind == "c" and np_dtype.kind != "c":
            # (PyTorch warns once a process)
            warn_user_once("Casting complex values to real discards the imaginary part")
            data = data.real
        if data.dtype != np_dtype:
            data = data.astype(np_dtype)
        elif data is x._data:
            data = data.copy()
        return Tensor._make(data, backend)

    @staticmethod
    def backward(ctx, grad):
        np_dtype, backend = ctx.src
        if grad._data.dtype.kind == "c" and np_dtype.kind != "c":
            grad = grad.real  # a real input's gradient: the real part, as the engine takes it
        return ToCopy.apply(grad, np_dtype, backend), None, None


def _transfer(data, src, dst):
    """Move an array between backends (GPU to CPU, or between GPUs) through the host if needed."""
    if dst.device.type == "cpu":
        return src.to_numpy(data)
    if dst.device.type == "meta":  # (its shape and dtype only: no copy of the values)
        return storage_free(data.shape, np.dtype(data.dtype))
    return dst.asarray(src.to_numpy(data))


def _parse_to(args, kwargs):
    """``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(tensor)``, keywords too."""
    dtype = kwargs.pop("dtype", None)
    dev = kwargs.pop("device", None)
    kwargs.pop("non_blocking", None)
    copy = kwargs.pop("copy", False)
    if kwargs:
        raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if a is None:  # to(None): no device given, as PyTorch
            continue
        if isinstance(a, Tensor):
            dtype, dev = a.dtype, a.device
        elif isinstance(a, (dt.dtype, type)) or (hasattr(a, "kind") and hasattr(a, "itemsize")):
            dtype = a
        elif isinstance(a, (str, _device_cls, int)) and not isinstance(a, bool):
            dev = f"cuda:{a}" if isinstance(a, int) else a
        elif isinstance(a, bool):
            continue
        else:
            raise TypeError(f"to() received an invalid argument of type {type(a).__name__}")
    return dtype, dev, copy


def to(self: Tensor, *args, **kwargs) -> Tensor:
    """This tensor with another dtype and/or on another device; itself if nothing changes.
    ``memory_format`` lays the result out as it names."""
    kwargs = dict(kwargs)
    memory_format = kwargs.pop("memory_format", None)
    if memory_format is not None:
        out = to(self, *args, **kwargs)
        if out is self and suggested_format(self._data) is memory_format:
            return self  # nothing to change, as PyTorch's (even when not contiguous)
        return laid_out(out, memory_format, "to")
    dtype, dev, copy = _parse_to(args, kwargs)
    np_dtype = dt.to_dtype(dtype).np if dtype is not None else self._data.dtype
    backend = get_backend(dev) if dev is not None else self._backend
    if np_dtype == self._data.dtype and backend is self._backend and not copy:
        return self
    return ToCopy.apply(self, np_dtype, backend)


def _caster(d):
    def cast(self: Tensor, memory_format=None) -> Tensor:
        return to(self, d, memory_format=memory_format)

    cast.__name__ = d.name
    return cast


def cpu(self: Tensor, memory_format=None) -> Tensor:
    return to(self, "cpu", memory_format=memory_format)


def cuda(self: Tensor, device=None, non_blocking: bool = False, memory_format=None) -> Tensor:
    if device is None:
        device = "cuda"
    elif isinstance(device, int):
        device = f"cuda:{device}"
    return to(self, device, memory_format=memory_format)


def type_as(self: Tensor, other: Tensor) -> Tensor:
    return to(self, other.dtype)


_BY_SCALAR_NAME = {f"{scalar}Tensor": name for name, scalar in dt.SCALAR_TYPE_NAMES.items()}


def parse_type_name(name: str) -> tuple:
    """(dtype, device type) of a legacy type's name: ``'torch.LongTensor'``,
    ``'torch.cuda.FloatTensor'`` (``gpugrad.`` for ``torch.`` too)."""
    module, _, short = name.rpartition(".")
    device_type = {"torch": "cpu", "gpugrad": "cpu", "torch.cuda": "cuda",
                   "gpugrad.cuda": "cuda"}.get(module)
    if device_type is None or short not in _BY_SCALAR_NAME:
        raise ValueError(f"invalid type: {name!r}")
    return dt.to_dtype(_BY_SCALAR_NAME[short]), device_type


def type_(self: Tensor, dtype=None, non_blocking: bool = False, **kwargs):
    """Without ``dtype``, the legacy type's name (``'torch.FloatTensor'``,
    ``'torch.cuda.LongTensor'``); else this tensor cast to ``dtype`` (a legacy type, its name,
    or a dtype), itself if it already is of that type."""
    kwargs.pop("async", None)  # the old name of non_blocking
    if kwargs:
        raise TypeError(f"type() got unexpected keyword arguments {sorted(kwargs)}")
    if dtype is None:
        prefix = "torch.cuda." if self.is_cuda else "torch."
        return f"{prefix}{dt.SCALAR_TYPE_NAMES[self.dtype.name]}Tensor"
    if isinstance(dtype, str):
        dtype, device_type = parse_type_name(dtype)
    elif hasattr(dtype, "_device_type"):  # a legacy type: gpugrad.LongTensor
        dtype, device_type = dtype.dtype, dtype._device_type
    elif isinstance(dtype, dt.dtype):
        device_type = self.device.type
    else:
        raise TypeError("dtype must be a type, str, or dtype object")
    if device_type != self.device.type:
        return to(self, device_type, dtype)
    return to(self, dtype)


class Clone(Function):
    node_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x):
        return x._new(x._data.copy())

    @staticmethod
    def backward(ctx, grad):
        return grad


def clone(input: Tensor, *, memory_format=None) -> Tensor:
    """A copy of ``input`` that is still connected to the graph: row-major, or laid out as
    ``memory_format`` names (``channels_last``...; ``preserve_format`` is row-major too)."""
    out = Clone.apply(input)
    if memory_format is None or memory_format is preserve_format:
        return out
    return laid_out(out, memory_format, "clone")


def contiguous(self: Tensor, memory_format=None) -> Tensor:
    """Itself if already contiguous (in ``memory_format``'s order: row-major by default,
    ``channels_last``...), else a copy that is (connected to the graph)."""
    if memory_format is None:
        if self._data.flags.c_contiguous:
            return self
        return Clone.apply(self)
    fmt = check_memory_format(memory_format, "contiguous")
    if fmt is preserve_format:
        if self._data.flags.c_contiguous:
            return self
        raise RuntimeError("preserve memory format is unsupported by the contiguous operator")
    return laid_out(self, fmt, "contiguous")


# ------------------------------------------------------------- to Python numbers and NumPy
def item(self: Tensor):
    """The value of a one-element tensor as a Python number."""
    if _capture.recorder is not None:
        _capture.host_access(".item() reads a tensor's value on the host")
    if self._data.size != 1:
        raise RuntimeError(
            f"a Tensor with {self._data.size} elements cannot be converted to Scalar"
        )
    if self._backend.device.type == "meta":
        raise RuntimeError("Tensor.item() cannot be called on meta tensors")
    return self._backend.to_numpy(self._data).item()  # (any shape of one element)

def tolist(self: Tensor):
    if _capture.recorder is not None:
        _capture.host_access(".tolist() reads a tensor's values on the host")
    return self._backend.to_numpy(self._data).tolist()

def numpy(self: Tensor, *, force: bool = False) -> np.ndarray:
    """The data as a NumPy array sharing memory (CPU tensors only, unless ``force``)."""
    if _capture.recorder is not None:
        _capture.host_access(".numpy() hands a tensor's memory to the host")
    if self._requires_grad and grad_state.enabled and not force:  # as PyTorch: grad mode too
        raise RuntimeError(
            "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
            "instead."
        )
    if self._backend.device.type != "cpu":
        if not force:
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() "
                "to copy the tensor to host memory first."
            )
        return self._backend.to_numpy(self._data)
    return self._data

def _array(self: Tensor, dtype=None, copy=None):
    """NumPy's hook (``np.asarray``, ``np.array``, ufuncs): ``numpy()``'s errors, so a tensor
    that requires grad is refused as in PyTorch; ``copy=True`` (``np.array``) never aliases."""
    arr = self.numpy()
    if dtype is not None and np.dtype(dtype) != arr.dtype:
        if copy is False:
            raise ValueError(f"can't convert a {self.dtype} tensor to {np.dtype(dtype)} "
                             "without a copy")
        return arr.astype(dtype)
    return arr.copy() if copy else arr

def _array_wrap(self: Tensor, array, context=None, return_scalar: bool = False) -> Tensor:
    """A NumPy ufunc's result on a tensor, as a CPU tensor (0-d for a scalar); booleans become
    uint8, as PyTorch does."""
    array = np.asarray(array)
    return Tensor._make(array.astype(np.uint8) if array.dtype == np.bool_ else array,
                        cpu_backend())

def _bool(self: Tensor) -> bool:
    if _capture.recorder is not None:
        _capture.host_access("bool(tensor): a branch on a tensor's value")
    if self._data.size != 1:
        many = "no values" if self._data.size == 0 else "more than one value"
        raise RuntimeError(f"Boolean value of Tensor with {many} is ambiguous")
    return bool(self.item())


def _python_scalar(self: Tensor):
    """The one value of ``self`` for ``float()``/``int()``/``complex()``: a ValueError, not
    ``item``'s RuntimeError, for any other size."""
    if self._data.size != 1:
        raise ValueError("only one element tensors can be converted to Python scalars")
    return self.item()


def _float(self: Tensor) -> float:
    if _capture.recorder is not None:
        _capture.host_access("float(tensor) reads a tensor's value on the host")
    if self.requires_grad and grad_state.enabled:  # as PyTorch: only float(), not .item()
        warn_user_once("Converting a tensor with requires_grad=True to a scalar may lead to "
                       "unexpected behavior.\nConsider using tensor.detach() first.")
    return float(_python_scalar(self))

def _complex(self: Tensor) -> complex:
    if _capture.recorder is not None:
        _capture.host_access("complex(tensor) reads a tensor's value on the host")
    return complex(_python_scalar(self))


def _int(self: Tensor) -> int:
    if _capture.recorder is not None:
        _capture.host_access("int(tensor) reads a tensor's value on the host")
    return int(_python_scalar(self))

def _index(self: Tensor) -> int:
    if _capture.recorder is not None:
        _capture.host_access("a tensor used as an index reads its value on the host")
    if self._data.dtype.kind not in "iub" or self._data.size != 1:
        raise TypeError("only integer tensors of a single element can be converted to an index")
    return int(self.item())


METHODS = {
    "item": item, "tolist": tolist, "numpy": numpy, "__array__": _array,
    "__array_wrap__": _array_wrap, "__bool__": _bool,
    "__float__": _float, "__int__": _int, "__index__": _index, "__complex__": _complex,
    "to": to, "cpu": cpu, "cuda": cuda, "type_as": type_as, "type": type_,
    "float": _caster(dt.float32), "double": _caster(dt.float64), "half": _caster(dt.float16),
    "bfloat16": _caster(dt.bfloat16),
    "long": _caster(dt.int64), "int": _caster(dt.int32), "short": _caster(dt.int16),
    "bool": _caster(dt.bool), "byte": _caster(dt.uint8), "char": _caster(dt.int8),
    "cfloat": _caster(dt.complex64), "cdouble": _caster(dt.complex128),
    "clone": clone, "contiguous": contiguous,
}
