"""Random factories with PyTorch's names and signatures: ``rand``, ``randn``, ``randint``,
``randperm``, their ``*_like`` forms, and ``binomial`` and ``poisson`` samples. Each draws from
``generator`` (a ``gpugrad.Generator`` of the device the tensor is made on) or, without one,
from that device's default generator."""

from __future__ import annotations

import numpy as np

from . import _dtype as dt
from ._generator import rng_for
from ._warnings import warn_user
from .autograd.function import Function
from .factories import _backend_for, _finish, _float_dtype, _like, _size, laid_out_like
from .tensor import Tensor

__all__ = ["rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like",
           "binomial", "poisson"]


def _random_float_dtype(dtype, fn: str):
    d = _float_dtype(dtype)
    if not d.is_floating_point and not d.is_complex:
        kernel = "check_uniform_bounds" if fn == "rand" else "normal_kernel_cpu"
        raise NotImplementedError(
            f'"{kernel}" not implemented for {dt.SCALAR_TYPE_NAMES[d.name]!r}')
    return d


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform random values in [0, 1)."""
    d = _random_float_dtype(dtype, "rand")
    backend = _backend_for(device)
    rng = rng_for(generator, backend, "rand")
    return _finish(_draw(backend.rand, _size(size), d, rng), backend, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal random values."""
    d = _random_float_dtype(dtype, "randn")
    backend = _backend_for(device)
    rng = rng_for(generator, backend, "randn")
    return _finish(_draw(backend.randn, _size(size), d, rng, scale=0.5 ** 0.5), backend,
                   requires_grad)


def _draw(sample, shape: tuple, d, rng, scale: float = 1.0):
    """``sample(shape, np_dtype, rng)`` of dtype ``d``; for a complex one, both parts drawn (as
    PyTorch's: each scaled by ``scale``, so a standard normal complex number has E|z|^2 = 1)."""
    if not d.is_complex:
        return sample(shape, d.np, rng)
    parts = sample(shape + (2,), d.to_real().np, rng)
    if scale != 1.0:
        parts *= scale
    return parts.view(d.np)[..., 0]


_KEYWORDS = "*, Generator generator, dtype dtype, device device, bool requires_grad"
_RANDINT_FORMS = (f"(int high, tuple of ints size, {_KEYWORDS})",
                  f"(int low, int high, tuple of ints size, {_KEYWORDS})")
_RANDINT_LIKE_FORMS = (f"(Tensor input, int high, {_KEYWORDS})",
                       f"(Tensor input, int low, int high, {_KEYWORDS})")


def _invalid_combination(fn: str, given, forms) -> TypeError:
    got = ", ".join(_type_name(a) for a in given)
    return TypeError(f"{fn}() received an invalid combination of arguments - got ({got}), but "
                     "expected one of:\n" + "".join(f" * {f}\n" for f in forms))


def _type_name(value) -> str:
    return "Tensor" if isinstance(value, Tensor) else type(value).__name__


def _as_int(value):
    """A Python, NumPy or one-element integer tensor value as an int; None for anything else
    (bools and floats included: PyTorch's ``int`` arguments refuse them)."""
    if isinstance(value, Tensor):
        ok = value.numel() == 1 and not value.is_floating_point() and value.dtype != dt.bool
        return int(value.item()) if ok else None
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        if not -2 ** 63 <= value < 2 ** 63:
            raise ValueError("Overflow when unpacking long long")
        return int(value)
    return None


def _randint_args(fn: str, low, high, size):
    """``(low, high, size)`` from ``(high, size)`` or ``(low, high, size)``, with PyTorch's
    argument errors: an int that is not one, a size that is not a tuple."""
    given = [a for a in (low, high, size) if a is not None]
    if size is None and high is not None and low is not None:  # (high, size)
        high, size, low = low, high, 0
    elif low is None or high is None:  # (high=, size=)
        low, high = 0, (high if low is None else low)
    sized = size is None or isinstance(size, (tuple, list))
    two_forms = len(given) == 2
    if two_forms and _as_int(high) is None:
        raise TypeError(f"{fn}(): argument 'high' (position 1) must be int, not "
                        f"{_type_name(high)}")
    if two_forms and not sized:
        raise TypeError(f"{fn}(): argument 'size' (position 2) must be tuple of ints, not "
                        f"{_type_name(size)}")
    if len(given) < 2 or not sized or _as_int(low) is None or _as_int(high) is None:
        raise _invalid_combination(fn, given, _RANDINT_FORMS)
    return _as_int(low), _as_int(high), size


def _check_random_bounds(low: int, high: int, d) -> None:
    """PyTorch's range checks of ``random_(from, to)`` for the result's dtype: an error for
    integers and bool, a warning where a float cannot hold every integer in the range."""
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    name = dt.CPP_TYPE_NAMES.get(d.name)
    if d.is_floating_point:
        digits = np.finfo(d.np).nmant + 1 if d is not dt.bfloat16 else 8
        for what, value in (("from", low), ("to - 1", high - 1)):
            if abs(value) > 2 ** digits:
                warn_user(f"{what} is out of bounds [-(2^{digits}), 2^{digits}]. Due to "
                          f"precision limitations {name} can support discrete uniform "
                          "distribution only within this range. This warning will become an "
                          "error in version 1.7 release, please fix the code in advance")
        return
    if name is None:
        raise RuntimeError("check_random_bounds handles only integral, floating-point and "
                           "boolean types")
    lo, hi = (0, 1) if d is dt.bool else (np.iinfo(d.np).min, np.iinfo(d.np).max)
    for what, value in (("from", low), ("to - 1", high - 1)):
        if not lo <= value <= hi:
            raise RuntimeError(f"{what} is out of bounds for {name}")


def randint(low=None, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Random integers in [low, high); ``randint(high, size)`` starts at 0."""
    low, high, size = _randint_args("randint", low, high, size)
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    _check_random_bounds(low, high, d)
    backend = _backend_for(device)
    rng = rng_for(generator, backend, "randint")
    return _finish(backend.randint(low, high, _size((size,)), d.np, rng), backend,
                   requires_grad)


def randperm(n: int, *, generator=None, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """A random permutation of the integers 0..n-1 (int64 by default)."""
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got {n}")
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    backend = _backend_for(device)
    rng = rng_for(generator, backend, "randperm")
    return _finish(backend.randperm(int(n), d.np, rng), backend, requires_grad)


def rand_like(input: Tensor, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad: bool = False, memory_format=None) -> Tensor:
    """``rand`` with the shape (and by default the dtype, device and layout) of ``input``."""
    d, dev = _like(input, dtype, device)
    return laid_out_like(rand(input.shape, generator=generator, dtype=d, device=dev), input,
                         memory_format, requires_grad, "rand_like")


def randn_like(input: Tensor, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad: bool = False, memory_format=None) -> Tensor:
    """``randn`` with the shape (and by default the dtype, device and layout) of ``input``."""
    d, dev = _like(input, dtype, device)
    return laid_out_like(randn(input.shape, generator=generator, dtype=d, device=dev), input,
                         memory_format, requires_grad, "randn_like")


def randint_like(input: Tensor, low, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad: bool = False, memory_format=None) -> Tensor:
    """``randint`` with the shape (and by default the dtype, device and layout) of
    ``input``."""
    d, dev = _like(input, dtype, device)
    given = [a for a in (input, low, high) if a is not None]
    if _as_int(low) is None or (high is not None and _as_int(high) is None):
        raise _invalid_combination("randint_like", given, _RANDINT_LIKE_FORMS)
    low, high = (0, _as_int(low)) if high is None else (_as_int(low), _as_int(high))
    return laid_out_like(randint(low, high, input.shape, generator=generator, dtype=d,
                                 device=dev), input, memory_format, requires_grad,
                         "randint_like")


# ------------------------------------------------------------------------- binomial, Poisson
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
