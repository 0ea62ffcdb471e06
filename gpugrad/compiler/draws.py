"""Random numbers in a captured step: each draw is a replay step of its own.

A generator's draw is no array operation, so ``Traced`` cannot see it: left alone, a capture
would bake the capture's dropout masks into every replay. During a capture the CPU backend's
random primitives hand their methods a ``RecordingRng`` instead of the raw generator; it draws
into a buffer and records the same draw, into the same buffer, from the same generator. The
replay thus consumes the generator exactly as eager steps do: fresh masks each step, the same
ones as eager for the same seed. The device's default generator is looked up at each replay
(``manual_seed`` replaces it).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .trace import Traced

_METHODS = ("rand", "randn", "randint", "bernoulli_mask")


def _resolver(backend, rng):
    if rng is None or rng is backend._rng:
        return lambda: backend._rng
    return lambda: rng


def _float_draw(resolve, method: str, out) -> None:
    getattr(resolve(), method)(dtype=out.dtype, out=out)


def _int_draw(resolve, low, high, out) -> None:
    out[...] = resolve().integers(low, high, out.shape, dtype=out.dtype)


class RecordingRng:
    """Stands in for a raw NumPy generator inside the backend's random primitives."""

    def __init__(self, rec, backend, rng):
        self._rec = rec
        self._resolve = _resolver(backend, rng)

    def _float(self, method: str, size, dtype):
        out = np.empty(() if size is None else size, dtype)
        step = partial(_float_draw, self._resolve, method, out)
        step()
        self._rec.internal[id(out)] = out
        self._rec.steps.append(step)
        return out.view(Traced)

    def random(self, size=None, dtype=np.float64):
        return self._float("random", size, dtype)

    def standard_normal(self, size=None, dtype=np.float64):
        return self._float("standard_normal", size, dtype)

    def integers(self, low, high=None, size=None, dtype=np.int64):
        if high is None:
            low, high = 0, low
        out = np.empty(() if size is None else size, dtype)
        step = partial(_int_draw, self._resolve, low, high, out)
        step()
        self._rec.internal[id(out)] = out
        self._rec.steps.append(step)
        return out.view(Traced)


def patch(backend, rec) -> None:
    """Route ``backend``'s random primitives through RecordingRngs until ``unpatch``."""
    cls = type(backend)

    def rand(shape, dtype, rng=None):
        return cls.rand(backend, shape, dtype, RecordingRng(rec, backend, rng))

    def randn(shape, dtype, rng=None):
        return cls.randn(backend, shape, dtype, RecordingRng(rec, backend, rng))

    def randint(low, high, shape, dtype, rng=None):
        return cls.randint(backend, low, high, shape, dtype, RecordingRng(rec, backend, rng))

    def bernoulli_mask(p_keep, shape, rng=None):
        return cls.bernoulli_mask(backend, p_keep, shape, RecordingRng(rec, backend, rng))

    for name, fn in zip(_METHODS, (rand, randn, randint, bernoulli_mask)):
        setattr(backend, name, fn)


def unpatch(backend) -> None:
    for name in _METHODS:
        backend.__dict__.pop(name, None)
