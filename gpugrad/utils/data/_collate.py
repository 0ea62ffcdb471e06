"""``default_collate`` and ``default_convert``: turn samples into batches as PyTorch does.

Batches made from numbers and NumPy arrays are CPU tensors, as in PyTorch, whatever the default
device (worker processes must not touch the GPU); tensors are stacked where they are."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..._dtype import float64
from ...factories import as_tensor, tensor
from ...ops.join import stack
from ...tensor import Tensor

__all__ = ["default_collate", "default_convert"]


def _rebuild(like, items):
    """A container of ``like``'s type holding ``items`` (a plain list/dict if it can't be)."""
    if isinstance(like, Mapping):
        try:
            return type(like)(items)
        except TypeError:
            return dict(items)
    try:
        return type(like)(items)
    except TypeError:
        return list(items)


def default_collate(batch: list):
    """Stack a list of samples into a batch: tensors and NumPy arrays are stacked along a new
    first dim, numbers become a tensor (Python floats float64), strings stay as given, and
    mappings, named tuples and sequences are collated field by field."""
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch, 0)
    if isinstance(first, np.ndarray):
        if first.dtype.kind in "OSU":
            raise TypeError(
                "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                f"lists; found {first.dtype}"
            )
        return stack([as_tensor(b, device="cpu") for b in batch], 0)
    if isinstance(first, np.generic):
        return as_tensor(np.array(batch), device="cpu")
    if isinstance(first, float):
        return tensor(batch, dtype=float64, device="cpu")
    if isinstance(first, (bool, int)):
        return tensor(batch, device="cpu")
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, Mapping):
        return _rebuild(first, {key: default_collate([s[key] for s in batch]) for key in first})
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # named tuple
        return type(first)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(first, Sequence):
        if any(len(sample) != len(first) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        # each field is handed on as zip's tuple: a field of strings stays that tuple, as
        # PyTorch's (a mapping's strings, gathered into a list, stay a list)
        fields = [default_collate(field) for field in zip(*batch)]
        return fields if isinstance(first, tuple) else _rebuild(first, fields)
    raise TypeError(
        "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(first)}"
    )


def default_convert(data):
    """What a loader without batching returns for one sample: NumPy arrays (and their
    scalars) become tensors, containers are converted element by element, the rest stays."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "OSU" else as_tensor(data, device="cpu")
    if isinstance(data, np.generic):
        return as_tensor(np.asarray(data), device="cpu")
    if isinstance(data, Mapping):
        return _rebuild(data, {key: default_convert(v) for key, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild(data, [default_convert(d) for d in data])
    return data
