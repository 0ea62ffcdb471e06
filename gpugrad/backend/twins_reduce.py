"""NumPy twins of the reduction and softmax kernels.

Axes arrive validated: ``None`` (all) or a sorted tuple of non-negative ints. float16 inputs
accumulate in float32 and return float16.
"""

from __future__ import annotations

import numpy as np


class ReduceTwins:
    """Mixin of reduction primitives for a backend with ``self.xp``."""

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
