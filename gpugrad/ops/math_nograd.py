"""The elementwise ops of PyTorch without a gradient that ``math_more`` exports: bool results
(``signbit``, ``isposinf``, ``isneginf``, ``isreal``, ``isclose``), the step function
``heaviside``, ``nextafter``, integer ``gcd``/``lcm``, and ``positive``. Each computes on the
array module directly; PyTorch has no derivative for them either."""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ._broadcast import raise_broadcast_error
from ._util import Tensor, check_tensor, result_dtype, scalar_or_tensor


def signbit(input: Tensor) -> Tensor:
    """True where the sign bit is set (``-0.0`` and NaNs with the bit included)."""
    d = check_tensor(input, "signbit")._data
    xp = input._backend.xp
    if d.dtype.kind in dt.FLOAT_KINDS:
        return input._new(xp.signbit(d if d.dtype.kind == "f" else d.astype(np.float32)))
    return input._new(d < 0 if d.dtype.kind != "b" else xp.zeros(d.shape, bool))


def isposinf(input: Tensor) -> Tensor:
    """True where ``input`` is +inf."""
    d = check_tensor(input, "isposinf")._data
    return input._new(d == np.inf if d.dtype.kind in dt.FLOAT_KINDS
                      else input._backend.xp.zeros(d.shape, bool))


def isneginf(input: Tensor) -> Tensor:
    """True where ``input`` is -inf."""
    d = check_tensor(input, "isneginf")._data
    return input._new(d == -np.inf if d.dtype.kind in dt.FLOAT_KINDS
                      else input._backend.xp.zeros(d.shape, bool))


def isreal(input: Tensor) -> Tensor:
    """Where the imaginary part is 0: everywhere for a real tensor."""
    d = check_tensor(input, "isreal")._data
    xp = input._backend.xp
    return input._new(d.imag == 0 if d.dtype.kind == "c" else xp.ones(d.shape, bool))


def positive(input: Tensor) -> Tensor:
    """``input`` itself (``+input``); refused on bool tensors, as in PyTorch."""
    if check_tensor(input, "positive")._data.dtype.kind == "b":
        raise TypeError(
            "The `+` operator, on a bool tensor is not supported. If you are trying to invert "
            "a mask, use the `~` or `logical_not()` operator instead.")
    return input


def _same_device(a: Tensor, b: Tensor) -> None:
    if a._backend is not b._backend:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found tensors on {a.device} "
            f"and {b.device}")


def _broadcast_call(fn, a: Tensor, b: Tensor, rt: dt.dtype, name: str) -> Tensor:
    _same_device(a, b)
    try:
        return a._new(fn(a._data.astype(rt.np, copy=False), b._data.astype(rt.np, copy=False)))
    except ValueError as e:
        raise_broadcast_error(a, b, e)


def heaviside(input: Tensor, values: Tensor) -> Tensor:
    """The step function: 0 where ``input < 0``, ``values`` where it is 0, 1 where it is
    positive. No gradient (PyTorch has none)."""
    check_tensor(input, "heaviside")
    check_tensor(values, "heaviside", "values")
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes")
    xp = input._backend.xp

    def step(x, v):
        return xp.where(x == 0, v, (x > 0).astype(x.dtype))

    return _broadcast_call(step, input, values, input.dtype, "heaviside")


def nextafter(input: Tensor, other: Tensor) -> Tensor:
    """The next float after ``input`` towards ``other``. No gradient."""
    check_tensor(input, "nextafter")
    check_tensor(other, "nextafter", "other")
    rt = result_dtype(input, other)
    if not rt.is_floating_point:
        raise NotImplementedError(f"\"nextafter_cpu\" not implemented for '{_torch_name(rt)}'")
    return _broadcast_call(input._backend.xp.nextafter, input, other, rt, "nextafter")


def _torch_name(d: dt.dtype) -> str:
    return dt.SCALAR_TYPE_NAMES[d.name]


def _integer_op(name: str, np_name: str, doc: str):
    def fn(input: Tensor, other: Tensor) -> Tensor:
        check_tensor(input, name)
        other = scalar_or_tensor(other)
        if not isinstance(other, Tensor):
            other = input._new(input._backend.xp.asarray(other))
        rt = result_dtype(input, other)
        if rt.np.kind not in "iu":
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{_torch_name(rt)}'")
        return _broadcast_call(getattr(input._backend.xp, np_name), input, other, rt, name)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = doc
    return fn


gcd = _integer_op("gcd", "gcd", "The greatest common divisor of integer tensors (non-negative).")
lcm = _integer_op("lcm", "lcm", "The least common multiple of integer tensors (non-negative).")


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    """True where ``|input - other| <= atol + rtol * |other|`` (equal infinities too; NaNs
    only with ``equal_nan``)."""
    check_tensor(input, "isclose")
    check_tensor(other, "isclose", "other")
    if input.dtype is not other.dtype:
        raise RuntimeError(f"{_torch_name(input.dtype)} did not match {_torch_name(other.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    xp = input._backend.xp
    if input._data.dtype.kind == "b":
        return _broadcast_call(xp.equal, input, other, input.dtype, "isclose")
    # (on floats; bfloat16 and integers are compared in float32 / the default float dtype)
    ft = input.dtype if input._data.dtype.kind == "f" else dt.get_default_dtype()
    if input._data.dtype.kind == "V":
        ft = dt.float32

    def close(a, b):
        return xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)

    return _broadcast_call(close, input, other, ft, "isclose")
