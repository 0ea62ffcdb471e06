"""Random factories with PyTorch's names and signatures: ``rand``, ``randn``, ``randint``,
``randperm`` and their ``*_like`` forms. Each draws from ``generator`` (a ``gpugrad.Generator``
of the device the tensor is made on) or, without one, from that device's default generator."""

from __future__ import annotations

from . import _dtype as dt
from ._generator import rng_for
from .factories import _backend_for, _finish, _float_dtype, _like, _size, laid_out_like
from .tensor import Tensor

__all__ = ["rand", "randn", "randint", "randperm", "rand_like", "randn_like", "randint_like"]


def _random_float_dtype(dtype, fn: str):
    d = _float_dtype(dtype)
    if not d.is_floating_point:
        kernel = "check_uniform_bounds" if fn == "rand" else "normal_kernel_cpu"
        raise NotImplementedError(
            f'"{kernel}" not implemented for {dt.SCALAR_TYPE_NAMES[d.name]!r}')
    return d


def rand(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Uniform random values in [0, 1)."""
    d = _random_float_dtype(dtype, "rand")
    backend = _backend_for(device)
    rng = rng_for(generator, backend, "rand")
    return _finish(backend.rand(_size(size), d.np, rng), backend, requires_grad)


def randn(*size, generator=None, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Standard normal random values."""
    d = _random_float_dtype(dtype, "randn")
    backend = _backend_for(device)
    rng = rng_for(generator, backend, "randn")
    return _finish(backend.randn(_size(size), d.np, rng), backend, requires_grad)


def randint(low, high=None, size=None, *, generator=None, dtype=None, device=None,
            requires_grad: bool = False) -> Tensor:
    """Random integers in [low, high); ``randint(high, size)`` starts at 0."""
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size'")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    d = dt.to_dtype(dtype) if dtype is not None else dt.int64
    backend = _backend_for(device)
    rng = rng_for(generator, backend, "randint")
    return _finish(backend.randint(int(low), int(high), _size((size,)), d.np, rng), backend,
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
    if high is None:
        low, high = 0, low
    return laid_out_like(randint(low, high, input.shape, generator=generator, dtype=d,
                                 device=dev), input, memory_format, requires_grad,
                         "randint_like")
