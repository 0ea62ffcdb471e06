"""bfloat16 on the NumPy twins: computed in float32, rounded once to bfloat16.

NumPy has no bfloat16; the ``ml_dtypes`` package adds it (``arr.dtype.kind == "V"``) with
ufuncs that compute each call in float32 and round its result. A formula of several calls would
round after each, and some NumPy routines refuse it (``einsum``) or answer in float32
(``matmul``). So each arithmetic primitive of the twins starts with a check of its first array
operand, ``if x.dtype.kind == "V"`` (gpugrad's only "V" dtype, ``_dtype.FLOAT_KINDS``), and for
bfloat16 runs itself through ``widened``: its bfloat16 operands widened to float32, its float
results rounded back, one rounding per primitive, as PyTorch's CPU kernels compute bfloat16
(load, compute in float32, round on store). The check is inline, not a wrapper: a Python layer
around each primitive cost 0.4 µs a call, a quarter of a small op. The Triton kernels compute
bfloat16 in float32 on their own (``kernels/_common.py``).

The checked primitives: elementwise math and gradients (``unary``, ``unary_grad``, ``binary``,
``binary_grad``, ``clamp_grad``), ``where`` (exact, but answering float32 for a bfloat16 array
and a Python float), ``matmul``, the reductions, scans and softmax with their gradients, the
losses and cross-entropy. Structural primitives (gather, comparisons, max) are exact in bfloat16
and in-place ones (index_add, the optimizer steps) run on bfloat16 as PyTorch's do.
"""

from __future__ import annotations

import numpy as np

from .._dtype import bfloat16

__all__ = ["widened", "is_bfloat16"]

_FLOAT32 = np.dtype(np.float32)


def is_bfloat16(a) -> bool:
    """Whether ``a`` (an array or a Python number) is a bfloat16 array."""
    d = getattr(a, "dtype", None)
    return d is not None and d.kind == "V"


def widened(method, *args, **kwargs):
    """``method(*args, **kwargs)`` (a bound primitive) with the bfloat16 arrays among ``args``
    widened to float32 and its float32 results (arrays, or tuples of them) rounded to bfloat16."""
    return _narrow(method(*[a.astype(_FLOAT32) if is_bfloat16(a) else a for a in args],
                          **kwargs))


def _narrow(r):
    if r is None:
        return None
    if isinstance(r, tuple):
        return tuple(_narrow(x) for x in r)
    return r.astype(bfloat16.np) if getattr(r, "dtype", None) == _FLOAT32 else r
