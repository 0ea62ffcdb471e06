"""Capture on the NumPy backend: arrays that record what is computed from them.

While a step is captured, every array that tensors hold is viewed as a ``Traced`` array (an
``ndarray`` subclass sharing the memory). NumPy hands every ufunc (``+``, ``exp``, ``sum``,
``@``...) and every array function (``where``, ``concatenate``...) that touches one to
``Traced``, which computes it on plain views, records the call with its output buffer in the
``Recorder``, and returns the result as ``Traced`` again. The methods that NumPy computes
without asking (``astype``, ``copy``, fancy indexing, ``reshape`` that copies...) are overridden
to record too. What reaches the host (``item``, ``bool``, printing) is reported to the recorder,
which turns a check inside gpugrad into a replayed check and a read in the user's code into a
reason not to replay.

A view of a recorded buffer is not recorded: it aliases the buffer, which the program keeps, so
it sees every replay's values. ``np.may_share_memory`` tells a view from a fresh result exactly
here, since a fresh result cannot overlap a live input.
"""

from __future__ import annotations

import operator
import sys
from functools import partial

import numpy as np

from .. import _capture


class CaptureError(Exception):
    """Why a captured step cannot be replayed (raised nowhere outside the compiler)."""


class Traced(np.ndarray):
    """An array whose computations a capture records (see the module docstring)."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        rec = _active()
        out = kwargs.get("out")
        plain_in = tuple([_plain(x) for x in inputs])
        if out is not None:
            kwargs["out"] = tuple([_plain(o) for o in out])
        if "where" in kwargs:
            kwargs["where"] = _plain(kwargs["where"])
        if rec is not None:
            rec.before_write(kwargs["out"] if out is not None
                             else plain_in[:1] if method == "at" else ())
        result = getattr(ufunc, method)(*plain_in, **kwargs)
        if rec is None:
            return result
        if method == "at":  # in place on its first operand
            rec.step(partial(ufunc.at, *plain_in, **kwargs), writes=(plain_in[0],))
            return None
        if out is not None:
            rec.step(_ufunc_step(ufunc, method, plain_in, kwargs), writes=kwargs["out"])
            return out[0] if len(out) == 1 else out
        many = isinstance(result, tuple)
        results = tuple([rec.fresh(r) for r in (result if many else (result,))])
        kwargs["out"] = results
        rec.step(_ufunc_step(ufunc, method, plain_in, kwargs), writes=())
        traced = tuple([r.view(Traced) for r in results])
        return traced if many else traced[0]

    def __array_function__(self, func, types, args, kwargs):
        rec = _active()
        plain_args, plain_kwargs = _plain_tree(args), _plain_tree(kwargs)
        if rec is None:
            return func(*plain_args, **plain_kwargs)
        return rec.call(func, plain_args, plain_kwargs, args, kwargs)

    # ---------------------------------------------------- methods NumPy computes on its own
    def astype(self, dtype, order="K", casting="unsafe", subok=True, copy=True):
        plain = _plain(self)
        rec = _active()
        result = plain.astype(dtype, order=order, casting=casting, copy=copy)
        if rec is None:
            return result
        if result is plain:
            return self
        out = rec.fresh(result)
        rec.step(partial(np.copyto, out, plain, casting="unsafe"), writes=())
        return out.view(Traced)

    def copy(self, order="C"):
        return self.astype(self.dtype, order=order)

    __copy__ = copy

    def __deepcopy__(self, memo):
        return self.copy()

    def __getitem__(self, key):
        rec = _active()
        plain, key = _plain(self), _plain_tree(key)
        if rec is not None and _has_bool_array(key):
            rec.cannot_replay("indexing with a boolean mask (the result's shape depends on "
                              "values)")
        result = plain[key]
        if rec is None:
            return result
        return rec.value(result, partial(_getitem, plain, key), (plain,))

    def __setitem__(self, key, value):
        rec = _active()
        plain, key, value = _plain(self), _plain_tree(key), _plain(value)
        if rec is not None:
            rec.before_write((plain,))
        plain[key] = value
        if rec is not None:
            rec.step(partial(operator.setitem, plain, key, value), writes=(plain,))

    def fill(self, value):
        rec = _active()
        plain = _plain(self)
        if rec is not None:
            rec.before_write((plain,))
        plain.fill(value)
        if rec is not None:
            rec.step(partial(np.ndarray.fill, plain, value), writes=(plain,))

    def sort(self, *args, **kwargs):
        rec = _active()
        plain = _plain(self)
        if rec is not None:
            rec.before_write((plain,))
        plain.sort(*args, **kwargs)
        if rec is not None:
            rec.step(partial(np.ndarray.sort, plain, *args, **kwargs), writes=(plain,))

    @property
    def base(self):
        # The plain array's answer: None when the viewed array owns its memory, so that the
        # engine steals a fresh gradient during a capture as it does eagerly
        # (autograd/engine_hooks.py, ``_owns``) instead of recording a copy.
        b = _base(self)
        return _base(b) if b is not None and type(b) is np.ndarray else b

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ------------------------------------------------------------ values reaching the host
    def __bool__(self):
        return _host_read(self, bool, "bool()")

    def __float__(self):
        return _host_read(self, float, "float()")

    def __int__(self):
        return _host_read(self, int, "int()")

    def __index__(self):
        return _host_read(self, operator.index, "an index")

    def __complex__(self):
        return _host_read(self, complex, "complex()")

    def item(self, *args):
        return _host_read(self, lambda a: a.item(*args), ".item()")

    def tolist(self):
        return _host_read(self, np.ndarray.tolist, ".tolist()", check=False)

    def tobytes(self, order="C"):
        return _host_read(self, lambda a: a.tobytes(order), ".tobytes()", check=False)

    def __repr__(self):
        return _host_read(self, repr, "printing a tensor", check=False)

    def __str__(self):
        return _host_read(self, str, "printing a tensor", check=False)

    def __format__(self, spec):
        return _host_read(self, lambda a: format(a, spec), "formatting a tensor", check=False)

    def __reduce__(self):
        return _host_read(self, lambda a: a.__reduce__(), "pickling a tensor", check=False)


_OUT_BY_KEYWORD = (np.maximum, np.minimum)  # NumPy 2.4+ deprecates their positional out


def _ufunc_step(ufunc, method, inputs, kwargs):
    """The replay step of a ufunc call; outputs passed by position when they are the only
    keyword (NumPy parses them about twice as fast: 0.18 against 0.34 us a call)."""
    if method == "__call__" and len(kwargs) == 1 and ufunc not in _OUT_BY_KEYWORD:
        if ufunc is np.matmul and _dot_ok(*inputs, *kwargs["out"]):
            return partial(np.dot, *inputs, *kwargs["out"])
        return partial(ufunc, *inputs, *kwargs["out"])
    return partial(getattr(ufunc, method), *inputs, **kwargs)


def _dot_ok(a, b, out) -> bool:
    """Whether ``np.dot`` may replay a 2-D float ``matmul``: it calls the same BLAS product
    (bit-identical on 2,592 shapes, strides and dtypes tried) with 0.4 us less overhead, which a
    recurrent step of tiny products feels."""
    return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.ndim == 2
            and b.ndim == 2 and a.dtype == b.dtype == out.dtype and a.dtype.kind == "f"
            and a.dtype.itemsize >= 4 and out.flags.c_contiguous)


def _value_method(name: str):
    """An ndarray method whose result NumPy computes without asking ``Traced``: a view passes
    through, a fresh result is recorded."""
    base = getattr(np.ndarray, name)

    def method(self, *args, **kwargs):
        rec = _active()
        plain = _plain(self)
        args, kwargs = _plain_tree(args), _plain_tree(kwargs)
        result = base(plain, *args, **kwargs)
        if rec is None:
            return result
        return rec.value(result, partial(base, plain, *args, **kwargs), (plain,))

    method.__name__ = name
    return method


for _name in ("reshape", "ravel", "flatten", "squeeze", "transpose", "swapaxes", "diagonal",
              "argmax", "argmin", "argsort", "take", "repeat", "cumsum", "cumprod", "dot",
              "searchsorted", "round", "choose", "compress", "trace", "conj", "conjugate",
              "nonzero"):
    setattr(Traced, _name, _value_method(_name))
del _name


# ---------------------------------------------------------------------------- helpers
_base = np.ndarray.base.__get__  # the C-level base, whatever a subclass says


def _active():
    rec = _capture.recorder
    return None if rec is None or rec.suspended else rec


def _plain(x):
    if isinstance(x, Traced):
        rec = _capture.recorder
        plain = x.view(np.ndarray)
        if rec is not None:
            rec.touch(x, plain)
        return plain
    return x


def _plain_tree(x):
    cls = x.__class__
    if cls is tuple or cls is list:
        return cls(_plain_tree(v) for v in x)
    if cls is dict:
        return {k: _plain_tree(v) for k, v in x.items()}
    return _plain(x)


def _has_bool_array(key) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, np.ndarray) and k.dtype == np.bool_ and k.ndim > 0 for k in keys)


def _getitem(arr, key):
    return arr[key]


def _host_read(arr, read, what: str, check: bool = True):
    plain = arr.view(np.ndarray)
    value = read(plain)
    rec = _active()
    if rec is not None:
        rec.host_read(plain, value, what, sys._getframe(2), check)
    return value


def into(out, compute, index: int) -> None:
    """Replay step of a result NumPy cannot write into a given buffer: compute, then copy."""
    value = compute()
    if np.shape(value) != out.shape:  # a shape that depends on values, not caught at capture
        from .capture import Diverged

        e = Diverged(f"a result's shape changed from {out.shape} to {np.shape(value)}")
        e.index = index
        raise e
    np.copyto(out, value, casting="unsafe")


# ---------------------------------------------------- NumPy's converters during a capture
# ``np.asarray`` and its kin return a plain view of a subclass: they would let values escape
# the recording. A capture replaces them with these, which keep ``Traced`` arrays traced.
_CONVERTERS = {}


def _asarray(a, dtype=None, order=None, **kwargs):
    if isinstance(a, Traced):
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    return _CONVERTERS["asarray"](a, dtype, order, **kwargs)


def _ascontiguousarray(a, dtype=None, **kwargs):
    if isinstance(a, Traced):
        a = a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
        return a if a.flags.c_contiguous else a.copy()
    return _CONVERTERS["ascontiguousarray"](a, dtype, **kwargs)


def _array(a, dtype=None, *args, copy=True, **kwargs):
    if isinstance(a, Traced):
        if copy is False or copy is None:
            return _asarray(a, dtype)
        return a.astype(a.dtype if dtype is None else dtype)
    return _CONVERTERS["array"](a, dtype, *args, copy=copy, **kwargs)


def _asanyarray(a, dtype=None, *args, **kwargs):
    if isinstance(a, Traced):
        return _asarray(a, dtype)
    return _CONVERTERS["asanyarray"](a, dtype, *args, **kwargs)


_REPLACEMENTS = {"asarray": _asarray, "ascontiguousarray": _ascontiguousarray,
                 "array": _array, "asanyarray": _asanyarray}

# Allocations: an array made during a capture is a buffer of the program, and its initial
# contents (zeros, ones, a fill value) are made again at its place in every replay, so that an
# accumulator written later starts from them each time.
_FILLS = {"empty": None, "empty_like": None, "zeros": 0, "zeros_like": 0, "ones": 1,
          "ones_like": 1, "full": "arg", "full_like": "arg"}


def _allocator(name: str, original):
    fill = _FILLS[name]

    def allocate(*args, **kwargs):
        result = original(*args, **kwargs)
        rec = _active()
        if rec is None or isinstance(result, Traced) or not isinstance(result, np.ndarray):
            return result
        rec.internal[id(result)] = result
        if fill == "arg":
            rec.steps.append(partial(np.copyto, result, result.copy()))
        elif fill is not None:
            rec.steps.append(partial(np.ndarray.fill, result, fill))
        return result.view(Traced)

    return allocate


def patch_numpy() -> None:
    for name, fn in _REPLACEMENTS.items():
        _CONVERTERS[name] = getattr(np, name)
        setattr(np, name, fn)
    for name in _FILLS:
        _CONVERTERS[name] = original = getattr(np, name)
        setattr(np, name, _allocator(name, original))


def unpatch_numpy() -> None:
    for name, fn in _CONVERTERS.items():
        setattr(np, name, fn)
    _CONVERTERS.clear()
