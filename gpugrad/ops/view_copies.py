"""The ``*_copy`` variants of the view ops (``torch.t_copy``, ``transpose_copy``, ``slice_copy``
...): the view, then a contiguous copy, so the result shares no memory with the input. Each is
generated from one line of the table below; gradients are the view's (the copy passes them
through). The sparse ones (``indices_copy``, ``values_copy``, ``crow_indices_copy`` ...) and the
complex views have no counterpart here.
"""

from __future__ import annotations

import inspect

from .._typeinfo import contiguous_format
from ._util import Tensor, check_tensor, wrap_dim


def _slice(input: Tensor, dim: int = 0, start=None, end=None, step: int = 1):
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    dim = wrap_dim(dim, input.ndim)
    return input[(slice(None),) * dim + (slice(start, end, step),)]


def _expand(input: Tensor, size, *, implicit: bool = False):
    return input.expand(*size)


def _squeeze(input: Tensor, dim=None):
    return input.squeeze() if dim is None else input.squeeze(dim)


def _detach(input: Tensor):
    return input.detach()


# name -> the view it copies, written with the copy's signature.
_VIEWS = {
    "t_copy": lambda input: input.t(),
    "transpose_copy": lambda input, dim0, dim1: input.transpose(dim0, dim1),
    "permute_copy": lambda input, dims: input.permute(*dims),
    "expand_copy": _expand,
    "diagonal_copy": lambda input, offset=0, dim1=0, dim2=1: input.diagonal(offset, dim1, dim2),
    "select_copy": lambda input, dim, index: input.select(dim, index),
    "slice_copy": _slice,
    "squeeze_copy": _squeeze,
    "unsqueeze_copy": lambda input, dim: input.unsqueeze(dim),
    "unbind_copy": lambda input, dim=0: input.unbind(dim),
    "split_copy": lambda input, split_size, dim=0: input.split(split_size, dim),
    "split_with_sizes_copy": lambda input, split_sizes, dim=0: input.split(list(split_sizes),
                                                                           dim),
    "detach_copy": _detach,
    "alias_copy": lambda input: input.view(input.shape),
    "unfold_copy": lambda input, dimension, size, step: input.unfold(dimension, size, step),
    "view_copy": lambda input, size: input.view(size),
    "as_strided_copy": lambda input, size, stride, storage_offset=None: input.as_strided(
        size, stride, storage_offset),
}


def _copy_of(name: str, view):
    base = name[: -len("_copy")]

    def copy(input, *args, **kwargs):
        check_tensor(input, name)
        out = view(input, *args, **kwargs)
        if isinstance(out, (tuple, list)):
            return tuple(t.clone(memory_format=contiguous_format) for t in out)
        return out.clone(memory_format=contiguous_format)

    copy.__name__ = copy.__qualname__ = name
    copy.__signature__ = inspect.signature(view)
    copy.__doc__ = f"``{base}`` of ``input``, returned as a fresh tensor rather than a view."
    return copy


globals().update({name: _copy_of(name, view) for name, view in _VIEWS.items()})

__all__ = list(_VIEWS)

METHODS: dict = {}
