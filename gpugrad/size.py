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
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r
