"""``pad``: PyTorch's argument checks, then the ops of ``ops/padding.py``."""

from __future__ import annotations

from ...ops._util import Tensor, check_tensor, int_arg
from ...ops.padding import constant_pad, index_pad

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _pad_int(p, i: int) -> int:
    """One entry of ``pad`` as an int (an integer tensor of one element too, as PyTorch reads
    it); PyTorch's error for anything else (it counts the positions from 1)."""
    try:
        return int_arg(p, "pad", "pad")
    except TypeError:
        raise TypeError(f"pad(): argument 'pad' failed to unpack the object at pos {i + 1} "
                        f"with error \"type must be tuple of ints,but got "
                        f"{type(p).__name__}\"") from None


def pad(input: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """``input`` padded by ``pad`` = (left, right) of the last dim, then (top, bottom) of the
    one before, and so on; negative values crop. ``mode``: ``"constant"`` (``value``, default
    0), ``"reflect"``, ``"replicate"`` or ``"circular"`` (those pad the last 1, 2 or 3 dims of
    a batched or unbatched input)."""
    check_tensor(input, "pad")
    if isinstance(pad, Tensor):
        raise TypeError("pad(): argument 'pad' (position 2) must be tuple of ints, not Tensor")
    pads = tuple(_pad_int(p, i) for i, p in enumerate(pad))
    if len(pads) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pads) > 2 * input.dim():
        raise RuntimeError(
            "Padding length should be less than or equal to two times the input dimension but "
            f"got padding length {len(pads)} and input of dimension {input.dim()}")
    if mode == "constant":
        return constant_pad(input, pads, 0 if value is None else value)
    if mode not in _MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    k = len(pads) // 2
    if k not in (1, 2, 3) or input.dim() not in (k + 1, k + 2):
        raise NotImplementedError(
            f"Padding size {len(pads)} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    shape = input.shape
    if mode != "circular":
        first = 1 if input.dim() == k + 2 else 0  # a batch may be empty, nothing else
        if any(n == 0 for n in shape[first:]):
            raise RuntimeError(
                f"Expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size "
                f"and other non-zero dimensions for input, but got: {list(shape)}")
    for j in range(k):
        dim, before, after = input.dim() - 1 - j, pads[2 * j], pads[2 * j + 1]
        if mode == "reflect" and (before >= shape[dim] or after >= shape[dim]):
            raise RuntimeError(  # (PyTorch numbers the pads as the arguments of its kernel)
                f"Argument #{4 + 2 * j}: Padding size should be less than the corresponding "
                f"input dimension, but got: padding ({before}, {after}) at dimension {dim} of "
                f"input {list(shape)}")
        if mode == "circular" and (before > shape[dim] or after > shape[dim]):
            raise RuntimeError("Padding value causes wrapping around more than once.")
    return index_pad(input, pads, mode)
