"""Rearrangements of channels and pixels: ``pixel_shuffle``, ``pixel_unshuffle`` and
``channel_shuffle``.

Each is one reshape-transpose-reshape copy of the array, and each one's adjoint is the inverse
rearrangement (pixel shuffle and unshuffle undo each other; shuffling C channels in ``g``
groups is undone by shuffling them in C / g groups), so backward is the other op, itself
differentiable.
"""

from __future__ import annotations

from ..autograd.function import Function

__all__ = ["PixelShuffle", "PixelUnshuffle", "ChannelShuffle"]


def _pixel_shuffle_array(xp, arr, r: int):
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): channel c*r*r + i*r + j goes to pixel (i, j) of
    each r x r block."""
    *batch, c, h, w = arr.shape
    c //= r * r
    n = len(batch)
    blocks = arr.reshape(*batch, c, r, r, h, w)
    order = tuple(range(n)) + (n, n + 3, n + 1, n + 4, n + 2)
    return xp.ascontiguousarray(blocks.transpose(order)).reshape(*batch, c, h * r, w * r)


def _pixel_unshuffle_array(xp, arr, r: int):
    *batch, c, h, w = arr.shape
    h, w = h // r, w // r
    n = len(batch)
    blocks = arr.reshape(*batch, c, h, r, w, r)
    order = tuple(range(n)) + (n, n + 2, n + 4, n + 1, n + 3)
    return xp.ascontiguousarray(blocks.transpose(order)).reshape(*batch, c * r * r, h, w)


def _channel_shuffle_array(xp, arr, groups: int):
    """(N, C, *) with the channels read as a (groups, C / groups) table, written transposed."""
    n, c, *rest = arr.shape
    table = arr.reshape(n, groups, c // groups, *rest)
    return xp.ascontiguousarray(table.swapaxes(1, 2)).reshape(n, c, *rest)


class PixelShuffle(Function):
    node_name = "PixelShuffleBackward0"

    @staticmethod
    def forward(ctx, x, r):
        ctx.r = r
        return x._new(_pixel_shuffle_array(x._backend.xp, x._data, r))

    @staticmethod
    def backward(ctx, grad):
        return PixelUnshuffle.apply_unary(grad, ctx.r), None


class PixelUnshuffle(Function):
    node_name = "PixelUnshuffleBackward0"

    @staticmethod
    def forward(ctx, x, r):
        ctx.r = r
        return x._new(_pixel_unshuffle_array(x._backend.xp, x._data, r))

    @staticmethod
    def backward(ctx, grad):
        return PixelShuffle.apply_unary(grad, ctx.r), None


class ChannelShuffle(Function):
    node_name = "ChannelShuffleBackward0"

    @staticmethod
    def forward(ctx, x, groups):
        ctx.groups = groups
        return x._new(_channel_shuffle_array(x._backend.xp, x._data, groups))

    @staticmethod
    def backward(ctx, grad):
        return ChannelShuffle.apply_unary(grad, grad.shape[1] // ctx.groups), None
