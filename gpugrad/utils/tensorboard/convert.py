"""What the writer accepts as values: gpugrad Tensors, NumPy arrays and scalars, Python numbers."""

from __future__ import annotations

import numpy as np


def make_np(x) -> np.ndarray:
    """``x`` as a NumPy array: a Tensor is detached and copied to the host, a scalar becomes a
    one-element array. Anything else (lists included) raises ``NotImplementedError``, as in
    PyTorch."""
    from ... import bfloat16, float16
    from ...tensor import Tensor

    if isinstance(x, np.ndarray):
        return x
    if np.isscalar(x):
        return np.array([x])
    if isinstance(x, Tensor):
        x = x.detach()
        if x.dtype is bfloat16:
            # PyTorch's writer goes through float16 here; so does this one, for the same values.
            x = x.to(float16)
        return x.cpu().numpy()
    raise NotImplementedError(f"Got {type(x)}, but numpy array or gpugrad tensor are expected.")
