"""The text of a sparse COO tensor, as PyTorch prints one."""

from __future__ import annotations

from .._format import _with_suffixes, array_text, shows_dtype
from .._typeinfo import sparse_coo


def sparse_repr(s) -> str:
    """PyTorch's text of a sparse COO tensor: its indices and values, then its size, nnz,
    dtype, layout and history."""
    backend = s._backend
    indent = len("tensor(")
    parts = []
    for name, t in (("indices", s._indices_t), ("values", s._values_t)):
        arr = backend.to_numpy(t._data)
        prefix = f"{name}=tensor("
        text = array_text(arr, indent + len(prefix))
        if arr.size == 0:
            text += f", size={tuple(arr.shape)}"
        parts.append(prefix + text + ")")
    suffixes = []
    if s.device.type != "cpu":
        suffixes.append(f"device='{s.device}'")
    suffixes += [f"size={s._size}", f"nnz={s._nnz()}"]
    if shows_dtype(s.dtype):
        suffixes.append(f"dtype=gpugrad.{s.dtype.name}")
    suffixes.append(f"layout={sparse_coo}")
    if s.grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(s.grad_fn).__name__}>")
    elif s.requires_grad:
        suffixes.append("requires_grad=True")
    text = "tensor(" + (",\n" + " " * indent).join(parts)
    return _with_suffixes(text, suffixes, indent, newline=True)
