"""Broadcasting's shapes and PyTorch's errors for shapes that do not broadcast, shared by
every op that takes several operands."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

__all__ = ["raise_broadcast_error", "broadcast_shape"]


def raise_broadcast_error(a, b, cause: ValueError | None = None):
    """PyTorch's message for shapes that do not broadcast; a RuntimeError with ``cause``'s
    message if they do (operands are Tensors or Python scalars)."""
    sa, sb = tuple(getattr(a, "shape", ())), tuple(getattr(b, "shape", ()))
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    for i in range(n - 1, -1, -1):
        if pa[i] != pb[i] and pa[i] != 1 and pb[i] != 1:
            raise RuntimeError(
                f"The size of tensor a ({pa[i]}) must match the size of tensor b ({pb[i]}) at "
                f"non-singleton dimension {i}"
            )
    if cause is not None:
        raise RuntimeError(str(cause)) from None
    raise RuntimeError(f"shapes {list(sa)} and {list(sb)} cannot be broadcast together")


def broadcast_shape(*operands) -> tuple:
    """The shape that Tensors and Python numbers broadcast to; PyTorch's RuntimeError for the
    first operand that does not broadcast with those before it."""
    shape = ()
    for x in operands:
        try:
            shape = np.broadcast_shapes(shape, tuple(getattr(x, "shape", ())))
        except ValueError:
            raise_broadcast_error(SimpleNamespace(shape=shape), x)
    return shape
