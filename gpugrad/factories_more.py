"""More factories with PyTorch's names and signatures: tensors of given strides
(``empty_strided``, ``empty_permuted``), views of Python buffers and arrays (``frombuffer``,
``asarray``), ``logspace`` and the deprecated inclusive ``range``.
"""

from __future__ import annotations

import math

import numpy as np

from . import _dtype as dt
from ._device import device as _device_cls
from ._typeinfo import check_factory_options
from ._warnings import warn_user
from .factories import (
    _backend_for,
    _finish,
    _float_dtype,
    _host_array,
    _infer_np_dtype,
    _size,
    check_numpy_source,
)
from .tensor import Tensor

__all__ = [
    "empty_strided", "empty_permuted", "frombuffer", "asarray", "logspace", "range",
]

_pyrange = range


# ------------------------------------------------------------------------- strided memory
def _strided(backend, shape: tuple, strides: tuple, np_dtype):
    """An array of ``shape`` and element ``strides`` over fresh memory just large enough."""
    if any(s < 0 for s in strides):
        raise RuntimeError(f"as_strided: Negative strides are not supported at the moment, got "
                           f"strides: {list(strides)}")
    extent = 1 + sum((n - 1) * s for n, s in zip(shape, strides)) if all(shape) else 0
    flat = backend.xp.empty(extent, np_dtype)
    item = flat.dtype.itemsize
    return backend.xp.lib.stride_tricks.as_strided(flat, shape, [s * item for s in strides])


def empty_strided(size, stride, *, dtype=None, layout=None, device=None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialized tensor of ``size`` whose elements are ``stride`` elements apart in each
    dim (overlapping strides share elements, as in PyTorch)."""
    check_factory_options(layout, pin_memory, "empty_strided")
    shape, strides = _size((tuple(size),)), tuple(int(s) for s in stride)
    if len(shape) != len(strides):
        raise RuntimeError(f"dimensionality of sizes ({len(shape)}) must match dimensionality "
                           f"of strides ({len(strides)})")
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    backend = _backend_for(device)
    return _finish(_strided(backend, shape, strides, d.np), backend, requires_grad)


def empty_permuted(size, physical_layout, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialized tensor of ``size`` laid out in memory with its dims in the order
    ``physical_layout`` (outermost first): ``empty_permuted((N, C, H, W), (0, 2, 3, 1))`` is
    channels-last."""
    check_factory_options(layout, pin_memory, "empty_permuted")
    shape, order = _size((tuple(size),)), [int(i) for i in physical_layout]
    if len(shape) != len(order):
        raise RuntimeError("Number of dimensions in size does not match the length of the "
                           f"physical_layout; i.e. len(size) = {len(shape)} is not equal to "
                           f"len(physical_layout) = {len(order)}")
    if sorted(order) != list(_pyrange(len(shape))):
        raise RuntimeError(f"Dimension {order} is not a permutation of the dims of size "
                           f"{list(shape)}")
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    backend = _backend_for(device)
    physical = backend.xp.empty([shape[i] for i in order], d.np)
    data = physical.transpose(np.argsort(order))
    return _finish(data, backend, requires_grad)


# ------------------------------------------------------------------------- buffers, arrays
def frombuffer(buffer, *, dtype, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D CPU tensor over the memory of a Python object that has the buffer protocol
    (``bytearray``, ``array.array``, ``memoryview``...), without a copy: ``count`` elements of
    ``dtype`` from byte ``offset`` (``count=-1``: to the end). A read-only buffer gives a
    read-only tensor (in-place writes raise), with PyTorch's warning."""
    d = dt.to_dtype(dtype)
    view = memoryview(buffer)
    length = view.nbytes
    if length <= 0 or count == 0:
        raise ValueError(f"both buffer length ({length}) and count ({count}) must not be 0")
    if offset < 0 or offset >= length:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than "
                         f"buffer length ({length} bytes) minus 1")
    item = d.itemsize
    if count < 0:
        if (length - offset) % item:
            raise ValueError(f"buffer length ({length - offset} bytes) after offset ({offset} "
                             f"bytes) must be a multiple of element size ({item})")
        count = (length - offset) // item
    elif count * item > length - offset:
        raise ValueError(f"requested buffer length ({count} * {item} bytes) after offset "
                         f"({offset} bytes) must not be greater than actual buffer length "
                         f"({length} bytes)")
    if view.readonly:
        warn_user("The given buffer is not writable: the tensor made on it is read-only too "
                  "(gpugrad raises on in-place writes to it). Copy the buffer or make it "
                  "writable first to write to the tensor.")
    arr = np.frombuffer(view.cast("B"), dtype=d.np, count=count, offset=offset)
    from .backend import cpu_backend

    return _finish(arr, cpu_backend(), requires_grad)


def _target_backend(device, default):
    from .backend import get_backend

    return get_backend(device) if device is not None else default


def asarray(obj, *, dtype=None, device=None, copy: bool | None = None,
            requires_grad: bool = False) -> Tensor:
    """``obj`` as a tensor, sharing its memory where PyTorch does: a tensor (returned itself
    when dtype and device match), a NumPy array on the CPU, an object with the buffer protocol
    (its bytes read as ``dtype``, the default float dtype without one), a CuPy array on its
    GPU. Sequences and scalars are copied. ``copy=True`` always copies; ``copy=False`` raises
    ValueError where a copy would be needed."""
    if isinstance(obj, Tensor):
        backend = _target_backend(device, obj._backend)
        d = dt.to_dtype(dtype) if dtype is not None else obj.dtype
        if copy is False:
            if d is not obj.dtype:
                raise ValueError(f"can't alias tensor with dtype '{_scalar_name(obj.dtype)}' "
                                 f"into dtype '{_scalar_name(d)}'.")
            if backend is not obj._backend:
                raise ValueError(f"can't alias tensor from device '{obj.device}' to "
                                 f"'{backend.device}'.")
        if copy or d is not obj.dtype or backend is not obj._backend:
            out = obj.detach().to(device=backend.device, dtype=d, copy=True)
        else:
            out = obj
        return out.requires_grad_(True) if requires_grad else out
    if not isinstance(obj, (np.ndarray, np.generic)) and _has_buffer(obj):
        d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
        return asarray(frombuffer(obj, dtype=d), device=device, copy=copy,
                       requires_grad=requires_grad)
    if isinstance(obj, np.ndarray):
        check_numpy_source(obj, shares=not copy)
    shares = _shares_array(obj, device)
    if shares is not None:
        arr, backend = shares
        return asarray(Tensor._make(arr, backend), dtype=dtype, device=device, copy=copy,
                       requires_grad=requires_grad)
    if copy is False:
        raise ValueError("can't alias arbitrary sequence into a tensor.")
    arr, from_python = _host_array(obj)
    np_dtype = dt.to_dtype(dtype).np if dtype is not None else _infer_np_dtype(arr, from_python)
    backend = _backend_for(device)
    return _finish(backend.asarray(np.array(arr, dtype=np_dtype, copy=True)), backend,
                   requires_grad)


def _scalar_name(d) -> str:
    return dt.SCALAR_TYPE_NAMES[d.name]


def _has_buffer(obj) -> bool:
    try:
        memoryview(obj)
    except TypeError:
        return False
    return True


def _shares_array(obj, device):
    """``(array, backend)`` for an array whose memory a tensor can share: a NumPy array (CPU),
    or a CuPy array (its GPU); None for anything else."""
    from .backend import cpu_backend, get_backend

    if isinstance(obj, np.ndarray):
        dt.from_numpy_dtype(obj.dtype)
        return obj, cpu_backend()
    if type(obj).__module__.startswith("cupy") and hasattr(obj, "__cuda_array_interface__"):
        dt.from_numpy_dtype(obj.dtype)
        return obj, get_backend(_device_cls("cuda", obj.device.id))
    return None


# ------------------------------------------------------------------------- sequences
def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, layout=None,
             device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    check_factory_options(layout, pin_memory, "logspace")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start, end = (x.item() if isinstance(x, Tensor) else x for x in (start, end))
    d = _float_dtype(dtype)
    backend = _backend_for(device)
    data = np.power(float(base), np.linspace(float(start), float(end), int(steps)))
    if not d.is_floating_point:
        data = np.trunc(data)
    return _finish(backend.asarray(data.astype(d.np)), backend, requires_grad)


def range(start=0, end=None, step=1, *, dtype=None, layout=None, device=None,  # noqa: A001
          requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """Deprecated (as in PyTorch): values from ``start`` to ``end`` *inclusive* by ``step``,
    in the default float dtype unless ``dtype`` is given. Use ``arange``."""
    warn_user("torch.range is deprecated and will be removed in a future release because its "
              "behavior is inconsistent with Python's range builtin. Instead, use torch.arange, "
              "which produces values in [start, end).")
    check_factory_options(layout, pin_memory, "range")
    if end is None:
        raise TypeError('range() missing 1 required positional argument: "end"')
    start, end, step = (x.item() if isinstance(x, Tensor) else x for x in (start, end, step))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = int(math.floor((end - start) / step)) + 1
    d = _float_dtype(dtype)
    backend = _backend_for(device)
    data = start + np.arange(n, dtype=np.float64) * step
    return _finish(backend.asarray(data.astype(d.np)), backend, requires_grad)
