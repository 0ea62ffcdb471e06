"""Helpers shared by the ops: operand handling, dtype promotion, dims."""

from __future__ import annotations

import numbers
import operator
import sys

import numpy as np

from .. import _capture
from .. import _dtype as dt
from .._scalar_fit import check_int64
from ..autograd.grad_mode import state as grad_state
from ..tensor import Tensor

__all__ = ["Tensor", "grad_state", "math_ns", "data_as", "check_tensor", "result_dtype",
           "scalar_or_tensor", "foreign_operand", "operator_method", "wrap_dims", "wrap_dim",
           "is_scalar", "float_result", "conjugate", "is_complex_scalar"]

_SCALARS = (bool, int, float, np.bool_, np.integer, np.floating)


def conjugate(x):
    """The complex conjugate of a value a holomorphic op's gradient reads (an array, a Tensor,
    a Python number or None). PyTorch's convention sends ``grad * conj(f'(z))``; the formulas
    of ``f'`` have real coefficients, so that is ``f'`` of the conjugated values."""
    if x is None:
        return None
    return x.conj() if isinstance(x, Tensor) else x.conjugate()


def is_complex_scalar(x) -> bool:
    return isinstance(x, (complex, np.complexfloating))


def math_ns():
    """The ``gpugrad`` namespace, used as ``m`` when formulas run on Tensors (create_graph)."""
    return sys.modules["gpugrad"]


def is_scalar(x) -> bool:
    return isinstance(x, _SCALARS)


def foreign_operand(x) -> bool:
    """Whether ``x`` is of a type Tensor operators do not take (not a Tensor or a number):
    given one, they return NotImplemented, as PyTorch's, so that Python asks the other operand
    (its ``__radd__``...) and ``t == None`` is False. A NumPy array is such an operand too:
    asked, it computes with NumPy on the tensor's ``__array__`` and NumPy's rules, and
    ``__array_wrap__`` makes the result a CPU tensor (``t + np.ones(2)`` is float64), as in
    PyTorch; ``==`` alone converts the array (compare.py)."""
    return not isinstance(x, Tensor) and not isinstance(x, _SCALARS)


def operator_method(fn, reflected: bool = False):
    """``fn(self, other)`` (``fn(other, self)`` when ``reflected``) as a Tensor operator:
    NotImplemented for a foreign operand; the check runs only once ``fn`` has raised."""

    def method(self, other):
        try:
            return fn(other, self) if reflected else fn(self, other)
        except TypeError:
            if foreign_operand(other):
                return NotImplemented
            raise

    method.__name__ = method.__qualname__ = f"{'r' if reflected else ''}{fn.__name__}"
    method.__doc__ = fn.__doc__
    return method


def scalar_or_tensor(x, name: str = "other"):
    """Accept a Tensor or a Python number (NumPy scalars become Python numbers)."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, _SCALARS):
        return x.item() if isinstance(x, np.generic) else x
    raise TypeError(
        f"{name} must be a Tensor or a number, got {type(x).__name__}"
    )


def check_tensor(x, fn: str, name: str = "input") -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(x).__name__}")
    return x


def result_dtype(a, b) -> dt.dtype:
    return dt.binary_result_type(a, b)


def float_result(d: dt.dtype) -> dt.dtype:
    """Ops such as ``div``, ``exp`` compute integer inputs in the default float dtype (complex
    ones in their own)."""
    return d if d.is_floating_point or d.is_complex else dt.get_default_dtype()


def data_as(x, np_dtype):
    """The raw operand for a primitive: the array cast to ``np_dtype``, or the Python scalar."""
    if isinstance(x, Tensor):
        d = x._data
        return d if d.dtype == np_dtype else d.astype(np_dtype)
    if x.__class__ is int:
        check_int64(x)
    if np_dtype.kind == "b" and isinstance(x, numbers.Number):
        return bool(x)
    if np_dtype.kind in "iu" and isinstance(x, int):
        info = np.iinfo(np_dtype)
        if not info.min <= x <= info.max:  # wraps around, as PyTorch casts the number
            return np.array(x % 2**64, np.uint64).astype(np_dtype)[()]
    return x


def int_arg(value, fn: str, name: str, position: int | None = None) -> int:
    """``value`` where PyTorch's ``fn`` takes the int argument ``name`` (at ``position``, which
    its error names where given): an int, a NumPy integer, or an integer tensor of one element
    (read through ``__index__``, as PyTorch reads it: ``x.topk(min(100, keep.sum()))``);
    anything else is PyTorch's TypeError."""
    if value.__class__ is int:
        return value
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except (TypeError, RuntimeError):
            pass
    where = "" if position is None else f" (position {position})"
    raise TypeError(f"{fn}(): argument '{name}'{where} must be int, not {type(value).__name__}")


def wrap_dim(dim, ndim: int) -> int:
    if dim.__class__ is int and 0 <= dim < ndim:  # the common case, checked by the rule below
        return dim
    lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if isinstance(dim, Tensor) and not dim._data.ndim and dim._data.dtype.kind in "iu":
        dim = operator.index(dim)  # (a 0-d integer tensor: PyTorch reads its value)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"dim must be an int, got {type(dim).__name__}")
    if dim < lo or dim > hi:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{lo}, {hi}], but got {dim})"
        )
    return int(dim) % ndim if ndim else 0


def wrap_dims(dim, ndim: int):
    """``None`` (all dims) or a sorted tuple of distinct non-negative dims."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        if len(dim) == 0:
            return None
        dims = tuple(wrap_dim(d, ndim) for d in dim)
        if len(set(dims)) != len(dims):
            repeated = next(d for i, d in enumerate(dims) if d in dims[:i])
            raise RuntimeError(f"dim {repeated} appears multiple times in the list of dims")
        return tuple(sorted(dims)) if ndim else None
    return (wrap_dim(dim, ndim),) if ndim else None


@_capture.island(repeatable=True)  # checked at each replay of a captured step
def check_range(arr, low: int, high: int, error) -> None:
    """Raise ``error(v)`` for the first value ``v`` of the index array ``arr`` outside
    ``[low, high)`` (read on the host). An island: a captured step checks each new index, where
    a replayed read of the minimum and maximum would diverge at every new batch."""
    if arr.__class__ is np.ndarray and arr.size <= 64:  # a few host values: read in Python,
        values = arr.ravel().tolist()  # not by two NumPy reductions (~0.9 µs each)
        if not values or (low <= min(values) and max(values) < high):
            return
    elif arr.size == 0 or (low <= arr.min() and arr.max() < high):
        return
    bad = ((arr < low) | (arr >= high)).reshape(-1)
    raise error(int(arr.reshape(-1)[int(bad.argmax())]))
