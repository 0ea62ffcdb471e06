"""The math namespace the NumPy twins hand to ``formulas``: NumPy itself, with a faster ``where``.

``np.where(mask, g, 0)`` costs about 15x a multiply on a random mask (it branches per
element), and the gradients of relu, clamp, maximum and where are exactly that. Selecting
between an array and zero is a bitwise AND of the array's bits with an all-ones or all-zeros
mask, which is branch-free and exact: kept values keep their bits (NaN and inf included),
dropped ones become +0.0, as ``np.where`` gives. Between two float arrays of one dtype it is
the OR of each one's bits masked by the condition and by its complement.
"""

from __future__ import annotations

import numpy as np

_INT_OF = {2: np.int16, 4: np.int32, 8: np.int64}


def _is_zero(v) -> bool:
    return v.__class__ in (int, float) and v == 0


def _ones_where(cond, int_type, value: bool):
    """Integers of ``int_type``: all bits set where the bool ``cond`` is ``value``, else 0."""
    mask = cond.astype(int_type)
    if value:
        np.negative(mask, out=mask)  # True -> all ones
    else:
        np.subtract(mask, 1, out=mask)  # False -> all ones
    return mask


def _select(cond, arr, keep_where_true: bool):
    """``arr`` where ``cond`` (or where not ``cond``), else +0.0, by bit masking."""
    if not isinstance(arr, np.ndarray) or arr.dtype.kind != "f":  # (or a subclass: compiler)
        return None
    if cond.shape != arr.shape:
        cond, arr = np.broadcast_arrays(cond, arr)
    int_type = _INT_OF[arr.dtype.itemsize]
    return (arr.view(int_type) & _ones_where(cond, int_type, keep_where_true)).view(arr.dtype)


def _blend(cond, a, b):
    """``a`` where ``cond``, else ``b``, for two float arrays of one dtype, by bit masking
    (about a third of ``np.where``'s time on a random mask); else None."""
    if (not isinstance(a, np.ndarray) or not isinstance(b, np.ndarray) or a.dtype != b.dtype
            or a.dtype.kind != "f"):
        return None
    if not cond.shape == a.shape == b.shape:
        cond, a, b = np.broadcast_arrays(cond, a, b)
    int_type = _INT_OF[a.dtype.itemsize]
    mask = _ones_where(cond, int_type, True)
    out = a.view(int_type) & mask
    np.invert(mask, out=mask)
    mask &= b.view(int_type)
    out |= mask
    return out.view(a.dtype)


class NumpyMath:
    """Attribute access falls through to NumPy; ``where`` takes the fast path when it can."""

    def __getattr__(self, name):
        value = getattr(np, name)
        setattr(self, name, value)  # found directly next time: formulas run per op
        return value

    @staticmethod
    def where(cond, a, b):
        if isinstance(cond, np.ndarray) and cond.dtype == bool:  # (np.where reads others' truth)
            if _is_zero(b):
                out = _select(cond, a, True)
                if out is not None:
                    return out
            elif _is_zero(a):
                out = _select(cond, b, False)
                if out is not None:
                    return out
            else:
                out = _blend(cond, a, b)
                if out is not None:
                    return out
        return np.where(cond, a, b)
