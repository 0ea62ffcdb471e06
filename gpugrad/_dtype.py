"""dtypes with PyTorch's names and PyTorch's type-promotion rules."""

from __future__ import annotations

import builtins
import math
import sys

import numpy as np

__all__ = [
    "dtype", "float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64", "bool", "float", "double", "half", "short", "int",
    "long",
    "get_default_dtype", "set_default_dtype", "promote_types", "result_type",
]

_BOOL, _INT, _FLOAT = 0, 1, 2  # categories, in promotion order

# NumPy kinds of the floating dtypes: ``"f"``, and ``"V"`` for ``ml_dtypes.bfloat16`` (NumPy has no
# bfloat16 of its own; the ``ml_dtypes`` package adds it as a user dtype of kind "V"). gpugrad holds
# no other "V" dtype, so ``arr.dtype.kind in FLOAT_KINDS`` tells a floating array and
# ``kind == "V"`` a bfloat16 one.
FLOAT_KINDS = "fV"


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
        return False

    def to_real(self) -> dtype:
        """The real dtype of this one's values: itself (gpugrad has no complex dtypes)."""
        return self

    def to_complex(self):
        """PyTorch's complex counterpart of a floating dtype; gpugrad has none."""
        raise NotImplementedError(f"to_complex(): gpugrad has no complex dtypes (asked of "
                                  f"{self.name})")

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


class _LimitedUnsigned(dtype):
    """uint16, uint32, uint64, PyTorch's "limited support" unsigned types: creation, casts,
    views, equality and a few ops (``ops/_unsigned.py`` refuses the rest as PyTorch does, and
    ``promote_types`` refuses to mix them with another non-floating type). Their NumPy dtype
    is handed out through ``np``, so that the first use of one (a factory, a cast, an array
    of that type made a tensor) runs the hooks of ``on_first_unsigned_use`` first: a program
    that never uses them pays nothing for those checks."""

    __slots__ = ("_np",)

    def __init__(self, name: str, np_dtype):
        self.name, self._np = name, np.dtype(np_dtype)
        self.itemsize = self._np.itemsize
        self._category, self.is_floating_point, self.is_signed = _INT, False, False

    @property
    def np(self):
        if _first_use_hooks is not None:
            _first_unsigned_use()
        return self._np


float16 = dtype("float16", np.float16)
bfloat16 = _Bfloat16()
float32 = dtype("float32", np.float32)
float64 = dtype("float64", np.float64)
uint8 = dtype("uint8", np.uint8)
uint16 = _LimitedUnsigned("uint16", np.uint16)
uint32 = _LimitedUnsigned("uint32", np.uint32)
uint64 = _LimitedUnsigned("uint64", np.uint64)
int8 = dtype("int8", np.int8)
int16 = dtype("int16", np.int16)
int32 = dtype("int32", np.int32)
int64 = dtype("int64", np.int64)
bool = dtype("bool", np.bool_)  # noqa: A001 - PyTorch's name
half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

_ALL = (float16, bfloat16, float32, float64, uint8, int8, int16, int32, int64, bool, uint16,
        uint32, uint64)
LIMITED_UNSIGNED = frozenset((uint16, uint32, uint64))
# their NumPy dtypes, for checks on raw arrays
LIMITED_UNSIGNED_NP = frozenset(d._np for d in LIMITED_UNSIGNED)
# PyTorch's scalar-type names, as in ``torch.LongTensor`` and its error messages.
SCALAR_TYPE_NAMES = {
    "float16": "Half", "bfloat16": "BFloat16", "float32": "Float", "float64": "Double",
    "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int", "int64": "Long",
    "bool": "Bool", "uint16": "UInt16", "uint32": "UInt32", "uint64": "UInt64",
}

# The C++ element types, as PyTorch's matmul names them in its dtype error.
CPP_TYPE_NAMES = {
    "float16": "c10::Half", "bfloat16": "c10::BFloat16", "float32": "float",
    "float64": "double", "uint8": "unsigned char", "int8": "signed char", "int16": "short int",
    "int32": "int", "int64": "long int", "bool": "bool", "uint16": "short unsigned int",
    "uint32": "unsigned int", "uint64": "long unsigned int",
}


def not_implemented_for(kernel: str, d: dtype) -> NotImplementedError:
    """PyTorch's error for a kernel without dtype ``d``: '"kernel" not implemented for 'Long''."""
    return NotImplementedError(f'"{kernel}" not implemented for {SCALAR_TYPE_NAMES[d.name]!r}')


# bfloat16 and the limited unsigned types join on first use
_FROM_NP = {d.np: d for d in _ALL if d is not bfloat16 and d not in LIMITED_UNSIGNED}
_first_use_hooks: list | None = []  # None once a limited unsigned type has been used


def on_first_unsigned_use(hook) -> None:
    """Call ``hook()`` before the first use of uint16, uint32 or uint64 (now, if that was)."""
    if _first_use_hooks is None:
        hook()
    else:
        _first_use_hooks.append(hook)


def _first_unsigned_use() -> None:
    global _first_use_hooks
    hooks, _first_use_hooks = _first_use_hooks, None
    _FROM_NP.update((d._np, d) for d in LIMITED_UNSIGNED)
    for hook in hooks:
        hook()
_BY_NAME = {d.name: d for d in _ALL}


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
        for d in LIMITED_UNSIGNED:
            if _first_use_hooks is not None and d._np == np_dtype:
                d.np  # noqa: B018 - the first use: runs the hooks, adds them to _FROM_NP
                return d
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
    if value.__class__ is dtype or value is bfloat16 or value in LIMITED_UNSIGNED:
        return value
    if value is _pyfloat:
        return get_default_dtype()
    if value is _pyint:
        return int64
    if value is _pybool:
        return bool
    return from_numpy_dtype(value)


_pyfloat, _pyint, _pybool = type(0.0), type(0), type(True)
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
        return hi
    return _FROM_NP[np.promote_types(a.np, b.np)]


def can_cast(from_: dtype, to: dtype) -> bool:
    """``torch.can_cast``: a cast may not lower the category (float to int, int to bool)."""
    return from_._category <= to._category


# PyTorch ranks operands in three tiers: tensors with dims, 0-d tensors, Python scalars.
# A lower tier only changes the result when its category (bool < int < float) is higher.
_TIER_DIM, _TIER_ZERO, _TIER_SCALAR = 0, 1, 2
_result_cache: dict = {}


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None:
        return higher
    return lower if lower._category > higher._category else higher


def _scalar_dtype(value) -> dtype:
    t = value.__class__
    if t is _pybool:
        return bool
    if t is _pyint:
        return int64
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



# The C++ type names PyTorch's scalar-conversion error uses (they differ from CPP_TYPE_NAMES).
_OVERFLOW_TYPE_NAMES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
                        "int64": "int64_t", "float32": "float", "uint16": "uint16_t",
                        "uint32": "uint32_t", "uint64": "uint64_t"}
_FLOAT32_MAX = np.finfo(np.float32).max.item()


def fit_scalar(value, d: dtype):
    """A Python number about to be written into a tensor of dtype ``d`` (by ``fill_``, ``full``,
    ``masked_fill``, ``where``, ``clamp``), checked as PyTorch does. Integers must lie in range,
    unsigned types also taking negatives down to ``-max``, which wrap (as ``a - b`` does; the
    wrapped value is returned); floats, NaN and infinity must lie in an integer type's range; a
    finite number must not exceed float32's range. Arithmetic (``x + 300``) wraps instead and
    does not come here."""
    # (this module's ``int``, ``float`` and ``bool`` are dtypes: the builtins are spelled out)
    is_int = isinstance(value, builtins.int) and not isinstance(value, builtins.bool)
    if is_int and not -2**63 <= value < 2**64:  # PyTorch reads a Python int as 64 bits
        raise OverflowError("int too big to convert" if value > 0
                            else "can't convert negative int to unsigned")
    name = _OVERFLOW_TYPE_NAMES.get(d.name)
    if name is None or not (is_int or isinstance(value, builtins.float)):
        return value
    wraps = False
    if d.name == "float32":
        fits = not (abs(value) > _FLOAT32_MAX and abs(value) != math.inf)
    else:
        info = np.iinfo(d.np)
        wraps = is_int and info.min == 0 and value < 0
        fits = (-info.max if wraps else info.min) <= value <= info.max  # False for NaN
    if not fits:
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")
    return value % (info.max + 1) if wraps else value
