"""``repr`` of tensors in PyTorch's style: ``tensor([1., 2.], requires_grad=True)``."""

from __future__ import annotations

import numpy as np

from . import _dtype as dt

_DEFAULT_SHOWN = {"float32": False, "int64": False, "bool": False}


def _format_floats(arr: np.ndarray) -> dict:
    finite = arr[np.isfinite(arr)]
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e8:
        return {"float_kind": lambda v: f"{v:.0f}." if np.isfinite(v) else str(v)}
    big = finite.size and (np.abs(finite).max() >= 1e8 or
                           (np.abs(finite[finite != 0]).min() < 1e-4 if np.any(finite) else False))
    if big:
        return {"float_kind": lambda v: f"{v:.4e}"}
    return {"float_kind": lambda v: f"{v:.4f}"}


def _padded(fmt, arr):
    """Right-justify every element to the widest one, as PyTorch does."""
    flat = arr.ravel()
    shown = flat if flat.size <= 1000 else np.concatenate([flat[:3], flat[-3:]])
    width = max((len(fmt(v)) for v in shown), default=0)
    return lambda v: fmt(v).rjust(width)


def tensor_repr(t) -> str:
    arr = np.asarray(t._backend.to_numpy(t._data))
    prefix = "tensor("
    if arr.dtype.kind == "f":
        fmt = _format_floats(arr.astype(np.float64))["float_kind"]
        formatter = {"float_kind": _padded(fmt, arr)}
    elif arr.dtype.kind in "iu":
        formatter = {"int": _padded(str, arr)}
    else:
        formatter = None
    if arr.size == 0:
        body = "[]"
    else:
        body = np.array2string(arr, separator=", ", formatter=formatter, prefix=prefix,
                               threshold=1000, edgeitems=3, max_line_width=80)
    extras = []
    if t.device.type != "cpu":
        extras.append(f"device='{t.device}'")
    d = t.dtype
    default_float = d is dt.get_default_dtype()
    if arr.size == 0 and arr.ndim > 1:
        extras.append(f"size={tuple(arr.shape)}")
    implicit = _DEFAULT_SHOWN.get(d.name) is False and (not d.is_floating_point or default_float)
    if not implicit:
        extras.append(f"dtype=gpugrad.{d.name}")
    if t.grad_fn is not None:
        extras.append(f"grad_fn=<{type(t.grad_fn).__name__}>")
    elif t.requires_grad:
        extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
