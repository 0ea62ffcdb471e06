"""Comparisons, logical and bitwise ops: no gradient; bool (or integer) results."""

from __future__ import annotations

import numpy as np

from .._dtype import SCALAR_TYPE_NAMES, from_numpy_dtype, not_implemented_for
from ..backend import cpu_backend
from ._broadcast import raise_broadcast_error
from ._util import (
    Tensor,
    data_as,
    is_complex_scalar,
    operator_method,
    result_dtype,
    scalar_or_tensor,
)

__all__ = [
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor",
    "logical_not", "bitwise_not", "bitwise_and", "bitwise_or", "bitwise_xor", "isnan", "isinf",
    "isfinite", "equal", "allclose", "bitwise_left_shift", "bitwise_right_shift",
]


def _operands(a, b, complex_ok: bool = False):
    """Both operands checked (Tensors or numbers, one device), and the Tensor among them.
    ``complex_ok``: Python complex numbers are taken too (by ``==`` and ``!=``)."""
    a = complex(a) if complex_ok and is_complex_scalar(a) else scalar_or_tensor(a, "input")
    b = complex(b) if complex_ok and is_complex_scalar(b) else scalar_or_tensor(b, "other")
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a._backend is not b._backend:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found tensors on {a.device} "
            f"and {b.device}"
        )
    return a, b, (a if isinstance(a, Tensor) else b)


def _compare(op: str, a, b) -> Tensor:
    a, b, t = _operands(a, b, complex_ok=op in ("eq", "ne"))
    np_dtype = result_dtype(a, b).np
    try:
        return t._new(t._backend.compare(op, data_as(a, np_dtype), data_as(b, np_dtype)))
    except ValueError as e:
        raise_broadcast_error(a, b, e)


_SHIFT_KERNELS = {"bitwise_left_shift": "lshift", "bitwise_right_shift": "rshift"}


def _bitwise(op: str, a, b) -> Tensor:
    a, b, t = _operands(a, b)
    rt = result_dtype(a, b)
    if rt.is_floating_point:  # (PyTorch's error names its kernel: bitwise_and_cpu, lshift_cpu)
        kernel = _SHIFT_KERNELS.get(op, op)
        device = "cuda" if t.device.type == "cuda" else "cpu"
        raise not_implemented_for(f"{kernel}_{device}", rt)
    try:
        return t._new(t._backend.bitwise(op, data_as(a, rt.np), data_as(b, rt.np)))
    except ValueError as e:
        raise_broadcast_error(a, b, e)


def _binary_op(impl, op: str, doc: str):
    def fn(input, other) -> Tensor:
        return impl(op, input, other)

    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = doc + " Broadcasts; Python numbers are accepted on either side."
    return fn


eq = _binary_op(_compare, "eq", "``input == other`` elementwise, as a bool tensor.")
ne = _binary_op(_compare, "ne", "``input != other`` elementwise, as a bool tensor.")
lt = _binary_op(_compare, "lt", "``input < other`` elementwise, as a bool tensor.")
le = _binary_op(_compare, "le", "``input <= other`` elementwise, as a bool tensor.")
gt = _binary_op(_compare, "gt", "``input > other`` elementwise, as a bool tensor.")
ge = _binary_op(_compare, "ge", "``input >= other`` elementwise, as a bool tensor.")
logical_and = _binary_op(_compare, "logical_and", "Elementwise logical AND (nonzero is True).")
logical_or = _binary_op(_compare, "logical_or", "Elementwise logical OR (nonzero is True).")
logical_xor = _binary_op(_compare, "logical_xor", "Elementwise logical XOR (nonzero is True).")
bitwise_and = _binary_op(_bitwise, "bitwise_and", "Bitwise AND of integer or bool tensors.")
bitwise_or = _binary_op(_bitwise, "bitwise_or", "Bitwise OR of integer or bool tensors.")
bitwise_xor = _binary_op(_bitwise, "bitwise_xor", "Bitwise XOR of integer or bool tensors.")
bitwise_left_shift = _binary_op(_bitwise, "bitwise_left_shift",
                                "``input << other`` of integer tensors (0 once shifted out).")
bitwise_right_shift = _binary_op(_bitwise, "bitwise_right_shift",
                                 "``input >> other`` of integer tensors (the sign fills in).")


def logical_not(input: Tensor) -> Tensor:
    return input._new(input._backend.xp.logical_not(input._data))


def bitwise_not(input: Tensor) -> Tensor:
    """Bitwise NOT of an integer or bool tensor (logical NOT for bool)."""
    if input._data.dtype.kind not in "biu":
        raise NotImplementedError(  # PyTorch's words for a kernel missing for a dtype
            f"\"bitwise_not_{input.device.type}\" not implemented for "
            f"'{SCALAR_TYPE_NAMES[input.dtype.name]}'")
    return input._new(input._backend.xp.invert(input._data))


def _invert(self: Tensor) -> Tensor:
    """``~tensor``: its own TypeError for floats, before the op is reached."""
    if self._data.dtype.kind not in "biu":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return bitwise_not(self)


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


def _eq_operator(self, other):
    """``==``: as ``eq``, NotImplemented for a foreign operand; a NumPy array is compared as a
    CPU tensor, as PyTorch's ``==`` does (its other operators leave arrays to NumPy)."""
    if isinstance(other, np.ndarray):
        try:
            from_numpy_dtype(other.dtype)
        except TypeError:  # (an array of objects, strings...: foreign, so ``==`` is False)
            return NotImplemented
        other = Tensor._make(other, cpu_backend())
    return _eq_or_foreign(self, other)


_eq_or_foreign = operator_method(eq)
_eq_operator.__name__ = _eq_operator.__qualname__ = "eq"


METHODS = {
    "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge,
    "logical_and": logical_and, "logical_or": logical_or, "logical_xor": logical_xor,
    "logical_not": logical_not, "bitwise_not": bitwise_not, "bitwise_and": bitwise_and,
    "bitwise_or": bitwise_or, "bitwise_xor": bitwise_xor, "isnan": isnan, "isinf": isinf,
    "isfinite": isfinite, "equal": equal, "allclose": allclose,
    "__eq__": _eq_operator, "__ne__": operator_method(ne), "__lt__": operator_method(lt),
    "__le__": operator_method(le), "__gt__": operator_method(gt), "__ge__": operator_method(ge),
    "__invert__": _invert, "__and__": operator_method(bitwise_and),
    "__or__": operator_method(bitwise_or), "__xor__": operator_method(bitwise_xor),
    "__rand__": operator_method(bitwise_and, reflected=True),
    "__ror__": operator_method(bitwise_or, reflected=True),
    "__rxor__": operator_method(bitwise_xor, reflected=True),
    "bitwise_left_shift": bitwise_left_shift, "bitwise_right_shift": bitwise_right_shift,
    "__lshift__": operator_method(bitwise_left_shift),
    "__rshift__": operator_method(bitwise_right_shift),
    "__rlshift__": operator_method(bitwise_left_shift, reflected=True),
    "__rrshift__": operator_method(bitwise_right_shift, reflected=True),
}
