"""The ``meta`` device: tensors with a shape, a dtype and a history but no data.

PyTorch programs move a module to ``meta`` to keep a stateless copy of its structure (the
ensembling recipe of ``torch.func``: ``copy.deepcopy(model).to('meta')``, then
``functional_call`` with real weights) and check shapes without computing. A meta tensor's array
here is a zero-stride view of one element: it has the shape and dtype, takes no memory, and
takes writes (which land nowhere of interest). Ops compute on these arrays with the NumPy
backend's code, so every op gives a result of the right shape and dtype on ``meta`` (its
array, unlike PyTorch's, is allocated); nothing leaves the device: ``cpu()``, ``tolist()``,
``item()`` and ``numpy()`` raise as PyTorch's do (``Module.to_empty`` moves a module off it).
"""

from __future__ import annotations

import numpy as np

from .._device import device
from .numpy_backend import NumpyBackend

__all__ = ["MetaBackend", "NO_DATA"]

NO_DATA = ("Cannot copy out of meta tensor; no data! Please use torch.nn.Module.to_empty() "
           "instead of torch.nn.Module.to() when moving module from meta to a different device.")


def storage_free(shape, dtype) -> np.ndarray:
    """A writable array of ``shape`` and ``dtype`` over one element (every stride 0)."""
    one = np.zeros(1, dtype=dtype)
    return np.lib.stride_tricks.as_strided(one, shape=tuple(shape), strides=(0,) * len(shape),
                                           writeable=True)


class MetaBackend(NumpyBackend):
    """The backend of ``meta`` tensors (see the module docstring)."""

    name = "meta"

    def __init__(self):
        super().__init__(np, device("meta"))

    def asarray(self, data, dtype=None):
        """What moving ``data`` (host data or a host array) to ``meta`` keeps: its shape and
        dtype."""
        arr = np.asarray(data, dtype=dtype)
        return storage_free(arr.shape, arr.dtype)

    def to_numpy(self, arr):
        raise NotImplementedError(NO_DATA)
