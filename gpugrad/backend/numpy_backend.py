"""The NumPy backend: CPU arrays, and the NumPy twin of every fused primitive.

A backend is an object with ``xp`` (the array module, for structural work: reshape, transpose,
matmul) and one method per fused primitive. Ops call these and never branch on the device.
The CUDA backend subclasses this one with ``xp = cupy`` and replaces primitives with Triton
launchers of the same signature; what it does not replace runs these twins on CuPy arrays.

Conventions shared by every primitive:
- arrays in, arrays out; operands of a binary primitive already have the result's dtype (or are
  Python scalars), the op layer having applied PyTorch's type promotion;
- gradients come back in the shape of the op's output (broadcast shape); the engine reduces
  them to the inputs' shapes with ``sum_to_shape``;
- reductions of float16 accumulate in float32 and return float16.
"""

from __future__ import annotations

import numpy as np

from .._device import device
from .formulas import BINARY, BITWISE, COMPARE, UNARY
from .twins_loss import LossTwins
from .twins_optim import OptimTwins


def _normalize_axes(axes, ndim):
    """``None`` means all axes; otherwise a tuple of non-negative ints (validated by ops)."""
    return None if axes is None else tuple(axes)


class NumpyBackend(LossTwins, OptimTwins):
    """CPU backend over NumPy arrays."""

    name = "numpy"

    def __init__(self, xp=np, dev: device | None = None):
        self.xp = xp
        self.device = dev if dev is not None else device("cpu")
        self._rng = np.random.default_rng()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.device}>"

    # ----------------------------------------------------------------- host transfer
    def asarray(self, data, dtype=None):
        """An array of this backend from host data (lists, scalars, NumPy arrays)."""
        return self.xp.asarray(data, dtype=dtype)

    def to_numpy(self, arr) -> np.ndarray:
        return arr

    # ------------------------------------------------------------------- elementwise
    def unary(self, op: str, x):
        return UNARY[op].forward(self.xp, x)

    def unary_grad(self, op: str, grad, x, y):
        return UNARY[op].grad(self.xp, grad, x, y)

    def binary(self, op: str, a, b):
        return BINARY[op].forward(self.xp, a, b)

    def binary_grad(self, op: str, grad, a, b, out, need_a: bool, need_b: bool):
        f = BINARY[op]
        ga = f.grad_a(self.xp, grad, a, b, out) if need_a else None
        gb = f.grad_b(self.xp, grad, a, b, out) if need_b else None
        return ga, gb

    def compare(self, op: str, a, b):
        return COMPARE[op](self.xp, a, b)

    def bitwise(self, op: str, a, b):
        return BITWISE[op](self.xp, a, b)

    def where(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def clamp(self, x, lo, hi):
        xp = self.xp
        if lo is not None:
            x = xp.maximum(x, lo)
        if hi is not None:
            x = xp.minimum(x, hi)
        return x

    def clamp_grad(self, grad, x, lo, hi):
        inside = True
        if lo is not None:
            inside = x >= lo
        if hi is not None:
            inside = (x <= hi) & inside
        return self.xp.where(inside, grad, 0)

    # -------------------------------------------------------------------- reductions
    def _acc_dtype(self, x):
        return np.float32 if x.dtype == np.float16 else None

    def reduce(self, op: str, x, axes, keepdim: bool):
        """``op`` in sum, mean, prod, amax, amin over ``axes`` (None: all)."""
        xp = self.xp
        if op in ("sum", "mean", "prod"):
            acc = self._acc_dtype(x)
            if op != "mean" and x.dtype.kind in "bi" and x.dtype != np.int64:
                acc = np.int64  # PyTorch sums integers (and bools) into int64
            out = getattr(xp, op)(x, axis=axes, keepdims=keepdim, dtype=acc)
            return out if acc is None or acc == np.int64 else out.astype(x.dtype)
        return (xp.max if op == "amax" else xp.min)(x, axis=axes, keepdims=keepdim)

    def arg_reduce(self, op: str, x, axis, keepdim: bool):
        """Values and int64 indices of the max (``op='max'``) or min along one axis."""
        xp = self.xp
        idx = (xp.argmax if op == "max" else xp.argmin)(x, axis=axis, keepdims=True)
        values = xp.take_along_axis(x, idx, axis=axis)
        if not keepdim:
            values = values.squeeze(axis)
            idx = idx.squeeze(axis)
        return values, idx.astype(np.int64, copy=False)

    def var(self, x, axes, correction: float, keepdim: bool):
        xp = self.xp
        acc = self._acc_dtype(x)
        out = xp.var(x, axis=axes, keepdims=keepdim, ddof=correction, dtype=acc)
        return out if acc is None else out.astype(x.dtype)

    def logsumexp(self, x, axes, keepdim: bool):
        xp = self.xp
        xa = x.astype(np.float32) if x.dtype == np.float16 else x
        m = xp.max(xa, axis=axes, keepdims=True) if xa.size else xp.zeros((1,) * xa.ndim, xa.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.sum(xp.exp(xa - m), axis=axes, keepdims=True)) + m
        if not keepdim:
            out = out.squeeze(axes) if axes is not None else out.reshape(())
        return out.astype(x.dtype, copy=False)

    def sum_to_shape(self, grad, shape):
        """Sum a broadcast gradient back to ``shape`` (the inverse of broadcasting)."""
        if grad.shape == shape:
            return grad
        lead = grad.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
        )
        acc = self._acc_dtype(grad)
        out = grad.sum(axis=axes, keepdims=True, dtype=acc) if axes else grad
        if acc is not None:
            out = out.astype(grad.dtype)
        return out.reshape(shape)

    # ----------------------------------------------------------------------- softmax
    def softmax(self, x, axis: int, log: bool):
        xp = self.xp
        xa = x.astype(np.float32) if x.dtype == np.float16 else x
        if xa.size == 0:
            return xa.astype(x.dtype)
        shifted = xa - xp.max(xa, axis=axis, keepdims=True)
        e = xp.exp(shifted)
        s = xp.sum(e, axis=axis, keepdims=True)
        out = shifted - xp.log(s) if log else e / s
        return out.astype(x.dtype, copy=False)

    def softmax_grad(self, grad, y, axis: int, log: bool):
        """Gradient of softmax (``y`` its output) or log_softmax (``y`` its output)."""
        xp = self.xp
        if log:
            return grad - xp.exp(y) * xp.sum(grad, axis=axis, keepdims=True)
        return y * (grad - xp.sum(grad * y, axis=axis, keepdims=True))

    # ------------------------------------------------------------------------ random
    def manual_seed(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def rand(self, shape, dtype):
        return self._rng.random(shape, dtype=np.float64).astype(dtype, copy=False)

    def randn(self, shape, dtype):
        return self._rng.standard_normal(shape, dtype=np.float64).astype(dtype, copy=False)

    def randint(self, low: int, high: int, shape, dtype):
        return self._rng.integers(low, high, shape, dtype=np.int64).astype(dtype, copy=False)

    def bernoulli_mask(self, p_keep: float, shape):
        return self._rng.random(shape) < p_keep
