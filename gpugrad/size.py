"""``gpugrad.Size``: the type of ``Tensor.shape``, a tuple as ``torch.Size``."""

from __future__ import annotations

import functools
import math
import operator

import numpy as np


class Size(tuple):
    """A tuple of dimension lengths: ints (NumPy integers kept as given, one-element integer
    tensors read as their int, as ``torch.Size`` takes them; anything else a TypeError)."""

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        for n in sizes:
            if n.__class__ is not int:
                sizes = _checked(sizes)
                break
        return tuple.__new__(cls, sizes)

    def numel(self) -> int:
        return math.prod(self)

    def __repr__(self) -> str:
        return f"gpugrad.Size({list(self)})"

    def __getitem__(self, item):
        if item.__class__ is slice:  # (slice cannot be subclassed)
            return sized(tuple.__getitem__(self, item))
        return tuple.__getitem__(self, item)

    # Concatenating or repeating gives a Size, as torch.Size's (a tuple's would give a tuple).
    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return sized(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return sized(tuple.__add__(other, self))

    def __mul__(self, n):
        return sized(tuple.__mul__(self, n))

    __rmul__ = __mul__


# ``sized(dims)``: a ``Size`` of ``dims``, a tuple known to hold ints (an array's shape), without
# the checks (``Tensor.shape`` makes one per call: a C-level partial, no Python frame).
sized = functools.partial(tuple.__new__, Size)


def _checked(sizes: tuple) -> tuple:
    """``sizes`` with one-element integer tensors read as ints; PyTorch's TypeError for
    entries that are not integers."""
    from .tensor import Tensor

    out = []
    for i, n in enumerate(sizes):
        if isinstance(n, (Tensor, bool)):
            n = operator.index(n) if isinstance(n, Tensor) else int(n)
        elif not isinstance(n, (int, np.integer)):
            raise TypeError(f"torch.Size() takes an iterable of 'int' (item {i} is "
                            f"'{type(n).__name__}')")
        out.append(n)
    return tuple(out)
