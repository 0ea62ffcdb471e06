"""bfloat16 on the NumPy twins: computed in float32, rounded once to bfloat16.

NumPy has no bfloat16; the ``ml_dtypes`` package adds it (``arr.dtype.kind == "V"``) with
ufuncs that compute each call in float32 and round its result. A formula of several calls would
round after each, and some NumPy routines refuse it (``einsum``) or answer in float32
(``matmul``). So each listed primitive widens its bfloat16 operands to float32, runs the float32
twin, and rounds its float results back: one rounding per primitive, as PyTorch's CPU kernels
compute bfloat16 (load, compute in float32, round on store). The Triton kernels do the same on
their own (``kernels/_common.py``), so this applies to the twins only.
"""

from __future__ import annotations

import functools

import numpy as np

from .._dtype import bfloat16

__all__ = ["computed_in_float32", "WIDENED"]

_FLOAT32 = np.dtype(np.float32)

# The primitives whose arithmetic rounds: elementwise math and gradients, reductions, softmax,
# losses, matmul; and ``where``, exact but answering float32 for a bfloat16 array and a Python
# float. Structural ones (gather, comparisons, max) are exact in bfloat16 and in-place ones
# (index_add, the optimizer steps) run on bfloat16 as PyTorch's do.
WIDENED = (
    "unary", "unary_grad", "binary", "binary_grad", "where", "clamp_grad",
    "reduce", "reduce_grad", "prod_grad", "var", "logsumexp", "norm", "cumsum", "sum_to_shape",
    "softmax", "cross_entropy", "cross_entropy_probs", "bce_with_logits", "bce", "mse", "l1",
    "smooth_l1", "huber", "scale_loss_grad", "matmul",
)


def _widen(a):
    return a.astype(_FLOAT32) if _is_bfloat16(a) else a


def _narrow(r):
    if r is None:
        return None
    if isinstance(r, tuple):
        return tuple(_narrow(x) for x in r)
    return r.astype(bfloat16.np) if getattr(r, "dtype", None) == _FLOAT32 else r


def _is_bfloat16(a) -> bool:
    d = getattr(a, "dtype", None)
    return d is not None and d.kind == "V"  # gpugrad's only "V" dtype (_dtype.FLOAT_KINDS)


def _widening(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        for a in args:
            if _is_bfloat16(a):
                break
        else:
            return method(self, *args, **kwargs)
        return _narrow(method(self, *[_widen(a) for a in args], **kwargs))

    return wrapper


def computed_in_float32(cls):
    """Class decorator: the ``WIDENED`` primitives of ``cls`` take bfloat16 arrays through
    float32 (a call without a bfloat16 operand runs as before)."""
    for name in WIDENED:
        setattr(cls, name, _widening(getattr(cls, name)))
    return cls
