"""``pixel_shuffle``, ``pixel_unshuffle`` and ``channel_shuffle``: PyTorch's checks, then the
ops of ``ops/shuffle.py``."""

from __future__ import annotations

import numbers

from ...ops._util import Tensor, check_tensor
from ...ops.shuffle import ChannelShuffle, PixelShuffle, PixelUnshuffle

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle"]


def _factor(fn: str, name: str, value, position: int = 2) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be int, not "
                        f"{type(value).__name__}")
    value = int(value)
    if value <= 0 and name != "groups":
        raise RuntimeError(f"{fn} expects a positive {name}, but got {value}")
    return value


def _check_3d(input: Tensor, fn: str) -> None:
    if input.dim() < 3:
        raise RuntimeError(f"{fn} expects input to have at least 3 dimensions, but got input "
                           f"with {input.dim()} dimension(s)")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C * r^2, H, W) -> (*, C, H * r, W * r), r = ``upscale_factor``: each group of r^2
    channels becomes an r x r block of pixels."""
    check_tensor(input, "pixel_shuffle")
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    _check_3d(input, "pixel_shuffle")
    c = input.shape[-3]
    if c % (r * r):
        raise RuntimeError(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
            f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    return PixelShuffle.apply_unary(input, r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r^2, H, W), r = ``downscale_factor``: the inverse of
    ``pixel_shuffle``."""
    check_tensor(input, "pixel_unshuffle")
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    _check_3d(input, "pixel_unshuffle")
    for name, dim in (("height", -2), ("width", -1)):
        if input.shape[dim] % r:
            raise RuntimeError(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                f"input.size({dim})={input.shape[dim]} is not divisible by {r}")
    return PixelUnshuffle.apply_unary(input, r)


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, C, *) with its C channels split into ``groups`` groups and interleaved: channel
    g * (C / groups) + k goes to k * groups + g."""
    check_tensor(input, "channel_shuffle")
    groups = _factor("channel_shuffle", "groups", groups)
    if groups <= 0:
        raise RuntimeError("Number of groups to divide channels in must be positive. Value of "
                           f"groups:{groups}")
    if input.dim() <= 2:
        raise RuntimeError("channel_shuffle expects input with > 2 dims, but got input with "
                           f"sizes {list(input.shape)}")
    c = input.shape[1]
    if c % groups:
        raise RuntimeError("Number of channels must be divisible by groups. Got "
                           f"{c} channels and {groups} groups.")
    return ChannelShuffle.apply_unary(input, groups)
