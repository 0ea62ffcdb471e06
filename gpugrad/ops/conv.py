"""Sliding windows: ``Unfold`` (im2col) and ``Fold`` (col2im), and max pooling over the same
windows. The convolutions and average pooling are built on them in ``nn/functional``.

``Unfold`` copies every kernel-sized window of an (N, C, H, W) input into the columns of an
(N, C*kh*kw, L) array; ``Fold`` sums such columns back into an image. They are each other's
adjoint, so each one's backward is the other, and both are differentiable again. Both copy with
one strided slice per kernel position (kh*kw slices), which works on NumPy and CuPy arrays
alike.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd.function import Function


def _out_size(size: int, kernel: int, dilation: int, pad_total: int, stride: int) -> int:
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


class Geometry:
    """The windows of an unfold: kernel, dilation, padding (top, bottom, left, right), stride,
    and the resulting output grid for an (H, W) image."""

    def __init__(self, hw, kernel, dilation, pads, stride):
        if min(kernel) < 1 or min(dilation) < 1 or min(stride) < 1:
            raise RuntimeError(
                f"kernel size, dilation and stride must be positive, got kernel_size={kernel}, "
                f"dilation={dilation}, stride={stride}"
            )
        self.hw, self.kernel, self.dilation = tuple(hw), kernel, dilation
        self.pads, self.stride = pads, stride
        (kh, kw), (dh, dw), (sh, sw) = kernel, dilation, stride
        pt, pb, pl, pr = pads
        self.out = (_out_size(hw[0], kh, dh, pt + pb, sh), _out_size(hw[1], kw, dw, pl + pr, sw))
        if min(self.out) < 1:
            raise RuntimeError(
                f"Calculated padded input size per channel: ({hw[0] + pt + pb} x "
                f"{hw[1] + pl + pr}). Kernel size: ({dh * (kh - 1) + 1} x {dw * (kw - 1) + 1}). "
                "Kernel size can't be greater than actual input size"
            )

    def windows(self):
        """For each kernel position (i, j): the slices of the padded image it reads."""
        (kh, kw), (dh, dw), (sh, sw), (oh, ow) = self.kernel, self.dilation, self.stride, self.out
        for i in range(kh):
            for j in range(kw):
                yield i, j, (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                             slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def _unfold_array(xp, x, geo: Geometry, fill: float):
    n, c = x.shape[:2]
    x = _padded(xp, x, geo, fill)
    (kh, kw), (oh, ow) = geo.kernel, geo.out
    cols = xp.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i, j, (rows, columns) in geo.windows():
        cols[:, :, i, j] = x[:, :, rows, columns]
    return cols.reshape(n, c * kh * kw, oh * ow)


def _fold_array(xp, cols, geo: Geometry):
    (kh, kw), (oh, ow), (h, w) = geo.kernel, geo.out, geo.hw
    pt, pb, pl, pr = geo.pads
    n, c = cols.shape[0], cols.shape[1] // (kh * kw)
    cols = cols.reshape(n, c, kh, kw, oh, ow)
    out = xp.zeros((n, c, h + pt + pb, w + pl + pr), dtype=cols.dtype)
    for i, j, (rows, columns) in geo.windows():
        out[:, :, rows, columns] += cols[:, :, i, j]
    return xp.ascontiguousarray(out[:, :, pt:pt + h, pl:pl + w])


class Unfold(Function):
    node_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, geo, fill):
        ctx.geo = geo
        return x._new(_unfold_array(x._backend.xp, x._data, geo, fill))

    @staticmethod
    def backward(ctx, grad):
        return Fold.apply(grad, ctx.geo), None, None

    def _array_backward(self, grad):
        return _fold_array(self._backend.xp, grad, self.geo), None, None


class Fold(Function):
    node_name = "Col2ImBackward0"

    @staticmethod
    def forward(ctx, cols, geo):
        ctx.geo = geo
        return cols._new(_fold_array(cols._backend.xp, cols._data, geo))

    @staticmethod
    def backward(ctx, grad):
        return Unfold.apply(grad, ctx.geo, 0.0), None

    def _array_backward(self, grad):
        return _unfold_array(self._backend.xp, grad, self.geo, 0.0), None


def _padded(xp, x, geo: Geometry, fill: float):
    pt, pb, pl, pr = geo.pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    padded = xp.full((n, c, h + pt + pb, w + pl + pr), fill, dtype=x.dtype)
    padded[:, :, pt:pt + h, pl:pl + w] = x
    return padded


def _first_max_masks(xp, x, out, geo: Geometry):
    """For each kernel position: its slices of the padded input, and where it holds its
    window's first maximum."""
    padded = _padded(xp, x, geo, -math.inf)
    taken = xp.zeros(out.shape, dtype=bool)
    nan_out = out != out
    for i, j, window in geo.windows():
        part = padded[(slice(None), slice(None), *window)]
        mask = ((part == out) | (nan_out & (part != part))) & ~taken
        taken |= mask
        yield i, j, window, mask


def max_positions(xp, x, out, geo: Geometry):
    """Where each window's first maximum is, as a flat index into its (H, W) plane of ``x``
    (``max_pool2d``'s ``return_indices``)."""
    (oh, ow), (sh, sw), (dh, dw) = geo.out, geo.stride, geo.dilation
    pt, _, pl, _ = geo.pads
    rows, cols = xp.arange(oh) * sh - pt, xp.arange(ow) * sw - pl
    positions = xp.zeros(out.shape, dtype=np.int64)
    for i, j, _, mask in _first_max_masks(xp, x, out, geo):
        here = (rows[:, None] + i * dh) * geo.hw[1] + (cols[None, :] + j * dw)
        positions = xp.where(mask, here, positions)
    return positions


class MaxPool(Function):
    """The maximum of each window, computed slice by slice (kh*kw elementwise maxima, no
    unfolded copy). The gradient goes to the first maximum of each window in row-major kernel
    order (a NaN counts as the maximum), as PyTorch's."""

    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, geo):
        ctx.geo = geo
        xp = x._backend.xp
        padded = _padded(xp, x._data, geo, -math.inf)
        out = None
        for _, _, window in geo.windows():
            part = padded[(slice(None), slice(None), *window)]
            out = part.copy() if out is None else xp.maximum(out, part, out=out)
        y = x._new(out)
        ctx.save_for_backward(x, y)
        return y

    def _first_max_masks(self, x, out):
        return _first_max_masks(self._backend.xp, x, out, self.geo)

    def _array_backward(self, grad):
        x, out = self.saved_arrays()
        xp = self._backend.xp
        (h, w), (pt, pb, pl, pr) = self.geo.hw, self.geo.pads
        gx = xp.zeros((*x.shape[:2], h + pt + pb, w + pl + pr), dtype=grad.dtype)
        for _, _, window, mask in self._first_max_masks(x, out):
            gx[(slice(None), slice(None), *window)] += grad * mask
        return xp.ascontiguousarray(gx[:, :, pt:pt + h, pl:pl + w]), None

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph): the gradient placed by constant masks, then folded.
        x, out = ctx.saved_arrays()
        (kh, kw), (oh, ow) = ctx.geo.kernel, ctx.geo.out
        n, c = x.shape[:2]
        masks = ctx._backend.xp.zeros((n, c, kh, kw, oh, ow), dtype=x.dtype)
        for i, j, _, mask in ctx._first_max_masks(x, out):
            masks[:, :, i, j] = mask
        placed = grad.reshape(n, c, 1, oh * ow) * grad._new(masks.reshape(n, c, kh * kw, -1))
        return Fold.apply(placed.reshape(n, c * kh * kw, -1), ctx.geo), None
