"""Launchers of the elementwise ops on ``elementwise.launch``: unary and binary ops, their fused
gradients (both input gradients of a binary op in one pass), comparisons, where, clamp. Each has
the signature of the NumPy twin it replaces (``gpugrad/backend/numpy_backend.py``)."""

from __future__ import annotations

import numpy as np

from . import binary_math as bm
from . import unary_math as um
from ._launch import FLOAT_DTYPES
from .elementwise import INTS, launch

__all__ = ["unary", "unary_grad", "binary", "binary_grad", "compare", "bitwise", "where",
           "clamp", "clamp_grad", "supports_unary", "supports_binary"]


def _is_float(arr) -> bool:
    return arr.dtype in FLOAT_DTYPES


def supports_unary(op: str, x) -> bool:
    if _is_float(x):
        return op in um.UNARY
    return x.dtype in INTS and op in um.UNARY_INT


def unary(op: str, x):
    """``UNARY[op].forward`` elementwise."""
    fn = um.UNARY[op][0] if _is_float(x) else um.UNARY_INT[op]
    return launch((fn,), (x,), x.dtype, (x.dtype,))[0]


def unary_grad(op: str, grad, x, y):
    """``UNARY[op].grad(g, x, y)`` elementwise; ``x`` or ``y`` may be None."""
    return launch((um.UNARY[op][1],), (grad, x, y), grad.dtype, (grad.dtype,))[0]


def _operand_dtype(a, b):
    return (a if hasattr(a, "dtype") else b).dtype


def supports_binary(op: str, a, b) -> bool:
    dtype = _operand_dtype(a, b)
    if dtype in FLOAT_DTYPES:
        return op in bm.BINARY
    return dtype in INTS and op in bm.BINARY_INT


def binary(op: str, a, b):
    """``BINARY[op].forward(a, b)`` with broadcasting; operands share the result's dtype."""
    dtype = _operand_dtype(a, b)
    fn = bm.BINARY[op][0] if dtype in FLOAT_DTYPES else bm.BINARY_INT[op]
    return launch((fn,), (a, b), dtype, (dtype,))[0]


def binary_grad(op: str, grad, a, b, out, need_a: bool, need_b: bool):
    """Both input gradients of ``BINARY[op]`` in one pass, in the output's broadcast shape."""
    _, grad_a, grad_b = bm.BINARY[op]
    pairs = ((need_a, grad_a), (need_b, grad_b))
    # A formula of None is the identity: that gradient is ``grad`` itself (add's).
    grads = [grad if need and f is None else None for need, f in pairs]
    wanted = [(i, f) for i, (need, f) in enumerate(pairs) if need and f is not None]
    if wanted:
        outs = launch([f for _, f in wanted], (grad, a, b, out), grad.dtype,
                      (grad.dtype,) * len(wanted), shape=grad.shape)
        for (i, _), o in zip(wanted, outs):
            grads[i] = o
    return grads[0], grads[1]


def compare(op: str, a, b):
    """``COMPARE[op](a, b)``: a bool array in the broadcast shape."""
    return launch((bm.COMPARE[op],), (a, b), _operand_dtype(a, b), (np.bool_,))[0]


def bitwise(op: str, a, b):
    dtype = _operand_dtype(a, b)
    return launch((bm.BITWISE[op],), (a, b), dtype, (dtype,))[0]


def where(cond, a, b):
    """``a`` where ``cond`` else ``b``, broadcast; ``a``/``b`` arrays of one dtype or scalars."""
    if hasattr(a, "dtype"):
        dtype = a.dtype
    elif hasattr(b, "dtype"):
        dtype = b.dtype
    else:  # both scalars: the op layer passes Python numbers of the result's kind
        dtype = np.result_type(a, b)
    return launch((bm.where,), (cond, a, b), dtype, (dtype,))[0]


def clamp(x, lo, hi):
    if lo is None:
        return launch((bm.clamp_max,), (x, hi), x.dtype, (x.dtype,))[0]
    if hi is None:
        return launch((bm.clamp_min,), (x, lo), x.dtype, (x.dtype,))[0]
    return launch((bm.clamp_both,), (x, lo, hi), x.dtype, (x.dtype,))[0]


def clamp_grad(grad, x, lo, hi):
    if lo is None:
        return launch((bm.clamp_max_grad,), (grad, x, hi), grad.dtype, (grad.dtype,))[0]
    if hi is None:
        return launch((bm.clamp_min_grad,), (grad, x, lo), grad.dtype, (grad.dtype,))[0]
    return launch((bm.clamp_both_grad,), (grad, x, lo, hi), grad.dtype, (grad.dtype,))[0]
