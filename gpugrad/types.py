"""``gpugrad.types``: the type aliases of ``torch.types`` that programs write in their
annotations (``Number``, ``Device``, ``_size``...), over gpugrad's classes."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO

from ._device import device as _device
from ._dtype import dtype as _dtype
from ._typeinfo import layout as _layout
from .size import Size
from .tensor import Tensor

__all__ = ["Number", "Device", "FileLike", "Size", "Tensor", "IntLikeType", "FloatLikeType",
           "BoolLikeType"]

_int, _float, _bool, _complex, _str, _bytes = int, float, bool, complex, str, bytes
Number = int | float | bool
_Number = (int, float, bool)
Device = _device | str | int | None
FileLike = str | os.PathLike[str] | IO[bytes]
_size = Size | list[int] | tuple[int, ...]
_symsize = Size | Sequence[int]
_TensorOrTensors = Tensor | Sequence[Tensor]
_TensorOrOptionalTensors = Tensor | Sequence[Tensor | None]
# (gpugrad has no symbolic shapes: the Sym* halves of PyTorch's unions are the plain types)
IntLikeType, FloatLikeType, BoolLikeType = int, float, bool

__all__ += ["_int", "_float", "_bool", "_complex", "_str", "_bytes", "_Number", "_device",
            "_dtype", "_layout", "_size", "_symsize", "_TensorOrTensors",
            "_TensorOrOptionalTensors"]
