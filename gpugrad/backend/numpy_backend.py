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

import functools

import numpy as np

from .._device import device
from .formulas import BINARY, BINARY_XP, BITWISE, COMPARE, UNARY, UNARY_XP, clamp_grad
from .numpy_math import NumpyMath
from .twins_ce import CrossEntropyTwins
from .twins_index import IndexTwins
from .twins_loss import LossTwins
from .twins_optim import OptimTwins
from .twins_reduce import ReduceTwins


class NumpyBackend(ReduceTwins, IndexTwins, CrossEntropyTwins, LossTwins, OptimTwins):
    """CPU backend over NumPy arrays."""

    name = "numpy"

    def __init__(self, xp=np, dev: device | None = None):
        self.xp = xp
        # What formulas receive as ``m``: NumPy with a branch-free where (see numpy_math.py).
        self.math = NumpyMath() if xp is np else xp
        self.device = dev if dev is not None else device("cpu")
        self._rng = np.random.default_rng()
        self._unary_forward = {op: _forward_fn(xp, UNARY_XP.get(op), f.forward, self.math)
                               for op, f in UNARY.items()}
        self._binary_forward = {op: _forward_fn(xp, BINARY_XP.get(op), f.forward, self.math)
                                for op, f in BINARY.items()}
        bind = functools.partial
        self._unary_grad = {op: bind(f.grad, self.math) for op, f in UNARY.items() if f.grad}
        self._binary_grad = {op: (bind(f.grad_a, self.math), bind(f.grad_b, self.math))
                             for op, f in BINARY.items()}

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
        return self._unary_forward[op](x)

    def unary_grad(self, op: str, grad, x, y):
        return self._unary_grad[op](grad, x, y)

    def binary(self, op: str, a, b):
        return self._binary_forward[op](a, b)

    def binary_grad(self, op: str, grad, a, b, out, need_a: bool, need_b: bool):
        grad_a, grad_b = self._binary_grad[op]
        return (grad_a(grad, a, b, out) if need_a else None,
                grad_b(grad, a, b, out) if need_b else None)

    def compare(self, op: str, a, b):
        return COMPARE[op](self.xp, a, b)

    def bitwise(self, op: str, a, b):
        return BITWISE[op](self.xp, a, b)

    def where(self, cond, a, b):
        return self.math.where(cond, a, b)

    def clamp(self, x, lo, hi):
        xp = self.xp
        if lo is not None:
            x = xp.maximum(x, lo)
        if hi is not None:
            x = xp.minimum(x, hi)
        return x

    def clamp_grad(self, grad, x, lo, hi):
        return clamp_grad(self.math, grad, x, lo, hi)

    # ------------------------------------------------------------------------ random
    def manual_seed(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)

    def rand(self, shape, dtype):
        return self._rng.random(shape, dtype=np.float64).astype(dtype, copy=False)

    def randn(self, shape, dtype):
        return self._rng.standard_normal(shape, dtype=np.float64).astype(dtype, copy=False)

    def randint(self, low: int, high: int, shape, dtype):
        return self._rng.integers(low, high, shape, dtype=np.int64).astype(dtype, copy=False)

    def randperm(self, n: int, dtype):
        """A random permutation of 0..n-1 (the order of uniform random keys)."""
        return self.xp.argsort(self.rand((n,), np.float64)).astype(dtype, copy=False)

    def bernoulli_mask(self, p_keep: float, shape):
        return self._rng.random(shape) < p_keep


def _forward_fn(xp, xp_name, formula, math):
    """An op's forward as a function of its operands: the array module's own function when
    the formula is exactly that, else the formula bound to ``math``."""
    fn = getattr(xp, xp_name, None) if xp_name is not None else None
    return fn if fn is not None else functools.partial(formula, math)
