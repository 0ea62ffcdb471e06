"""Math functions that Triton takes from libdevice, usable compiled and interpreted alike.

Compiled, these are CUDA's libdevice functions (correctly rounded or within an ulp or two).
Triton's interpreter (3.9) cannot call libdevice, so there each is the NumPy function of the same
name applied to the interpreted block's array, which is also what the NumPy twins compute.
"""

from __future__ import annotations

import numpy as np
import triton.language as tl

from . import INTERPRET

__all__ = ["expm1", "log1p", "tanh", "rint", "trunc", "pow"]

if not INTERPRET:
    from triton.language.extra import libdevice

    expm1 = libdevice.expm1
    log1p = libdevice.log1p
    tanh = libdevice.tanh
    rint = libdevice.rint
    trunc = libdevice.trunc
    pow = libdevice.pow  # noqa: A001
else:
    from triton.runtime.interpreter import TensorHandle

    def _block(like, data):
        return tl.core.tensor(TensorHandle(data, like.handle.dtype.scalar), like.type)

    _unwrap = tl.core._unwrap_if_constexpr

    def _numpy_unary(np_fn):
        def fn(x):
            x = _unwrap(x)
            with np.errstate(all="ignore"):
                return _block(x, np_fn(x.handle.data).astype(x.handle.data.dtype, copy=False))

        fn.__name__ = np_fn.__name__
        return fn

    def _numpy_binary(np_fn):
        def fn(x, y):
            x, y = _unwrap(x), _unwrap(y)
            like = x if x.type.is_block() or not y.type.is_block() else y
            with np.errstate(all="ignore"):
                data = np_fn(x.handle.data, y.handle.data)
            return _block(like, data.astype(like.handle.data.dtype, copy=False))

        fn.__name__ = np_fn.__name__
        return fn

    expm1 = _numpy_unary(np.expm1)
    log1p = _numpy_unary(np.log1p)
    tanh = _numpy_unary(np.tanh)
    rint = _numpy_unary(np.rint)
    trunc = _numpy_unary(np.trunc)
    pow = _numpy_binary(np.power)  # noqa: A001
