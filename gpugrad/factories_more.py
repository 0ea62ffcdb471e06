"""More factories with PyTorch's names and signatures: tensors of given strides
(``empty_strided``, ``empty_permuted``), views of Python buffers and arrays (``frombuffer``,
``asarray``), ``logspace``, the deprecated inclusive ``range``, the signal windows (Hann,
Hamming, Blackman, Bartlett, Kaiser), and binomial and Poisson samples.
"""

from __future__ import annotations

import math

import numpy as np

from . import _dtype as dt
from ._device import device as _device_cls
from ._generator import rng_for
from ._typeinfo import check_factory_options
from ._warnings import warn_user
from .autograd.function import Function
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
    "hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window",
    "binomial", "poisson",
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


# ------------------------------------------------------------------------- windows
def _window(fn: str, window_length: int, periodic: bool, dtype, layout, device,
            requires_grad: bool, pin_memory: bool, formula) -> Tensor:
    """A window of ``window_length`` points: ``formula(k, n)`` at k = 0 .. n-1 over n points,
    n = ``window_length`` + 1 when ``periodic`` (the last point dropped, for spectral
    analysis), else ``window_length``. Computed in float64, cast to ``dtype``."""
    check_factory_options(layout, pin_memory, fn)
    if isinstance(window_length, bool) or not isinstance(window_length, (int, np.integer)):
        raise TypeError(f"{fn}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    if window_length < 0:
        raise RuntimeError(f"{fn} requires non-negative window_length, got "
                           f"window_length={window_length}")
    d = _float_dtype(dtype)
    if not d.is_floating_point:
        raise RuntimeError(f"{fn} expects floating point dtypes, got: {d}")
    n = window_length + 1 if periodic else window_length
    return _window_tensor(window_length, n, d, device, requires_grad, formula)


def _window_tensor(length: int, n: int, d, device, requires_grad: bool, formula) -> Tensor:
    """``formula(k, n)`` at k = 0 .. length-1 (ones for a length of 0 or 1), computed in float64
    and cast to the dtype ``d``: the windows here and ``signal.windows``, after their checks."""
    backend = _backend_for(device)
    if length <= 1:
        values = np.ones(length)
    else:
        values = formula(np.arange(length, dtype=np.float64), n)
    return _finish(backend.asarray(values.astype(d.np)), backend, requires_grad)


def _cosine_sum(*coefficients):
    """``sum_j (-1)^j a_j cos(2 pi j k / (n - 1))``: Hann, Hamming, Blackman, Nuttall."""
    def formula(k, n):
        phase = 2 * np.pi * k / (n - 1)
        return sum((-1) ** j * a * np.cos(j * phase) for j, a in enumerate(coefficients))
    return formula


def _triangle(k, n):
    """Bartlett's window ``1 - |2k / (n - 1) - 1|``."""
    return 1 - np.abs(2 * k / (n - 1) - 1)


def _kaiser(beta: float):
    """``I0(beta sqrt(1 - (2k / (n - 1) - 1)^2)) / I0(beta)``, I0 the modified Bessel function
    of order 0."""
    def formula(k, n):
        ratio = 2 * k / (n - 1) - 1
        return np.i0(beta * np.sqrt(np.clip(1 - ratio * ratio, 0, None))) / np.i0(beta)
    return formula


def hann_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                device=None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``0.5 - 0.5 cos(2 pi k / (N - 1))``."""
    return _window("hann_window", window_length, periodic, dtype, layout, device,
                   requires_grad, pin_memory, _cosine_sum(0.5, 0.5))


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54,
                   beta: float = 0.46, *, dtype=None, layout=None, device=None,
                   requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """``alpha - beta cos(2 pi k / (N - 1))``."""
    return _window("hamming_window", window_length, periodic, dtype, layout, device,
                   requires_grad, pin_memory, _cosine_sum(alpha, beta))


def blackman_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False,
                    pin_memory: bool = False) -> Tensor:
    """``0.42 - 0.5 cos(2 pi k / (N - 1)) + 0.08 cos(4 pi k / (N - 1))``."""
    return _window("blackman_window", window_length, periodic, dtype, layout, device,
                   requires_grad, pin_memory, _cosine_sum(0.42, 0.5, 0.08))


def bartlett_window(window_length: int, periodic: bool = True, *, dtype=None, layout=None,
                    device=None, requires_grad: bool = False,
                    pin_memory: bool = False) -> Tensor:
    """The triangle ``1 - |2k / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, dtype, layout, device,
                   requires_grad, pin_memory, _triangle)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *,
                  dtype=None, layout=None, device=None, requires_grad: bool = False,
                  pin_memory: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - (2k / (N - 1) - 1)^2)) / I0(beta)``, I0 the modified Bessel function
    of order 0."""
    return _window("kaiser_window", window_length, periodic, dtype, layout, device,
                   requires_grad, pin_memory, _kaiser(beta))


# ------------------------------------------------------------------------- sampling
class _Sample(Function):
    """A draw from a distribution whose parameters are the inputs; the gradients are zero,
    as PyTorch's (``node_name`` set per distribution)."""

    @staticmethod
    def forward(ctx, draw, *params):
        ctx.shapes = [p._data.shape for p in params]
        return params[0]._new(draw())

    @staticmethod
    def backward(ctx, grad):
        xp = grad._backend.xp
        return (None, *(Tensor._make(xp.zeros(s, grad._data.dtype), grad._backend)
                        for s in ctx.shapes))


class _Poisson(_Sample):
    node_name = "PoissonBackward0"


class _Binomial(_Sample):
    node_name = "BinomialBackward0"


def _host_stream(backend, generator, fn: str) -> np.random.Generator:
    """A NumPy generator seeded from one draw of ``generator`` (or the device's default):
    binomial and Poisson samples are drawn on the host for every device, so that one code
    path serves both (the draws then follow the device generator's seed)."""
    rng = rng_for(generator, backend, fn)
    seed = backend.randint(0, 2**62, (), np.int64, rng)
    return np.random.default_rng(int(backend.to_numpy(seed)))


def poisson(input: Tensor, generator=None) -> Tensor:
    """A Poisson sample with rate ``input`` (non-negative, floating) at each element."""
    if not isinstance(input, Tensor):
        raise TypeError(f"poisson(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")
    if not input.is_floating_point():
        raise NotImplementedError(
            f'"poisson_cpu" not implemented for {dt.SCALAR_TYPE_NAMES[input.dtype.name]!r}')
    backend = input._backend
    rates = backend.to_numpy(input._data).astype(np.float64)
    if (rates < 0).any() or np.isnan(rates).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    stream = _host_stream(backend, generator, "poisson")

    def draw():
        return backend.asarray(stream.poisson(rates).astype(input._data.dtype))

    return _Poisson.apply(draw, input)


def binomial(count: Tensor, prob: Tensor, generator=None) -> Tensor:
    """The number of successes of ``count`` trials with success probability ``prob``, drawn at
    each element (both floating, of one dtype; ``prob`` broadcast to ``count``'s shape)."""
    for name, t in (("count", count), ("prob", prob)):
        if not isinstance(t, Tensor):
            raise TypeError(f"binomial(): argument '{name}' must be Tensor, not "
                            f"{type(t).__name__}")
        if not t.is_floating_point():
            raise ValueError(f"binomial only supports floating-point dtypes for {name}, got: "
                             f"{dt.SCALAR_TYPE_NAMES[t.dtype.name]}")
    if prob.dtype is not count.dtype:
        raise RuntimeError(f"Found dtype {dt.SCALAR_TYPE_NAMES[prob.dtype.name]} but expected "
                           f"{dt.SCALAR_TYPE_NAMES[count.dtype.name]}")
    if prob._backend is not count._backend:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {count.device} and {prob.device}!")
    backend = count._backend
    n = backend.to_numpy(count._data).astype(np.float64)
    p = np.broadcast_to(backend.to_numpy(prob._data).astype(np.float64), n.shape)
    if (n < 0).any() or ((p < 0) | (p > 1)).any() or np.isnan(p).any():
        raise RuntimeError("binomial: count must be non-negative and prob in [0, 1]")
    stream = _host_stream(backend, generator, "binomial")

    def draw():
        return backend.asarray(stream.binomial(n.astype(np.int64), p)
                               .astype(count._data.dtype))

    return _Binomial.apply(draw, count, prob)
