"""Comparisons, logical and bitwise ops: no gradient; bool (or integer) results."""

from __future__ import annotations

from ._util import Tensor, data_as, result_dtype, scalar_or_tensor
from .elementwise import reflected

__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
    "logical_not", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "isnan", "isinf",
    "isfinite", "equal", "allclose",
]


def _compare(op: str, a, b) -> Tensor:
    a = scalar_or_tensor(a, "input")
    b = scalar_or_tensor(b, "other")
    t = a if isinstance(a, Tensor) else b
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a._backend is not b._backend:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found tensors on {a.device} "
            f"and {b.device}"
        )
    np_dtype = result_dtype(a, b).np
    return t._new(t._backend.compare(op, data_as(a, np_dtype), data_as(b, np_dtype)))


def eq(input, other) -> Tensor:
    return _compare("eq", input, other)


def ne(input, other) -> Tensor:
    return _compare("ne", input, other)


def lt(input, other) -> Tensor:
    return _compare("lt", input, other)


def le(input, other) -> Tensor:
    return _compare("le", input, other)


def gt(input, other) -> Tensor:
    return _compare("gt", input, other)


def ge(input, other) -> Tensor:
    return _compare("ge", input, other)


def logical_and(input, other) -> Tensor:
    return _compare("logical_and", input, other)


def logical_or(input, other) -> Tensor:
    return _compare("logical_or", input, other)


def logical_xor(input, other) -> Tensor:
    return _compare("logical_xor", input, other)


def _bitwise(op: str, a, b) -> Tensor:
    a = scalar_or_tensor(a, "input")
    b = scalar_or_tensor(b, "other")
    rt = result_dtype(a, b)
    if rt.is_floating_point:
        raise NotImplementedError(  # PyTorch's type for a kernel missing for a dtype
            f"\"{op}\" not implemented for '{rt}': only integer and bool tensors")
    t = a if isinstance(a, Tensor) else b
    return t._new(t._backend.bitwise(op, data_as(a, rt.np), data_as(b, rt.np)))


def bitwise_and(input, other) -> Tensor:
    return _bitwise("bitwise_and", input, other)


def bitwise_or(input, other) -> Tensor:
    return _bitwise("bitwise_or", input, other)


def bitwise_xor(input, other) -> Tensor:
    return _bitwise("bitwise_xor", input, other)


def logical_not(input: Tensor) -> Tensor:
    return input._new(input._backend.xp.logical_not(input._data))


def bitwise_not(input: Tensor) -> Tensor:
    if input._data.dtype.kind not in "biu":
        raise TypeError(
            f"bitwise_not is only supported for integer and bool tensors, got {input.dtype}"
        )
    return input._new(input._backend.xp.invert(input._data))


def isnan(input: Tensor) -> Tensor:
    return input._new(input._backend.xp.isnan(input._data))


def isinf(input: Tensor) -> Tensor:
    return input._new(input._backend.xp.isinf(input._data))


def isfinite(input: Tensor) -> Tensor:
    return input._new(input._backend.xp.isfinite(input._data))


def equal(input: Tensor, other: Tensor) -> bool:
    """True if both tensors have the same shape and elements."""
    return input.shape == other.shape and bool(eq(input, other).all())


def allclose(input: Tensor, other: Tensor, rtol=1e-5, atol=1e-8, equal_nan=False) -> bool:
    xp = input._backend.xp
    return bool(xp.allclose(input._data, other._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


METHODS = {
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "logical_not": logical_not, "bitwise_not": bitwise_not, "bitwise_and": bitwise_and,
    "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor, "isnan": isnan, "isinf": isinf,
    "isfinite": isfinite, "equal": equal, "allclose": allclose,
    "__eq__": eq, "__ne__": ne, "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge,
    "__invert__": bitwise_not, "__and__": bitwise_and, "__or__": bitwise_or,
    "__xor__": bitwise_xor, "__rand__": reflected(bitwise_and),
    "__ror__": reflected(bitwise_or), "__rxor__": reflected(bitwise_xor),
}
