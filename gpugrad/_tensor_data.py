"""How ``tensor()`` reads its data: nested sequences, scalars, NumPy arrays and tensors made a
NumPy array (with PyTorch's dtype inference, its ragged-list message and its warning for a list
of arrays), and the checks that Python numbers fit the integer dtype asked for."""

from __future__ import annotations

import functools

import numpy as np

from . import _dtype as dt
from ._warnings import warn_user_once
from .tensor import Tensor


def _infer_np_dtype(arr: np.ndarray, from_python: bool):
    """PyTorch's inference: Python floats take the default dtype, ints int64, bools bool."""
    kind = arr.dtype.kind
    if kind in dt.FLOAT_KINDS:
        return dt.get_default_dtype().np if from_python else arr.dtype
    if kind in "iu":
        return np.int64 if from_python else arr.dtype
    if kind == "c":  # (through the gpugrad dtype: a first complex tensor opens the gate)
        d = dt.get_default_dtype().to_complex() if from_python else dt.from_numpy_dtype(arr.dtype)
        return d.np
    if kind == "b":
        return np.bool_
    if kind in "US":
        raise TypeError("invalid data type 'str': a tensor holds numbers")
    raise TypeError(f"can't convert data of type {arr.dtype} to a tensor")


def _host_array(data, int64_target: bool = False):
    """Nested sequences, scalars and tensors to a NumPy array, and whether it came from Python.
    ``int64_target``: the tensor will hold Python ints as int64 (no dtype, or a signed integer
    one), so ints past int64 are PyTorch's overflow error."""
    if isinstance(data, Tensor):
        return data._backend.to_numpy(data._data), False
    if isinstance(data, np.ndarray):
        if not data.dtype.isnative:
            dt.from_numpy_dtype(data.dtype)  # (PyTorch's ValueError for the other byte order)
        return data, False
    if isinstance(data, np.generic):
        return np.asarray(data), False
    leaf_dtypes: set = {dt.int64} if isinstance(data, int) else set()
    if isinstance(data, (list, tuple)):
        data = _unwrap_nested(data, leaf_dtypes)
        if leaf_dtypes and None not in leaf_dtypes and not leaf_dtypes <= _PYTHON_LEAVES:
            # NumPy scalars and arrays and tensors among the leaves: all promoted together
            promoted = functools.reduce(dt.promote_types, [
                dt.get_default_dtype() if d is float else
                dt.get_default_dtype().to_complex() if d is complex else d
                for d in leaf_dtypes])
            return np.asarray(data, dtype=promoted.np), False
    if hasattr(data, "__cuda_array_interface__") or hasattr(data, "__dlpack__"):
        try:
            import cupy

            return cupy.asnumpy(cupy.asarray(data)), False
        except ImportError:
            pass
    try:
        arr = np.asarray(data)
    except ValueError as e:
        raise ValueError(_ragged_message(data, 1) or
                         f"can't build a tensor from ragged or mixed data: {e}") from None
    if (int64_target and arr.dtype.kind in "ufO" and leaf_dtypes
            and leaf_dtypes <= {dt.bool, dt.int64}):  # (NumPy's reading of ints past int64)
        raise ValueError("Overflow when unpacking long long")
    if arr.dtype == object:
        raise RuntimeError(  # PyTorch's type and words
            f"Could not infer dtype of {type(data).__name__}: unsupported elements")
    return arr, True


def _ragged_message(seq, dim: int):
    """PyTorch's words for the first length that differs among nested lists, or None."""
    if not isinstance(seq, (list, tuple)) or not seq:
        return None
    lengths = [len(x) if isinstance(x, (list, tuple)) else None for x in seq]
    if None in lengths:
        return None
    for got in lengths[1:]:
        if got != lengths[0]:
            return f"expected sequence of length {lengths[0]} at dim {dim} (got {got})"
    return next(filter(None, (_ragged_message(x, dim + 1) for x in seq)), None)


# float: the default dtype, complex: its complex counterpart, both looked up late
_PYTHON_LEAVES = {dt.bool, dt.int64, float, complex}


def _leaf_dtype(x):
    """A sequence element's own dtype as PyTorch infers it (None: left to NumPy)."""
    if isinstance(x, (np.ndarray, np.generic)):  # first: np.float64 is a Python float
        return dt.from_numpy_dtype(x.dtype) if x.dtype.kind in "biufc" else None
    if isinstance(x, bool):
        return dt.bool
    if isinstance(x, int):
        return dt.int64
    if isinstance(x, complex):
        return complex
    return float if isinstance(x, float) else None


# The leaf dtype of each plain Python number class (float: the default dtype, looked up late)
_PLAIN_LEAVES = {int: dt.int64, bool: dt.bool, float: float, complex: complex}


def _unwrap_nested(seq, leaf_dtypes: set):
    """``seq`` with its tensors as NumPy arrays; each leaf's dtype goes into ``leaf_dtypes``."""
    classes = {x.__class__ for x in seq}
    if classes.issubset(_PLAIN_LEAVES):  # a flat list of Python numbers: nothing to unwrap
        leaf_dtypes.update([_PLAIN_LEAVES[c] for c in classes])
        return seq
    out = []
    for x in seq:
        if isinstance(x, Tensor):
            if x._data.size != 1:  # (a list's items are numbers: PyTorch reads each with item())
                raise ValueError("only one element tensors can be converted to Python scalars")
            leaf_dtypes.add(x.dtype)
            out.append(x._backend.to_numpy(x._data).reshape(()))
        elif isinstance(x, (list, tuple)):
            out.append(_unwrap_nested(x, leaf_dtypes))
        else:
            if isinstance(x, np.ndarray):
                warn_user_once("Creating a tensor from a list of numpy.ndarrays is extremely "
                               "slow. Please consider converting the list to a single "
                               "numpy.ndarray with numpy.array() before converting to a tensor.")
            leaf_dtypes.add(_leaf_dtype(x))
            out.append(x)
    return out


def _check_range(arr: np.ndarray, np_dtype: np.dtype) -> None:
    """Python numbers for an integer tensor must fit its type, as PyTorch checks them (the rule
    of ``fill_``, ``_scalar_fit.fit_scalar``): negative ints down to ``-max`` wrap into an
    unsigned type, floats (NaN and infinity neither) must lie in its range."""
    if arr.dtype.kind == "u":  # NumPy's reading of Python ints past int64
        raise ValueError("Overflow when unpacking long long")
    info = np.iinfo(np_dtype)
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            fits = bool(np.all((arr >= info.min) & (arr <= info.max)))  # False for NaN
    else:
        lo = -info.max if info.min == 0 else info.min
        fits = lo <= int(arr.min()) and int(arr.max()) <= info.max
    if not fits:
        name = dt.from_numpy_dtype(np_dtype).name
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")


def _python_uint64(data, arr: np.ndarray) -> np.ndarray:
    """Python numbers for a uint64 tensor, checked one by one as PyTorch converts them: floats
    and negative ints are refused, and ints past int64 (which NumPy read as float64 when
    smaller ones are among them) convert exactly."""
    if arr.dtype.kind == "u":
        return arr
    if arr.dtype.kind == "f" and any(
            isinstance(v, float) for v in np.asarray(data, dtype=object).reshape(-1)):
        raise TypeError("an integer is required")
    if (arr < 0).any():
        raise OverflowError("can't convert negative int to unsigned")
    return np.array(data, dtype=np.uint64) if arr.dtype.kind == "f" else arr
