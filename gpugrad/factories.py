"""Tensor factories with PyTorch's names and signatures."""

from __future__ import annotations

import math
import sys

import numpy as np

from . import _dtype as dt
from ._device import device as _device_cls
from ._device import get_default_device
from ._format import type_name
from ._scalar_fit import fit_scalar
from ._tensor_data import _check_range, _host_array, _infer_np_dtype, _python_uint64
from ._typeinfo import _CHANNELS_LAST_ORDER, check_memory_format, preserve_format
from ._warnings import warn_user
from .backend import cpu_backend, get_backend
from .tensor import Tensor

__all__ = [
    "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace",
    "eye", "zeros_like", "ones_like", "full_like", "empty_like", "is_tensor", "numel",
    "scalar_tensor",
]


def _backend_for(device):
    if device is None:
        return get_backend(get_default_device())
    if isinstance(device, Tensor):
        return device._backend
    return get_backend(device)


def _finish(data, backend, requires_grad: bool) -> Tensor:
    t = Tensor._make(data, backend)
    if requires_grad:
        t._set_requires_grad(True, "creation")
    return t


def warn_copy_construct(spelled: str) -> None:
    """PyTorch's advice against copying a tensor by ``spelled`` (``torch.tensor(t)``)."""
    warn_user("To copy construct from a tensor, it is recommended to use "
              "sourceTensor.detach().clone() or sourceTensor.detach().clone().requires_grad_("
              f"True), rather than {spelled}(sourceTensor).")


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor that copies ``data`` (a number, nested sequence, array or tensor)."""
    if isinstance(data, Tensor) and \
            sys._getframe(1).f_globals.get("__name__", "").split(".")[0] != "gpugrad":
        warn_copy_construct("torch.tensor")  # the user's call, not gpugrad's own copies
    target = None if dtype is None else dt.to_dtype(dtype)
    arr, from_python = _host_array(data, target is None or (
        target.np.kind in "ib" or target.np == np.uint8))
    np_dtype = target.np if target is not None else _infer_np_dtype(arr, from_python)
    if from_python and arr.dtype.kind == "c" and np.dtype(np_dtype).kind != "c":
        raise TypeError("must be real number, not complex" if target.is_floating_point
                        else "'complex' object cannot be interpreted as an integer")
    if (from_python and arr.dtype != np_dtype and np.dtype(np_dtype).kind in "iu"
            and arr.dtype.kind in "iuf" and arr.size):
        if np_dtype == np.uint64:
            arr = _python_uint64(data, arr)
        else:
            _check_range(arr, np_dtype)
    if device is None and isinstance(data, Tensor):
        backend = data._backend
    else:
        backend = _backend_for(device)
    return _finish(backend.asarray(np.array(arr, dtype=np_dtype, copy=True)), backend,
                   requires_grad)


def scalar_tensor(value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    dtype = dtype or dt.get_default_dtype()
    return tensor(value, dtype=dtype, device=device, requires_grad=requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but shares memory with ``data`` when dtype and device already match."""
    if isinstance(data, Tensor):
        out = data
        if dtype is not None:
            out = out.to(dtype)
        if device is not None:
            out = out.to(device)
        return out
    if isinstance(data, np.ndarray):
        check_numpy_source(data)
    if isinstance(data, np.ndarray) and (device is None or _device_cls(device).type == "cpu"):
        if (device is not None or get_default_device().type == "cpu") and (
            dtype is None or dt.to_dtype(dtype).np == data.dtype
        ):
            dt.from_numpy_dtype(data.dtype)
            return Tensor._make(data, cpu_backend())
    return tensor(data, dtype=dtype, device=device)


def check_numpy_source(arr: np.ndarray, shares: bool = True) -> None:
    """PyTorch's checks on a NumPy array a tensor is made from: no negative strides (a
    ValueError), and, where the tensor would share its memory, a warning if it is read-only."""
    if any(s < 0 for s in arr.strides):
        raise ValueError("At least one stride in the given numpy array is negative, and tensors "
                         "with negative strides are not currently supported. (You can probably "
                         "work around this by making a copy of your array  with array.copy().) ")
    if shares and not arr.flags.writeable:
        warn_user("The given NumPy array is not writable, and PyTorch does not support "
                  "non-writable tensors. This means writing to this tensor will result in "
                  "undefined behavior. You may want to copy the array to protect its data or "
                  "make it writable before converting it to a tensor.")


def from_numpy(arr: np.ndarray) -> Tensor:
    """A CPU tensor that shares memory with the NumPy array ``arr``."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type_name(arr)})")
    dt.from_numpy_dtype(arr.dtype)
    check_numpy_source(arr)
    return Tensor._make(arr, cpu_backend())


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


def _size(size) -> tuple:
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if n.__class__ is not int or n < 0:
            break
    else:
        return size if size.__class__ is tuple else tuple(size)  # plain ints: the common case
    out = []
    for n in size:
        if isinstance(n, Tensor):
            n = int(n.item())
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f"size must be a sequence of ints, got {type(n).__name__}")
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {list(size)}")
        out.append(int(n))
    return tuple(out)


def _float_dtype(dtype):
    d = dt.to_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    return d


def _filled(fill, size, dtype, device, requires_grad, default=None) -> Tensor:
    shape = _size(size)
    backend = _backend_for(device)
    d = dt.to_dtype(dtype) if dtype is not None else (default or dt.get_default_dtype())
    xp = backend.xp
    if fill is None:
        data = xp.empty(shape, d.np)
    elif fill.__class__ is int and fill == 0:  # zeros: calloc'd memory, no pass to fill
        data = xp.zeros(shape, d.np)
    else:  # (not xp.full: NumPy's is a Python function costing ~0.7 µs more)
        data = xp.empty(shape, d.np)
        data.fill(fill)
    return _finish(data, backend, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of the given size."""
    return _filled(0, size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of the given size."""
    return _filled(1, size, dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of the given size."""
    return _filled(None, size, dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value`` (dtype inferred from it, as PyTorch)."""
    if isinstance(fill_value, (str, bytes)) or fill_value is None:
        raise TypeError(
            f"full(): argument 'fill_value' must be Number, not {type(fill_value).__name__}")
    if dtype is None:
        dtype = dt.result_type(fill_value)
    fill_value = fit_scalar(fill_value, dt.to_dtype(dtype))
    return _filled(fill_value, (size,) if isinstance(size, int) else tuple(size), dtype, device,
                   requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Values from ``start`` to ``end`` (exclusive) by ``step``."""
    if end is None:
        start, end = 0, start
    start, end, step = (x.item() if isinstance(x, Tensor) else x for x in (start, end, step))
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(x, float) for x in (start, end, step))
        dtype = dt.get_default_dtype() if is_float else dt.int64
    d = dt.to_dtype(dtype)
    backend = _backend_for(device)
    if d.is_floating_point or d.is_complex:
        data = np.arange(start, end, step, dtype=np.float64)
    else:
        data = _integer_arange(start, end, step, d)
    return _finish(backend.asarray(data.astype(d.np)), backend, requires_grad)


def _integer_arange(start, end, step, d) -> np.ndarray:
    """An integer ``arange`` from bounds that may be floats, as PyTorch's kernel counts it:
    int64 truncates all three first; the narrower integers count the values from the float
    bounds and step from the truncated start by the truncated step."""
    if d.name == "int64" or not any(isinstance(x, float) for x in (start, end, step)):
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
        return np.arange(start, end, step, dtype=np.int64)
    size = max(0, math.ceil((end - start) / step))
    return int(start) + int(step) * np.arange(size, dtype=np.int64)


def linspace(start, end, steps: int, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` values evenly spaced from ``start`` to ``end`` inclusive."""
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start, end = (x.item() if isinstance(x, Tensor) else x for x in (start, end))
    d = _float_dtype(dtype)
    backend = _backend_for(device)
    return _finish(backend.asarray(_linspace_values(start, end, int(steps), d.np)), backend,
                   requires_grad)


# PyTorch's kernel computes ``start + step * i`` in the dtype: float32 and float64 with one
# rounding (its CPU build contracts it into a fused multiply-add), computed here in a wider
# float and rounded once; float16 and bfloat16 rounding after each operation, as here.
_WIDER = {np.dtype(np.float32): np.float64, np.dtype(np.float64): np.longdouble}


def _linspace_values(start, end, steps: int, np_dtype):
    """The values of ``linspace`` as PyTorch computes them: ``step = (end - start) / (steps -
    1)`` in the dtype, the first half counted up from ``start``, the second down from ``end``."""
    np_dtype = np.dtype(np_dtype)
    if np_dtype.kind in "iu":  # the ends made integers, the values computed in float64
        computed, first, last = np.dtype(np.float64), int(start), int(end)
    else:
        computed, first, last = np_dtype, start, end
    if computed.kind not in "fV" or steps < 2:  # (the float64 values, rounded)
        return np.linspace(float(start), float(end), steps, dtype=np.float64).astype(np_dtype)
    scalar = computed.type
    wide = _WIDER.get(computed, scalar)
    first, last = scalar(first), scalar(last)
    step = wide((last - first) / scalar(steps - 1))
    half = steps // 2
    up = wide(first) + step * np.arange(half).astype(wide)
    down = wide(last) - step * np.arange(steps - 1 - half, -1, -1).astype(wide)
    return np.concatenate([up, down]).astype(computed).astype(np_dtype)  # (rounded, then cast)


def eye(n: int, m: int | None = None, *, dtype=None, device=None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix (n x m)."""
    d = _float_dtype(dtype)
    backend = _backend_for(device)
    return _finish(backend.xp.eye(n, n if m is None else m, dtype=d.np), backend, requires_grad)


def _like(t: Tensor, dtype, device):
    return (dtype if dtype is not None else t.dtype), (device if device is not None else t.device)


def _dense_order(data):
    """The dims of ``data`` from outermost to innermost in memory when its elements are dense
    and do not overlap (a permuted row-major layout), else None."""
    strides = data.strides
    if any(s < 0 for s in strides):
        return None
    order = sorted(range(data.ndim), key=lambda d: -strides[d])  # (stable: ties keep dim order)
    expected = data.dtype.itemsize
    for d in reversed(order):
        if data.shape[d] != 1:
            if strides[d] != expected:
                return None
            expected *= data.shape[d]
    return order


def laid_out_like(out: Tensor, t: Tensor, memory_format, requires_grad: bool,
                  fn: str) -> Tensor:
    """``out`` (a fresh row-major tensor of ``t``'s shape) in the layout a ``*_like``
    factory's ``memory_format`` asks: ``preserve_format`` (the default) keeps the strides of a
    dense ``t``, as PyTorch; then ``requires_grad``."""
    fmt = preserve_format if memory_format is None else check_memory_format(memory_format, fn)
    if fmt is preserve_format:
        order = _dense_order(t._data) if not t._data.flags.c_contiguous else None
    else:
        order = _CHANNELS_LAST_ORDER.get(fmt)
        if order is not None:
            if t.dim() != len(order):
                raise RuntimeError(f"required rank {len(order)} tensor to use {fmt._name} format")
            order = order[::-1]
    data = out._data
    if order is not None and order != sorted(order):
        data = data.transpose(order).copy().transpose(np.argsort(order).tolist())
    return _finish(data, out._backend, requires_grad)


def zeros_like(t: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    d, dev = _like(t, dtype, device)
    return laid_out_like(zeros(t.shape, dtype=d, device=dev), t, memory_format, requires_grad,
                         "zeros_like")


def ones_like(t: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
              memory_format=None) -> Tensor:
    d, dev = _like(t, dtype, device)
    return laid_out_like(ones(t.shape, dtype=d, device=dev), t, memory_format, requires_grad,
                         "ones_like")


def empty_like(t: Tensor, *, dtype=None, layout=None, device=None, requires_grad: bool = False,
               memory_format=None) -> Tensor:
    d, dev = _like(t, dtype, device)
    return laid_out_like(empty(t.shape, dtype=d, device=dev), t, memory_format, requires_grad,
                         "empty_like")


def full_like(t: Tensor, fill_value, *, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    d, dev = _like(t, dtype, device)
    return laid_out_like(full(t.shape, fill_value, dtype=d, device=dev), t, memory_format,
                         requires_grad, "full_like")
