"""Python numbers written into a tensor of a given dtype (``fill_``, ``full``, ``masked_fill``,
``where``, ``clamp``), checked as PyTorch checks them."""

from __future__ import annotations

import math

import numpy as np

from ._dtype import dtype

__all__ = ["fit_scalar"]

# The C++ type names PyTorch's scalar-conversion error uses (not _dtype.CPP_TYPE_NAMES).
_OVERFLOW_TYPE_NAMES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
                        "int64": "int64_t", "float32": "float", "uint16": "uint16_t",
                        "uint32": "uint32_t", "uint64": "uint64_t"}
_REAL_TYPE_NAMES = {"float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
                    "bool": "bool"}
_FLOAT32_MAX = np.finfo(np.float32).max.item()


def check_int64(value: int) -> None:
    """PyTorch reads a Python int as 64 bits (signed, or unsigned above 2**63): one outside
    ``[-2**63, 2**64)`` is its OverflowError, in arithmetic as in fills."""
    if not -2**63 <= value < 2**64:
        raise OverflowError("int too big to convert" if value > 0
                            else "can't convert negative int to unsigned")


def fit_scalar(value, d: dtype):
    """A Python number about to be written into a tensor of dtype ``d`` (by ``fill_``, ``full``,
    ``masked_fill``, ``where``, ``clamp``), checked as PyTorch does. Integers must lie in range,
    unsigned types also taking negatives down to ``-max``, which wrap (as ``a - b`` does; the
    wrapped value is returned); floats, NaN and infinity must lie in an integer type's range; a
    finite number must not exceed float32's range. Arithmetic (``x + 300``) wraps instead and
    does not come here."""
    if isinstance(value, complex) and not d.is_complex:
        name = _OVERFLOW_TYPE_NAMES.get(d.name) or _REAL_TYPE_NAMES.get(d.name, d.name)
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if is_int:
        check_int64(value)
    name = _OVERFLOW_TYPE_NAMES.get(d.name)
    if name is None or not (is_int or isinstance(value, float)):
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
