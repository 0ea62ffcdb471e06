"""dtypes with PyTorch's names and PyTorch's type-promotion rules."""

from __future__ import annotations

import sys

import numpy as np

__all__ = [
    "dtype", "float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool", "float", "double", "half", "short", "int",
    "long", "complex64", "complex128", "cfloat", "cdouble",
    "get_default_dtype", "set_default_dtype", "promote_types", "result_type",
]

_BOOL, _INT, _FLOAT, _COMPLEX = 0, 1, 2, 3  # categories, in promotion order

# NumPy kinds of the floating dtypes: ``"f"``, and ``"V"`` for ``ml_dtypes.bfloat16`` (NumPy has no
# bfloat16 of its own; the ``ml_dtypes`` package adds it as a user dtype of kind "V"). gpugrad holds
# no other "V" dtype, so ``arr.dtype.kind in FLOAT_KINDS`` tells a floating array and
# ``kind == "V"`` a bfloat16 one.
FLOAT_KINDS = "fV"
# The kinds a tensor that requires grad may have: the floating ones and complex ("c").
GRAD_KINDS = "fVc"


class dtype:
    """A tensor element type (``gpugrad.float32`` ...), backed by a NumPy dtype."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_signed", "_category")

    def __init__(self, name: str, np_dtype):
        self.name = name
        self.np = np.dtype(np_dtype)
        self.itemsize = self.np.itemsize
        kind = self.np.kind
        floating = kind in FLOAT_KINDS
        self._category = _FLOAT if floating else (_BOOL if kind == "b" else _INT)
        self.is_floating_point = floating
        self.is_signed = floating or kind == "i"

    @property
    def is_complex(self) -> bool:
        return self._category == _COMPLEX

    def to_real(self) -> dtype:
        """The real dtype of this one's values: a complex dtype's parts, else itself."""
        return _COMPLEX_PARTS.get(self.name, self)

    def to_complex(self) -> dtype:
        """The complex dtype whose parts are this floating dtype (a complex one: itself)."""
        if self.is_complex:
            return self
        name = _COMPLEX_OF.get(self.name)
        if name is None:
            if self is float16:
                return _complex_of(self)  # (raises: no complex32 here)
            raise RuntimeError(f"Unknown Complex ScalarType for {SCALAR_TYPE_NAMES[self.name]}")
        return _BY_NAME[name]

    def __repr__(self) -> str:
        return f"gpugrad.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


class _Bfloat16(dtype):
    """bfloat16, whose NumPy dtype comes from ``ml_dtypes`` on first use: that package takes
    about half a second to import, which a program without bfloat16 need not pay."""

    __slots__ = ("_np",)

    def __init__(self):
        self.name, self.itemsize, self._np = "bfloat16", 2, None
        self._category, self.is_floating_point, self.is_signed = _FLOAT, True, True

    @property
    def np(self):
        if self._np is None:
            import ml_dtypes

            self._np = np.dtype(ml_dtypes.bfloat16)
            _FROM_NP[self._np] = self
        return self._np


class _Gate:
    """Hooks to run on the first use of a group of dtypes (the limited unsigned ones, the
    complex ones): until then the group's NumPy dtypes are not in ``_FROM_NP``, so that a
    program that never uses them pays nothing for their checks."""

    __slots__ = ("dtypes", "hooks")

    def __init__(self):
        self.dtypes, self.hooks = [], []  # hooks: None once opened

    def on_open(self, hook) -> None:
        """Call ``hook()`` before the group's first use (now, if that was)."""
        if self.hooks is None:
            hook()
        else:
            self.hooks.append(hook)

    def open(self) -> None:
        hooks, self.hooks = self.hooks, None
        _FROM_NP.update((d._np, d) for d in self.dtypes)
        for hook in hooks:
            hook()

    def close(self, hooks: list) -> None:
        """Closed again, with ``hooks`` to run on the next first use (for the test suite)."""
        for d in self.dtypes:
            _FROM_NP.pop(d._np, None)
        self.hooks = list(hooks)


class _GatedDtype(dtype):
    """A dtype of a ``_Gate``'s group: its NumPy dtype is handed out through ``np``, so that the
    first use of one (a factory, a cast, an array of that type made a tensor) opens the gate."""

    __slots__ = ("_np", "_gate")

    def __init__(self, name: str, np_dtype, gate: _Gate, category: int):
        self.name, self._np, self._gate = name, np.dtype(np_dtype), gate
        self.itemsize = self._np.itemsize
        self._category, self.is_floating_point = category, False
        self.is_signed = category == _COMPLEX
        gate.dtypes.append(self)

    @property
    def np(self):
        if self._gate.hooks is not None:
            self._gate.open()
        return self._np


_UNSIGNED_GATE, _COMPLEX_GATE = _Gate(), _Gate()


def _limited_unsigned(name: str, np_dtype) -> dtype:
    """uint16, uint32, uint64, PyTorch's "limited support" unsigned types: creation, casts,
    views, equality and a few ops (``ops/_unsigned.py`` refuses the rest as PyTorch does, and
    ``promote_types`` refuses to mix them with another non-floating type)."""
    return _GatedDtype(name, np_dtype, _UNSIGNED_GATE, _INT)


float16 = dtype("float16", np.float16)
bfloat16 = _Bfloat16()
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
uint16 = _limited_unsigned("uint16", np.uint16)
uint32 = _limited_unsigned("uint32", np.uint32)
uint64 = _limited_unsigned("uint64", np.uint64)
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)  # noqa: A001 - PyTorch's name
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001
# Complex tensors: a first set of ops computes on them (``ops/_complex.py`` refuses the rest).
complex64 = _GatedDtype("complex64", np.complex64, _COMPLEX_GATE, _COMPLEX)
complex128 = _GatedDtype("complex128", np.complex128, _COMPLEX_GATE, _COMPLEX)
cfloat, cdouble = complex64, complex128
_COMPLEX_PARTS = {"complex64": float32, "complex128": float64}
_COMPLEX_OF = {"float32": "complex64", "float64": "complex128", "bfloat16": "complex64"}
COMPLEX = frozenset((complex64, complex128))

_ALL = (float16, bfloat16, float32, float64, uint8, int8, int16, int32, int64, bool, uint16,
        uint32, uint64, complex64, complex128)
LIMITED_UNSIGNED = frozenset((uint16, uint32, uint64))
# their NumPy dtypes, for checks on raw arrays
LIMITED_UNSIGNED_NP = frozenset(d._np for d in LIMITED_UNSIGNED)
# PyTorch's scalar-type names, as in ``torch.LongTensor`` and its error messages.
SCALAR_TYPE_NAMES = {
    "float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double",
    "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
    "bool": "Bool", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
    "complex64": "ComplexFloat", "complex128": "ComplexDouble",
}

# The C++ element types, as PyTorch's matmul names them in its dtype error.
CPP_TYPE_NAMES = {
    "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
    "float64": "double", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
    "int32": "int", "int64": "long int", "bool": "bool", "uint16": "short unsigned int",
    "uint32": "unsigned int", "uint64": "long unsigned int",
    "complex64": "c10::complex<float>", "complex128": "c10::complex<double>",
}


def not_implemented_for(kernel: str, d: dtype) -> NotImplementedError:
    """PyTorch's error for a kernel without dtype ``d``: '"kernel" not implemented for 'Long''."""
    return NotImplementedError(f'"{kernel}" not implemented for {SCALAR_TYPE_NAMES[d.name]!r}')


# bfloat16 and the gated dtypes join on first use
_FROM_NP = {d.np: d for d in _ALL if d is not bfloat16 and not isinstance(d, _GatedDtype)}
on_first_unsigned_use = _UNSIGNED_GATE.on_open
on_first_complex_use = _COMPLEX_GATE.on_open


def close_complex_gate(*hooks) -> None:
    """Close the complex dtypes' gate again, with ``hooks`` for their next first use."""
    _COMPLEX_GATE.close(hooks)
_BY_NAME = {d.name: d for d in _ALL}
_GATED = tuple(d for d in _ALL if isinstance(d, _GatedDtype))


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def from_numpy_dtype(np_dtype) -> dtype:
    """The gpugrad dtype of a NumPy (or CuPy) dtype; TypeError for unsupported ones."""
    try:
        return _FROM_NP[np_dtype]
    except KeyError:
        pass
    try:
        return _FROM_NP[np.dtype(np_dtype)]
    except (KeyError, TypeError):
        if _is_bfloat16(np_dtype):
            return bfloat16
        for d in _GATED:
            if d._gate.hooks is not None and d._np == np_dtype:
                d.np  # noqa: B018 - the first use: runs the hooks, adds them to _FROM_NP
                return d
        if isinstance(np_dtype, np.dtype) and not np_dtype.isnative:
            raise ValueError("given numpy array has byte order different from the native byte "
                             "order. Conversion between byte orders is currently not "
                             "supported.") from None
        raise TypeError(
            f"can't convert array of type {np_dtype}: gpugrad supports "
            + ", ".join(d.name for d in _ALL)
        ) from None


def _is_bfloat16(np_dtype) -> bool:
    """Whether ``np_dtype`` is ml_dtypes' bfloat16 (its name, type or dtype), which may come
    before gpugrad's first use of bfloat16 put it in ``_FROM_NP``."""
    if isinstance(np_dtype, str):
        return np_dtype == "bfloat16"
    if "ml_dtypes" not in sys.modules:  # nothing else can be a bfloat16
        return False
    try:
        return np.dtype(np_dtype) == bfloat16.np
    except TypeError:
        return False


def to_dtype(value) -> dtype:
    """Accept a gpugrad dtype, a NumPy dtype or a Python type (float, int, bool)."""
    if isinstance(value, dtype):
        return value
    if value is _pyfloat:
        return get_default_dtype()
    if value is _pyint:
        return int64
    if value is _pybool:
        return bool
    if value is _pycomplex:
        return _default_float.to_complex()
    return from_numpy_dtype(value)


_pyfloat, _pyint, _pybool, _pycomplex = type(0.0), type(0), type(True), type(0j)
_default_float = float32


def get_default_dtype() -> dtype:
    """The floating-point dtype that factories and Python floats use (float32 at start)."""
    return _default_float


def set_default_dtype(d) -> None:
    """Set the default floating-point dtype (float16, bfloat16, float32 or float64)."""
    global _default_float
    d = to_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d
    _result_cache.clear()


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to safely, as ``torch.promote_types``."""
    if a is b:
        return a
    if (a in LIMITED_UNSIGNED or b in LIMITED_UNSIGNED) and not (
            a.is_floating_point or b.is_floating_point):
        raise RuntimeError(
            "Promotion for uint16, uint32, uint64 types is not supported, attempted to promote "
            f"{SCALAR_TYPE_NAMES[a.name]} and {SCALAR_TYPE_NAMES[b.name]}")
    if a._category != b._category:
        hi, lo = (a, b) if a._category > b._category else (b, a)
        if hi._category == _COMPLEX and lo._category == _FLOAT:
            return _complex_of(promote_types(hi.to_real(), lo))  # complex64, float64: complex128
        return hi
    return _FROM_NP[np.promote_types(a.np, b.np)]


def _complex_of(d: dtype) -> dtype:
    """The complex dtype with parts of floating dtype ``d``; float16 has none here (PyTorch's
    complex32 is experimental there and absent here)."""
    if d is float16:
        raise RuntimeError("gpugrad has no complex32 (ComplexHalf): use float32 or float64 "
                           "with complex numbers")
    return d.to_complex()


def can_cast(from_: dtype, to: dtype) -> bool:
    """``torch.can_cast``: a cast may not lower the category (float to int, int to bool)."""
    return from_._category <= to._category


# PyTorch ranks operands in three tiers: tensors with dims, 0-d tensors, Python scalars.
# A lower tier only changes the result when its category (bool < int < float < complex) is
# higher; a complex one over a floating one keeps the floating one's precision.
_TIER_DIM, _TIER_ZERO, _TIER_SCALAR = 0, 1, 2
_result_cache: dict = {}


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None:
        return higher
    if lower._category == _COMPLEX and higher._category == _FLOAT:
        return _complex_of(higher)  # the parts keep the higher tier's precision
    return lower if lower._category > higher._category else higher


def _scalar_dtype(value) -> dtype:
    t = value.__class__
    if t is _pybool:
        return bool
    if t is _pyint:
        return int64
    if t is _pycomplex:
        return _default_float.to_complex()
    return _default_float


def result_type(*operands) -> dtype:
    """dtype of an op on tensors and Python scalars, following PyTorch's promotion."""
    tiers = [None, None, None]
    for op in operands:
        d = getattr(op, "dtype", None)
        if d is None:
            tier, d = _TIER_SCALAR, _scalar_dtype(op)
        else:
            tier = _TIER_ZERO if op.ndim == 0 else _TIER_DIM
        cur = tiers[tier]
        tiers[tier] = d if cur is None else promote_types(cur, d)
    return _combine(tiers[_TIER_DIM], _combine(tiers[_TIER_ZERO], tiers[_TIER_SCALAR]))


def binary_result_type(a, b) -> dtype:
    """``result_type(a, b)`` of two operands, each a Tensor or a Python scalar, for the hot path:
    cached on (array dtype, is 0-d) of tensors and the type of scalars."""
    da = getattr(a, "_data", None)
    db = getattr(b, "_data", None)
    key = (a.__class__ if da is None else (da.dtype, da.ndim == 0),
           b.__class__ if db is None else (db.dtype, db.ndim == 0))
    r = _result_cache.get(key)
    if r is None:
        r = _result_cache[key] = result_type(_Probe(key[0]), _Probe(key[1]))
    return r


class _Probe:
    """Stands in for an operand inside the cache: only dtype and ndim matter."""

    __slots__ = ("dtype", "ndim")

    def __new__(cls, key):
        if isinstance(key, tuple):
            self = object.__new__(cls)
            self.dtype, self.ndim = from_numpy_dtype(key[0]), 0 if key[1] else 1
            return self
        return key()  # a Python scalar type: its zero stands for it
