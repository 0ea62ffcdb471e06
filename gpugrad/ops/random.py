"""Random sampling ops: ``normal``, ``bernoulli`` and the in-place fills (``uniform_``,
``normal_``, ``random_``, ``bernoulli_``, ``exponential_``, ``geometric_``, ``log_normal_``,
``cauchy_``).

Each draws from ``generator`` (a ``gpugrad.Generator`` of the tensor's device) or that device's
default generator. Draws are made in float64 from the backend's uniform and normal streams and
cast to the tensor's dtype. Sampling is not differentiable: as in PyTorch, the inputs of
``normal`` and ``bernoulli`` get zero gradients, and a filled tensor's old values get none.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _dtype as dt
from .._generator import rng_for
from ..autograd.function import Function
from ._broadcast import raise_broadcast_error
from ._inplace_graph import CopySlices
from ._util import Tensor, check_tensor
from .inplace import _overwrite

__all__ = ["normal", "bernoulli"]


def _fill_node(name: str, inputs=(0,)):
    """The node an in-place fill leaves, with PyTorch's name and inputs (the target; a tensor
    of probabilities shows as an input that gets no gradient)."""
    return type(name, (CopySlices,), {"node_name": name, "_next_inputs": inputs})


UniformBackward = _fill_node("UniformBackward0")
NormalBackward = _fill_node("NormalBackward0")
RandomFromToBackward = _fill_node("RandomBackward0")
RandomToBackward = _fill_node("RandomBackward1")
RandomBackward = _fill_node("RandomBackward2")
BernoulliTensorBackward = _fill_node("BernoulliBackward1", (0, None))
BernoulliFloatBackward = _fill_node("BernoulliBackward2")
ExponentialBackward = _fill_node("ExponentialBackward0")
GeometricBackward = _fill_node("GeometricBackward0")
LogNormalBackward = _fill_node("LogNormalBackward0")
CauchyBackward = _fill_node("CauchyBackward0")


def _uniform(t: Tensor, generator, fn: str):
    """float64 uniform [0, 1) draws of ``t``'s shape."""
    backend = t._backend
    return backend.rand(t._data.shape, np.float64, rng_for(generator, backend, fn))


def _gaussian(t: Tensor, generator, fn: str):
    backend = t._backend
    return backend.randn(t._data.shape, np.float64, rng_for(generator, backend, fn))


def _fill(self: Tensor, values, node) -> Tensor:
    return _overwrite(self, self._new(values.astype(self._data.dtype, copy=False)), node)


def _continuous(self: Tensor, fn: str, kernel: str | None = None) -> None:
    """Continuous distributions fill floating-point tensors only (PyTorch's words)."""
    if self._data.dtype.kind in dt.FLOAT_KINDS:
        return
    name = dt.SCALAR_TYPE_NAMES[self.dtype.name]
    if kernel is None:
        raise RuntimeError(
            f"{fn} distribution is a continuous probability distribution. dtype must be a "
            f"floating point but you specified {name}"
        )
    raise NotImplementedError(f'"{kernel}" not implemented for {name!r}')


def check_uniform(self: Tensor, low, high) -> None:
    """PyTorch's checks of a uniform fill of ``self`` on ``[low, high)`` (``uniform_``,
    ``nn.init.uniform_``)."""
    _continuous(self, "uniform", "check_uniform_bounds")
    if low > high:
        raise RuntimeError(
            f"uniform_ expects to return a [from, to) range, but found from={low:g} > "
            f"to={high:g}")


def check_normal(self: Tensor, std) -> None:
    """PyTorch's checks of a normal fill of ``self`` (``normal_``, ``nn.init.normal_``)."""
    _continuous(self, "normal", "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")


def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None, **kwargs) -> Tensor:
    """Fill with samples of the uniform distribution on ``[from, to)``."""
    low, high = kwargs.pop("from", a), kwargs.pop("to", b)
    if kwargs:
        raise TypeError(f"uniform_() got unexpected keyword arguments {sorted(kwargs)}")
    check_uniform(self, low, high)
    u = _uniform(self, generator, "uniform_")
    return _fill(self, u * (high - low) + low, UniformBackward)


def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of the normal distribution N(``mean``, ``std``²)."""
    check_normal(self, std)
    return _fill(self, _gaussian(self, generator, "normal_") * std + mean, NormalBackward)


def _random_bounds(self: Tensor, low: int, high: int | None) -> tuple[int, int]:
    """[low, high) for ``random_``: by default every integer the dtype holds exactly."""
    np_dtype = self._data.dtype
    floating = np_dtype.kind in dt.FLOAT_KINDS
    if floating:
        limit = 2 ** (np.finfo(np_dtype).nmant + 1) + 1
        lo_ok, hi_max = True, limit
    elif np_dtype.kind == "b":
        lo_ok, hi_max = low >= 0, 2
    else:
        info = np.iinfo(np_dtype)
        lo_ok, hi_max = info.min <= low <= info.max, info.max + 1
    if high is None:
        high = limit if floating else hi_max
    if low >= high:
        raise RuntimeError(
            f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}"
        )
    ctype = {"u": "unsigned char"}.get(np_dtype.kind, str(np_dtype))
    if not lo_ok:
        raise RuntimeError(f"from is out of bounds for {ctype}")
    if high > hi_max:
        raise RuntimeError(f"to - 1 is out of bounds for {ctype}")
    return low, high


def random_(self: Tensor, *args, generator=None, **kwargs) -> Tensor:
    """Fill with integers drawn uniformly from ``[from, to)``: ``random_()`` covers what the
    dtype holds exactly, ``random_(to)`` starts at 0."""
    bounds = list(args) + [kwargs.pop(k) for k in ("from", "to") if k in kwargs]
    if kwargs or len(bounds) > 2:
        raise TypeError("random_() takes at most 'from' and 'to'")
    if len(bounds) == 2:
        low, high = bounds
        node = RandomFromToBackward if high is not None else RandomBackward
    elif len(bounds) == 1:
        low, high, node = 0, bounds[0], RandomToBackward
    else:
        low, high, node = 0, None, RandomBackward
    low, high = _random_bounds(self, int(low), None if high is None else int(high))
    backend = self._backend
    rng = rng_for(generator, backend, "random_")
    values = backend.randint(low, high, self._data.shape, np.int64, rng)
    return _fill(self, values, node)


def bernoulli_(self: Tensor, p=0.5, *, generator=None) -> Tensor:
    """Fill with 1 with probability ``p`` (a number, or a tensor broadcast to ``self``) and 0
    otherwise."""
    u = _uniform(self, generator, "bernoulli_")
    if isinstance(p, Tensor):
        probs = p._data
        if bool(((probs < 0) | (probs > 1)).any()):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        return _fill(self, u < probs, BernoulliTensorBackward)
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _fill(self, u < p, BernoulliFloatBackward)


def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of the exponential distribution of rate ``lambd``."""
    _continuous(self, "Exponential")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    xp = self._backend.xp
    u = _uniform(self, generator, "exponential_")
    return _fill(self, -xp.log1p(-u) / lambd, ExponentialBackward)


def geometric_(self: Tensor, p: float, *, generator=None) -> Tensor:
    """Fill with the number of Bernoulli(``p``) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    xp = self._backend.xp
    u = _uniform(self, generator, "geometric_")
    trials = xp.maximum(xp.ceil(xp.log1p(-u) / math.log1p(-p)), 1)
    return _fill(self, trials, GeometricBackward)


def log_normal_(self: Tensor, mean: float = 1.0, std: float = 2.0, *, generator=None) -> Tensor:
    """Fill with ``exp`` of N(``mean``, ``std``²) samples."""
    _continuous(self, "log_normal", "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    xp = self._backend.xp
    values = xp.exp(_gaussian(self, generator, "log_normal_") * std + mean)
    return _fill(self, values, LogNormalBackward)


def cauchy_(self: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator=None) -> Tensor:
    """Fill with samples of the Cauchy distribution centred on ``median`` of scale ``sigma``."""
    _continuous(self, "Cauchy")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    xp = self._backend.xp
    u = _uniform(self, generator, "cauchy_")
    return _fill(self, median + sigma * xp.tan(math.pi * (u - 0.5)), CauchyBackward)


# ------------------------------------------------------------------------------ functional
def _zeros_like(grad: Tensor, ref) -> Tensor | None:
    """A zero gradient for the tensor input ``ref`` (None for a number)."""
    if not isinstance(ref, Tensor):
        return None
    return Tensor._make(grad._backend.xp.zeros(ref._data.shape, grad._data.dtype), grad._backend)


class Normal(Function):
    """``mean + std * N(0, 1)`` drawn elementwise; the gradients are zero, as PyTorch's."""

    node_name = "NormalBackward3"

    @staticmethod
    def forward(ctx, mean, std, rng):
        ctx.inputs = (mean, std)
        ref = mean if isinstance(mean, Tensor) else std
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        try:
            shape = np.broadcast_shapes(np.shape(m) if m is mean else m.shape,
                                        np.shape(s) if s is std else s.shape)
        except ValueError as e:
            raise_broadcast_error(mean, std, e)
        noise = ref._backend.randn(shape, np.float64, rng)
        dtype = mean._data.dtype if isinstance(mean, Tensor) else std._data.dtype
        return ref._new((noise * s + m).astype(dtype, copy=False))

    @staticmethod
    def backward(ctx, grad):
        mean, std = ctx.inputs
        return _zeros_like(grad, mean), _zeros_like(grad, std), None


class NormalTensorFloat(Normal):
    node_name = "NormalBackward1"


class NormalFloatTensor(Normal):
    node_name = "NormalBackward2"


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Samples of N(``mean``, ``std``²): elementwise for tensor ``mean`` and/or ``std`` (shapes
    broadcast), or ``size`` samples for two numbers."""
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_t and not std_t:
        if size is None:
            raise TypeError("normal() missing required argument 'size' for float mean and std")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        from ..sampling import randn

        out = randn(size, generator=generator, dtype=dtype, device=device) * std + mean
        return out.requires_grad_(requires_grad)
    ref = mean if mean_t else std
    if size is not None or dtype is not None or device is not None:
        raise TypeError("normal(): size, dtype and device are only for float mean and std")
    if ref._data.dtype.kind not in dt.FLOAT_KINDS or (
            mean_t and std_t and std._data.dtype.kind not in dt.FLOAT_KINDS):
        raise NotImplementedError(
            f'"normal_kernel_cpu" not implemented for '
            f"{dt.SCALAR_TYPE_NAMES[(std if std_t and not mean_t else mean).dtype.name]!r}"
        )
    if std_t:
        if bool((std._data < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    rng = rng_for(generator, ref._backend, "normal")
    cls = Normal if mean_t and std_t else NormalTensorFloat if mean_t else NormalFloatTensor
    return cls.apply(mean, std, rng)


class Bernoulli(Function):
    """1 with probability ``input`` and 0 otherwise, elementwise; the gradient is zero."""

    node_name = "BernoulliBackward0"

    @staticmethod
    def forward(ctx, probs, rng):
        data = probs._data
        if bool(((data < 0) | (data > 1)).any()):
            raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
        u = probs._backend.rand(data.shape, np.float64, rng)
        return probs._new((u < data).astype(data.dtype))

    @staticmethod
    def backward(ctx, grad):
        return Tensor._make(grad._backend.xp.zeros_like(grad._data), grad._backend), None


def bernoulli(input: Tensor, p=None, *, generator=None) -> Tensor:
    """1 with probability ``input`` (or ``p``, when given, for every element) and 0 otherwise,
    in ``input``'s shape and dtype."""
    check_tensor(input, "bernoulli")
    if p is not None:
        out = Tensor._make(input._backend.xp.empty_like(input._data), input._backend)
        return bernoulli_(out, p, generator=generator)
    if input._data.dtype.kind not in dt.FLOAT_KINDS:
        raise NotImplementedError(
            f'"bernoulli_tensor_cpu_p_" not implemented for '
            f"{dt.SCALAR_TYPE_NAMES[input.dtype.name]!r}"
        )
    return Bernoulli.apply(input, rng_for(generator, input._backend, "bernoulli"))


METHODS = {
    "uniform_": uniform_, "normal_": normal_, "random_": random_, "bernoulli_": bernoulli_,
    "exponential_": exponential_, "geometric_": geometric_, "log_normal_": log_normal_,
    "cauchy_": cauchy_, "bernoulli": bernoulli,
}
