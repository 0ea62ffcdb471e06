"""NumPy twins of the reduction, scan and softmax kernels, and the gradient math they share.

Conventions of every primitive here:
- ``axes`` arrive validated: ``None`` (all) or a sorted tuple of non-negative ints; a single
  ``axis`` is a non-negative int and the array has at least one dimension;
- gradient primitives take the upstream gradient, and reduced values such as the output, in the
  *kept* shape (reduced axes as size 1), so they broadcast against the input; they return the
  gradient in the input's shape and the gradient's dtype;
- float16 inputs accumulate in float32 and return float16; bfloat16 ones compute in float32 and
  round once (``bfloat16.py``).

The gradient math lives in ``formulas_reduce.py``; ``reduce_grad`` runs it.
"""

from __future__ import annotations

import builtins
import functools
import math

import numpy as np

from .bfloat16 import widened
from .formulas_reduce import REDUCE, Reduced

_FILL_BELOW = 4096  # see ReduceTwins.expand_to
_SUM_AXES: dict = {}  # (gradient shape, target shape) -> the axes sum_to_shape sums over
_BROADCAST_STRIDES: dict = {}  # (shape, input shape, input strides) -> broadcast_view's strides
_reduced = functools.partial(tuple.__new__, Reduced)  # Reduced(...) without its Python __new__
_FLOAT16 = np.dtype(np.float16)
_WIDE_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # accumulated in their own dtype

_INT64 = np.dtype(np.int64)


class ReduceTwins:
    """Mixin of reduction primitives for a backend with ``self.xp``."""

    def _acc_dtype(self, x):
        return np.float32 if x.dtype == _FLOAT16 else None  # (a dtype, not the type: faster)

    def _wide(self, x):
        """float16 widened to float32 for accumulation; other dtypes as they are."""
        return x.astype(np.float32) if x.dtype == np.float16 else x

    def _ksum(self, axes):
        # The array's own method: xp.sum adds a Python dispatch layer (1 µs a call).
        return lambda a: a.sum(axis=axes, keepdims=True)

    def reduce(self, op: str, x, axes, keepdim: bool):
        """``op`` in sum, mean, prod, amax, amin, all, any over ``axes`` (None: all).

        sum and prod of integers and bools return int64; all/any return bool; amax/amin need a
        non-empty reduction (the op layer checks).
        """
        xp = self.xp
        if op == "sum" and xp is np and x.dtype in _WIDE_FLOATS:  # most sums: no dtype to work out
            out = np.add.reduce(x, axis=axes, keepdims=keepdim)
            return out if out.__class__ is np.ndarray else np.asarray(out)
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.reduce, op, x, axes, keepdim)
        if op == "mean" and x.size == 0:  # nan, without NumPy's empty-slice warning
            out = xp.sum(x, axis=axes, keepdims=keepdim)
            return xp.full(out.shape, math.nan, x.dtype)
        if op in ("sum", "mean", "prod"):
            acc = self._acc_dtype(x)
            if op != "mean" and x.dtype.kind in "biu" and x.dtype != np.int64:
                acc = np.int64  # PyTorch sums integers (and bools) into int64
            if xp is np and op in ("sum", "mean"):  # the ufunc's reduce skips np.sum/np.mean's
                out = np.add.reduce(x, axis=axes, keepdims=keepdim, dtype=acc)  # Python layer
                if op == "mean":  # what np.mean divides by, in the same dtype
                    out = out / (x.size if axes is None else math.prod(x.shape[a] for a in axes))
            else:
                out = getattr(xp, op)(x, axis=axes, keepdims=keepdim, dtype=acc)
            out = out if acc is None or acc == np.int64 else out.astype(x.dtype)
        elif op in ("all", "any"):
            out = getattr(xp, op)(x, axis=axes, keepdims=keepdim)
        else:
            out = (xp.max if op == "amax" else xp.min)(x, axis=axes, keepdims=keepdim)
        return xp.asarray(out)  # NumPy gives scalars for full reductions: keep arrays

    def arg_reduce(self, op: str, x, axis: int, keepdim: bool):
        """Values and int64 indices of the max (``op='max'``) or min along one axis.

        The index is the first occurrence of the extremum (or of a NaN, which wins).
        """
        maximum = op == "max"
        idx = (x.argmax if maximum else x.argmin)(axis=axis, keepdims=keepdim)
        if self.xp is np:
            if x.size == x.shape[axis]:
                # One axis that is not 1 (a row of a loop run one small tensor at a time): the
                # values read at the indices, ~0.2 µs where NumPy's reduce costs ~0.9 µs (the
                # flattening is a view for any strides; the result has the indices' shape).
                values = x.reshape(-1)[idx]
            else:  # the ufunc's own reduce: NumPy's max is a Python layer over it
                values = (np.maximum if maximum else np.minimum).reduce(
                    x, axis=axis, keepdims=keepdim)
            if values.__class__ is not np.ndarray:  # a NumPy scalar (a 1-D input, no keepdim)
                values = np.asarray(values)
        else:
            values = (x.max if maximum else x.min)(axis=axis, keepdims=keepdim)
        # A reduction gives the value at the index (a NaN where there is one) for a fraction of
        # take_along_axis's cost; only the sign of a zero extremum may differ from it.
        if idx.dtype is not _INT64:  # (NumPy's intp, int64 on most platforms)
            idx = idx.astype(np.int64)
        return values, idx

    def prod_grad(self, grad, x, axis: int):
        """Gradient of prod along ``axis``: ``grad`` times the product of the other entries.

        Exclusive prefix and suffix products, so zeros in ``x`` need no division (one zero: its
        entry gets the product of the rest; several zeros: all 0).
        """
        if grad.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.prod_grad, grad, x, axis)
        xp = self.xp
        xa = self._wide(x)

        def along(start, stop):
            return tuple(slice(start, stop) if i == axis else slice(None) for i in range(x.ndim))

        prefix = xp.cumprod(xa, axis=axis)
        suffix = xp.flip(xp.cumprod(xp.flip(xa, axis), axis=axis), axis)
        others = xp.ones_like(xa)
        others[along(1, None)] = prefix[along(None, -1)]
        others[along(None, -1)] *= suffix[along(1, None)]
        return (grad * others).astype(grad.dtype)

    def var(self, x, axes, correction: float, keepdim: bool):
        """Variance over ``axes`` with ``correction`` (inf or nan where correction >= count)."""
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.var, x, axes, correction, keepdim)
        xp = self.xp
        xa, mean, dof = self._var_terms(x, axes, correction)
        d = xa - mean
        out = xp.sum(d * d, axis=axes, keepdims=keepdim) / builtins.max(dof, 0)
        return xp.asarray(out, dtype=x.dtype)

    def _var_terms(self, x, axes, correction: float):
        """The widened input, its kept-shape mean (nan if empty) and the degrees of freedom."""
        xa = self._wide(x)
        count = xa.size if axes is None else math.prod(xa.shape[a] for a in axes)
        return xa, self.reduce("mean", xa, axes, True), count - correction

    def reduce_grad(self, op: str, grad, x, y, shape, axes, param=None):
        """The gradient of reduction ``op`` (an entry of ``formulas_reduce.REDUCE``) over
        ``axes`` (None: all) of an input of ``shape``: ``grad`` and the output ``y`` in the kept
        shape (softmax's: the input's), ``x`` the input, either None where the formula does not
        read it; ``param`` the op's (a norm's p, var's correction). Returns an array of ``shape``
        in ``grad``'s dtype, or None (no gradient)."""
        if grad.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.reduce_grad, op, grad, x, y, shape, axes, param)
        formula = REDUCE[op]
        count = math.prod(shape) if axes is None else math.prod([shape[a] for a in axes])
        # (sum and mean read nothing and sum nothing: no ``ksum`` to make for them)
        ksum = self._ksum(axes) if formula.saves else None
        r = _reduced((ksum, count, axes is None, param))
        if grad.dtype is _FLOAT16:  # accumulate in float32
            x, y = (None if a is None else a.astype(np.float32) for a in (x, y))
            gx = formula.grad(self.math, r, grad.astype(np.float32), x, y)
        else:
            gx = formula.grad(self.math, r, grad, x, y)
        if gx is None:
            return None
        if gx.dtype != grad.dtype:
            gx = gx.astype(grad.dtype)
        return gx if gx.shape == shape else self.expand_to(gx, shape)

    def logsumexp(self, x, axes, keepdim: bool):
        """log(sum(exp(x))) shifted by the max; -inf for all -inf (or empty) slices."""
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.logsumexp, x, axes, keepdim)
        xp = self.xp
        xa = self._wide(x)
        m = xp.max(xa, axis=axes, keepdims=True) if xa.size else xp.zeros((1,) * xa.ndim, xa.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        out = xp.log(xp.sum(xp.exp(xa - m), axis=axes, keepdims=True)) + m
        if not keepdim:
            out = out.squeeze(axes) if axes is not None else out.reshape(())
        return out.astype(x.dtype, copy=False)

    def norm(self, x, p: float, axes, keepdim: bool):
        """Vector p-norm over ``axes``: p in (-inf, inf) or +-inf; p == 0 counts nonzeros."""
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.norm, x, p, axes, keepdim)
        xp = self.xp
        xa = self._wide(x)
        if p == 2:  # the common case first, and without abs
            if axes is None and not keepdim:  # a whole tensor's: one dot product
                out = xp.sqrt(xp.vdot(xa, xa))
            else:
                out = xp.sqrt((xa * xa).sum(axis=axes, keepdims=keepdim))
        elif p == 0:
            out = xp.sum(xa != 0, axis=axes, keepdims=keepdim, dtype=xa.dtype)
        elif p == math.inf:
            out = xp.max(xp.abs(xa), axis=axes, keepdims=keepdim)
        elif p == -math.inf:
            out = xp.min(xp.abs(xa), axis=axes, keepdims=keepdim)
        elif p == 1:
            out = xp.sum(xp.abs(xa), axis=axes, keepdims=keepdim)
        else:
            out = xp.sum(xp.abs(xa) ** p, axis=axes, keepdims=keepdim) ** (1.0 / p)
        return xp.asarray(out, dtype=x.dtype)

    def _scan_acc_dtype(self, x):
        """The dtype a cumulative sum or product accumulates in (None: ``x``'s own). Integers
        and bools accumulate into int64 and float16 into float32, as PyTorch's scans; on the
        CPU float32 accumulates into float64, as PyTorch's CPU kernels (whose running sum is a
        double): a float32 running sum drifts by ~1e-5 relative over a million terms, theirs
        stays at float32's rounding. CuPy, as PyTorch's CUDA kernels, scans float32 as it is."""
        if x.dtype.kind in "biu":
            return np.int64
        if self.xp is np and x.dtype == _WIDE_FLOATS[0]:
            return np.float64
        return self._acc_dtype(x)

    def _scan(self, scan, x, axis: int, reverse: bool):
        acc = self._scan_acc_dtype(x)
        xp = self.xp
        if reverse:
            out = xp.flip(scan(xp.flip(x, axis), axis=axis, dtype=acc), axis)
        else:
            out = scan(x, axis=axis, dtype=acc)
        return out if acc is None or acc == np.int64 else out.astype(x.dtype)

    def cumsum(self, x, axis: int, reverse: bool = False):
        """Inclusive cumulative sum along ``axis`` (from the end when ``reverse``), accumulated
        as ``_scan_acc_dtype`` says."""
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.cumsum, x, axis, reverse)
        return self._scan(self.xp.cumsum, x, axis, reverse)

    def cumprod(self, x, axis: int, reverse: bool = False):
        """Inclusive cumulative product along ``axis``, accumulated as ``cumsum``."""
        if x.dtype.kind == "V":
            return widened(self.cumprod, x, axis, reverse)
        return self._scan(self.xp.cumprod, x, axis, reverse)

    def expand_to(self, grad, shape):
        """``grad`` (the reduced shape, dims kept) broadcast to ``shape``: the gradient of a sum
        or mean. A read-only view, except for small NumPy results, which are filled into a fresh
        array: ``np.broadcast_to`` costs 2.5 µs of Python, more than filling 4096 floats."""
        if self.xp is np and math.prod(shape) <= _FILL_BELOW:
            out = np.empty(shape, grad.dtype)
            out[...] = grad
            return out
        return self.xp.broadcast_to(grad, shape)

    def broadcast_view(self, x, shape):
        """A read-only view of ``x`` broadcast to ``shape`` (``expand``). A C-contiguous NumPy
        array's view is built from its strides directly: ``np.broadcast_to`` costs 2.5 µs of
        Python, most of a small model's ``expand``."""
        if x.__class__ is not np.ndarray or not x.flags.c_contiguous or x.size == 0:
            # (CuPy, other layouts, and the recorded arrays of gpugrad.compile's capture, which
            # sees broadcast_to but not a view built from a buffer)
            return self.xp.broadcast_to(x, shape)
        if shape == x.shape:  # nothing broadcast: a plain view, writable as PyTorch's
            return x.view()
        key = (shape, x.shape, x.strides)
        strides = _BROADCAST_STRIDES.get(key)
        if strides is None:  # (the strides of a few shapes, over and over: remembered)
            lead = len(shape) - x.ndim
            strides = (0,) * lead + tuple(
                s if n == m else 0 for n, m, s in zip(shape[lead:], x.shape, x.strides))
            if len(_BROADCAST_STRIDES) >= 4096:
                _BROADCAST_STRIDES.clear()
            _BROADCAST_STRIDES[key] = strides
        out = np.ndarray(shape, x.dtype, x, 0, strides)
        out.setflags(write=False)
        return out

    def sum_to_shape(self, grad, shape):
        """Sum a broadcast gradient back to ``shape`` (the inverse of broadcasting)."""
        if grad.shape == shape:
            return grad
        if grad.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.sum_to_shape, grad, shape)
        key = (grad.shape, shape)
        axes = _SUM_AXES.get(key)
        if axes is None:  # (the same few pairs of shapes, over and over: remembered)
            lead = grad.ndim - len(shape)
            axes = tuple(range(lead)) + tuple(
                i + lead for i, n in enumerate(shape) if n == 1 and grad.shape[i + lead] != 1
            )
            if len(_SUM_AXES) >= 4096:
                _SUM_AXES.clear()
            _SUM_AXES[key] = axes
        acc = self._acc_dtype(grad)
        if not axes:
            out = grad
        elif self.xp is np:  # the ufunc's reduce skips ndarray.sum's Python layer
            out = np.add.reduce(grad, axis=axes, keepdims=True, dtype=acc)
        else:
            out = grad.sum(axis=axes, keepdims=True, dtype=acc)
        if acc is not None:
            out = out.astype(grad.dtype)
        return out.reshape(shape)

    def softmax(self, x, axis: int, log: bool):
        """softmax (or log_softmax) along ``axis``, shifted by the max: finite for any finite x."""
        if x.dtype.kind == "V":  # bfloat16 (bfloat16.py)
            return widened(self.softmax, x, axis, log)
        xp = self.xp
        xa = self._wide(x)
        if xa.size == 0:
            return xa.astype(x.dtype)
        shifted = xa - xa.max(axis=axis, keepdims=True)
        e = xp.exp(shifted)
        s = e.sum(axis=axis, keepdims=True)
        out = shifted - xp.log(s) if log else e / s
        return out.astype(x.dtype, copy=False)
