"""``gpugrad.Size``: the type of ``Tensor.shape``, a tuple as ``torch.Size``."""

from __future__ import annotations

import math


class Size(tuple):
    """A tuple of dimension lengths."""

    def numel(self) -> int:
        return math.prod(self)

    def __repr__(self) -> str:
        return f"gpugrad.Size({list(self)})"

    def __getitem__(self, item):
        if item.__class__ is slice:  # (slice cannot be subclassed)
            return Size(tuple.__getitem__(self, item))
        return tuple.__getitem__(self, item)

    # Concatenating or repeating gives a Size, as torch.Size's (a tuple's would give a tuple).
    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        return Size(tuple.__mul__(self, n))

    __rmul__ = __mul__
