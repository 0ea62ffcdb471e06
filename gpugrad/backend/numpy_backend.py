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
- reductions of float16 accumulate in float32 and return float16; the arithmetic primitives
  compute bfloat16 in float32 and round once (each checks its operand first: ``bfloat16.py``).
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from .._device import device
from .bfloat16 import is_bfloat16, widened
from .formulas import BINARY, BINARY_XP, BITWISE, COMPARE, UNARY, UNARY_XP, clamp_grad
from .numpy_math import NumpyMath
from .twins_ce import CrossEntropyTwins
from .twins_index import IndexTwins
from .twins_loss import LossTwins
from .twins_optim import OptimTwins
from .twins_reduce import ReduceTwins

# Elements of the temporary product that ``matmul_accumulate`` adds into its output at a time:
# 16 MiB of float32. On a 2-core EPYC/Xeon with two BLAS threads, 4 MiB blocks cost 1.3x the CPU
# time of the chunked linear cross-entropy (more, smaller products), 64 MiB ones 1.15x.
_ACCUMULATE_BLOCK = 1 << 22
_NUMBERS = (int, float, bool, complex)  # the Python numbers a binary primitive's operand may be


class NumpyBackend(ReduceTwins, IndexTwins, CrossEntropyTwins, LossTwins, OptimTwins):
    """CPU backend over NumPy arrays."""

    name = "numpy"

    def __init__(self, xp=np, dev: device | None = None):
        self.xp = xp
        # What formulas receive as ``m``: NumPy with a branch-free where (see numpy_math.py).
        self.math = NumpyMath() if xp is np else xp
        self.device = dev if dev is not None else device("cpu")
        self.manual_seed(fresh_seed())
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

    # ------------------------------------------------------------------------ matmul
    def matmul(self, a, b):
        """``a @ b`` with NumPy's broadcasting (BLAS for float32/float64)."""
        if a.dtype.kind == "V":  # bfloat16: in float32, rounded once (bfloat16.py)
            return widened(self.matmul, a, b)
        return self.xp.matmul(a, b)

    def matmul_add(self, a, b, c):
        """``a @ b + c`` (``c`` broadcast to the product) rounded once: in float16 and bfloat16
        the product and the sum are float32, as in PyTorch's ``addmm`` and ``linear``."""
        if a.dtype.kind == "V" or a.dtype == np.float16:
            wide = self.xp.matmul(a.astype(np.float32), b.astype(np.float32))
            wide += c.astype(np.float32)
            return wide.astype(a.dtype)
        out = self.xp.matmul(a, b)
        out += c
        return out

    def matmul_accumulate(self, out, a, b) -> None:
        """``out += a @ b`` for 2-D operands, the product computed in ``out``'s dtype; a block
        of ``out``'s rows at a time, so no temporary as large as ``out`` exists."""
        xp = self.xp
        a = a if a.dtype == out.dtype else a.astype(out.dtype)
        b = b if b.dtype == out.dtype else b.astype(out.dtype)
        step = max(1, _ACCUMULATE_BLOCK // max(out.shape[1], 1))
        for r0 in range(0, out.shape[0], step):
            out[r0:r0 + step] += xp.matmul(a[r0:r0 + step], b)

    def linalg_errors(self):
        """A context in which the array module's linalg routines raise ``LinAlgError`` on a
        singular or not positive-definite input (NumPy always does)."""
        return contextlib.nullcontext()

    # ------------------------------------------------------------------- elementwise
    # Each arithmetic primitive first sends bfloat16 through float32 (bfloat16.py).
    def unary(self, op: str, x):
        if x.dtype.kind == "V":
            return widened(self.unary, op, x)
        return self._unary_forward[op](x)

    def unary_grad(self, op: str, grad, x, y):
        if grad.dtype.kind == "V":
            return widened(self.unary_grad, op, grad, x, y)
        return self._unary_grad[op](grad, x, y)

    def binary(self, op: str, a, b):
        if (b if a.__class__ in _NUMBERS else a).dtype.kind == "V":  # one may be a number
            return widened(self.binary, op, a, b)
        return self._binary_forward[op](a, b)

    def binary_grad(self, op: str, grad, a, b, out, need_a: bool, need_b: bool):
        if grad.dtype.kind == "V":
            return widened(self.binary_grad, op, grad, a, b, out, need_a, need_b)
        grad_a, grad_b = self._binary_grad[op]
        return (grad_a(grad, a, b, out) if need_a else None,
                grad_b(grad, a, b, out) if need_b else None)

    def compare(self, op: str, a, b):
        return COMPARE[op](self.xp, a, b)

    def bitwise(self, op: str, a, b):
        return BITWISE[op](self.xp, a, b)

    def where(self, cond, a, b):
        if is_bfloat16(a) or is_bfloat16(b):
            return widened(self.where, cond, a, b)
        return self.math.where(cond, a, b)

    def clamp(self, x, lo, hi):
        xp = self.xp
        if lo is not None:
            x = xp.maximum(x, lo)
        if hi is not None:
            x = xp.minimum(x, hi)
        return x

    def clamp_grad(self, grad, x, lo, hi):
        if grad.dtype.kind == "V":
            return widened(self.clamp_grad, grad, x, lo, hi)
        return clamp_grad(self.math, grad, x, lo, hi)

    # ------------------------------------------------------------------------ random
    # Each draw takes a generator's raw ``rng`` (``None``: this device's default generator,
    # ``self._rng``); ``gpugrad.Generator`` wraps one of these per device.
    def new_rng(self, seed: int):
        """A raw generator (PCG64) seeded with ``seed`` (0 <= seed < 2**64)."""
        return np.random.Generator(np.random.PCG64(seed))

    def manual_seed(self, seed: int) -> None:
        """Reseed this device's default generator."""
        self._rng = self.new_rng(seed)
        self.initial_seed = seed

    def rng_state(self, rng) -> np.ndarray:
        """The state of ``rng`` as bytes (uint8): PCG64's state and increment, its buffered
        32-bit draw."""
        state = rng.bit_generator.state
        words = (state["state"]["state"].to_bytes(16, "little")
                 + state["state"]["inc"].to_bytes(16, "little")
                 + state["uinteger"].to_bytes(4, "little")
                 + state["has_uint32"].to_bytes(1, "little"))
        return np.frombuffer(words, dtype=np.uint8).copy()

    def set_rng_state(self, rng, state: np.ndarray) -> None:
        """Restore a state that ``rng_state`` returned."""
        raw = np.asarray(state, dtype=np.uint8).tobytes()
        if len(raw) != _PCG64_STATE_BYTES:
            raise RuntimeError(
                f"Expected a PCG64 generator state of size {_PCG64_STATE_BYTES} but found the "
                f"input RNG state size to be {len(raw)}"
            )
        rng.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": int.from_bytes(raw[:16], "little"),
                      "inc": int.from_bytes(raw[16:32], "little")},
            "uinteger": int.from_bytes(raw[32:36], "little"),
            "has_uint32": raw[36],
        }

    def rand(self, shape, dtype, rng=None):
        rng = self._rng if rng is None else rng
        return rng.random(shape, dtype=np.float64).astype(dtype, copy=False)

    def randn(self, shape, dtype, rng=None):
        rng = self._rng if rng is None else rng
        return rng.standard_normal(shape, dtype=np.float64).astype(dtype, copy=False)

    def randint(self, low: int, high: int, shape, dtype, rng=None):
        rng = self._rng if rng is None else rng
        return rng.integers(low, high, shape, dtype=np.int64).astype(dtype, copy=False)

    def randperm(self, n: int, dtype, rng=None):
        """A random permutation of 0..n-1 (the order of uniform random keys)."""
        return self.xp.argsort(self.rand((n,), np.float64, rng)).astype(dtype, copy=False)

    def bernoulli_mask(self, p_keep: float, shape, rng=None):
        rng = self._rng if rng is None else rng
        return rng.random(shape) < p_keep


_PCG64_STATE_BYTES = 37


def fresh_seed() -> int:
    """A non-deterministic 64-bit seed (from the OS's entropy)."""
    return int(np.random.SeedSequence().entropy % 2**64)


def _forward_fn(xp, xp_name, formula, math):
    """An op's forward as a function of its operands: the array module's own function when
    the formula is exactly that, else the formula bound to ``math``."""
    fn = getattr(xp, xp_name, None) if xp_name is not None else None
    return fn if fn is not None else functools.partial(formula, math)
