"""The padding modules (``ZeroPad2d``, ``ReflectionPad1d``...): ``F.pad`` with a fixed padding,
in 1, 2 or 3 dims."""

from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = [f"{kind}Pad{n}d" for kind in ("Zero", "Constant", "Reflection", "Replication",
                                         "Circular") for n in (1, 2, 3)]


class _PadNd(Module):
    _dims = 1
    _mode = "constant"

    def __init__(self, padding):
        super().__init__()
        n = 2 * self._dims
        if isinstance(padding, int) and not isinstance(padding, bool):
            padding = (padding,) * n
        padding = tuple(padding)
        if len(padding) != n or not all(isinstance(p, int) for p in padding):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of {n} "
                             f"ints, got {padding!r}")
        self.padding = padding

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _classes(base, kind: str, mode: str | None, doc: str) -> list:
    made = []
    for n in (1, 2, 3):
        attrs = {"_dims": n, "__doc__": doc.format(n=n), "__module__": __name__}
        if mode is not None:
            attrs["_mode"] = mode
        made.append(type(f"{kind}Pad{n}d", (base,), attrs))
    return made


ZeroPad1d, ZeroPad2d, ZeroPad3d = _classes(
    _ZeroPadNd, "Zero", None, "Pads the last {n} dim(s) with zeros.")
ConstantPad1d, ConstantPad2d, ConstantPad3d = _classes(
    _ConstantPadNd, "Constant", None, "Pads the last {n} dim(s) with a constant ``value``.")
ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = _classes(
    _PadNd, "Reflection", "reflect",
    "Pads the last {n} dim(s) with their reflection about the edge element.")
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = _classes(
    _PadNd, "Replication", "replicate", "Pads the last {n} dim(s) by repeating the edge element.")
CircularPad1d, CircularPad2d, CircularPad3d = _classes(
    _PadNd, "Circular", "circular", "Pads the last {n} dim(s) by wrapping around.")
