"""``Tensor.view(dtype)``: the same memory read as another dtype, as PyTorch's. Not a
differentiable op (the result never requires grad, as in PyTorch); like ``detach()`` it shares
the version counter, so in-place writes on either side are seen by saved-tensor checks.

Between dtypes of one element size the shape and strides stay; otherwise the last dim shrinks
or grows by the size ratio, which PyTorch allows only where that dim is contiguous and, for a
larger element, where the last size, the other strides and the offset divide by the ratio.
"""

from __future__ import annotations

from .. import _dtype as dt
from ._util import Tensor


def view_as_dtype(x: Tensor, dtype) -> Tensor:
    """``x``'s memory as ``dtype`` (a gpugrad dtype)."""
    data = x._data
    new = dtype.np
    old_size, new_size = data.dtype.itemsize, new.itemsize
    if old_size != new_size:
        what = (f"to view {dt.SCALAR_TYPE_NAMES[x.dtype.name]} as "
                f"{dt.SCALAR_TYPE_NAMES[dtype.name]} (different element sizes)")
        if data.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 {what}")
        strides = x.stride()
        ratio = new_size // old_size
        if ratio:  # (a larger element: PyTorch's checks, in its order)
            if data.shape[-1] % ratio:
                raise RuntimeError(f"self.size(-1) must be divisible by {ratio} {what}, but got "
                                   f"{data.shape[-1]}")
            offset = x.storage_offset()
            if offset % ratio:
                raise RuntimeError(f"self.storage_offset() must be divisible by {ratio} {what}, "
                                   f"but got {offset}")
        if strides[-1] != 1:
            raise RuntimeError(f"self.stride(-1) must be 1 {what}, but got {strides[-1]}")
        if ratio:
            for i, stride in enumerate(strides[:-1]):
                if stride % ratio:
                    raise RuntimeError(f"self.stride({i}) must be divisible by {ratio} {what}, "
                                       f"but got {stride}")
    return x._view(data.view(new))
