"""Sliding windows: ``Unfold`` (im2col) and ``Fold`` (col2im), and max pooling over the same
windows, over 1, 2 or 3 spatial dims. The convolutions and average pooling are built on them in
``nn/functional``.

``Unfold`` copies every kernel-sized window of an (N, C, *spatial) input into the columns of an
(N, C*prod(kernel), L) array; ``Fold`` sums such columns back into an image. They are each
other's adjoint, so each one's backward is the other, and both are differentiable again. Both
copy with one strided slice per kernel position (prod(kernel) slices), which works on NumPy and
CuPy arrays alike.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from ..autograd.function import Function


def _out_size(size: int, kernel: int, dilation: int, pad_total: int, stride: int) -> int:
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


def kernel_too_large(padded, reach) -> RuntimeError:
    """PyTorch's error for a kernel that reaches past the padded input (sizes per spatial dim)."""
    return RuntimeError(
        f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). Kernel "
        f"size: ({' x '.join(map(str, reach))}). Kernel size can't be greater than actual input "
        "size")


class Geometry:
    """The windows of an unfold over ``len(kernel)`` spatial dims: kernel, dilation, padding
    (before and after each dim: (top, bottom, left, right) in 2-D), stride, and the resulting
    output grid for an input of spatial size ``hw``."""

    def __init__(self, hw, kernel, dilation, pads, stride):
        if min(kernel) < 1 or min(dilation) < 1 or min(stride) < 1:
            raise RuntimeError(
                f"kernel size, dilation and stride must be positive, got kernel_size={kernel}, "
                f"dilation={dilation}, stride={stride}"
            )
        self.hw, self.kernel, self.dilation = tuple(hw), tuple(kernel), tuple(dilation)
        self.pads, self.stride = tuple(pads), tuple(stride)
        self._windows = None
        totals = [self.pads[2 * d] + self.pads[2 * d + 1] for d in range(len(self.hw))]
        self.padded = tuple(n + t for n, t in zip(self.hw, totals))
        self.out = tuple(_out_size(n, k, d, t, s) for n, k, d, t, s in
                         zip(self.hw, self.kernel, self.dilation, totals, self.stride))
        if min(self.out) < 1:
            reach = [d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation)]
            raise kernel_too_large(self.padded, reach)

    @property
    def positions(self) -> int:
        """The number of kernel positions."""
        return math.prod(self.kernel)

    def crop(self) -> tuple:
        """The index of the unpadded input in a padded (N, C, *padded) array."""
        return (slice(None), slice(None), *(slice(self.pads[2 * d], self.pads[2 * d] + n)
                                            for d, n in enumerate(self.hw)))

    def windows(self) -> list:
        """For each kernel position (row-major): its multi-index and the index of the padded
        (N, C, *spatial) array it reads (built once per geometry)."""
        if self._windows is None:
            self._windows = [(pos, (slice(None), slice(None), *(
                slice(i * d, i * d + s * (o - 1) + 1, s)
                for i, d, s, o in zip(pos, self.dilation, self.stride, self.out))))
                for pos in itertools.product(*(range(k) for k in self.kernel))]
        return self._windows


def _unfold_array(xp, x, geo: Geometry, fill: float):
    n, c = x.shape[:2]
    x = _padded(xp, x, geo, fill)
    cols = xp.empty((n, c, *geo.kernel, *geo.out), dtype=x.dtype)
    for pos, window in geo.windows():
        cols[(slice(None), slice(None), *pos)] = x[window]
    return cols.reshape(n, c * geo.positions, math.prod(geo.out))


def _fold_array(xp, cols, geo: Geometry):
    n, c = cols.shape[0], cols.shape[1] // geo.positions
    cols = cols.reshape(n, c, *geo.kernel, *geo.out)
    out = xp.zeros((n, c, *geo.padded), dtype=cols.dtype)
    for pos, window in geo.windows():
        out[window] += cols[(slice(None), slice(None), *pos)]
    return xp.ascontiguousarray(out[geo.crop()])


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
    if not any(geo.pads):
        return x
    if fill == -math.inf and x.dtype.kind in "iu":  # (a max pooling of integers)
        fill = np.iinfo(x.dtype).min
    padded = xp.full((*x.shape[:2], *geo.padded), fill, dtype=x.dtype)
    padded[geo.crop()] = x
    return padded


def _first_max_masks(xp, x, out, geo: Geometry):
    """For each kernel position: its multi-index, its index of the padded input, and where it
    holds its window's first maximum (a NaN, where the window has one)."""
    padded = _padded(xp, x, geo, -math.inf)
    nan_out = out != out
    # Usually no NaN: the NaN terms are then left out. Only NumPy's answer is free; on a GPU
    # reading it would wait for the device, so the terms stay.
    has_nan = bool(nan_out.any()) if xp is np else True
    windows = geo.windows()
    last = len(windows) - 1
    taken = None  # where an earlier position held the maximum
    for i, (pos, window) in enumerate(windows):
        part = padded[window]
        mask = part == out
        if has_nan:
            mask |= nan_out & (part != part)
        if taken is None:
            taken = mask.copy() if i < last else None
        else:
            mask &= ~taken
            if i < last:
                taken |= mask
        yield pos, window, mask


def max_positions(xp, x, out, geo: Geometry):
    """Where each window's first maximum is, as a flat index into its spatial plane (or
    volume) of ``x`` (``max_pool*d``'s ``return_indices``)."""
    dims = len(geo.hw)
    starts = [xp.arange(o) * s - geo.pads[2 * d]
              for d, (o, s) in enumerate(zip(geo.out, geo.stride))]
    positions = xp.zeros(out.shape, dtype=np.int64)
    for pos, _, mask in _first_max_masks(xp, x, out, geo):
        here = 0
        for d in range(dims):
            shape = [1] * dims
            shape[d] = -1
            here = here * geo.hw[d] + (starts[d] + pos[d] * geo.dilation[d]).reshape(shape)
        positions = xp.where(mask, here, positions)
    return positions


class MaxPool(Function):
    """The maximum of each window, computed slice by slice (one elementwise maximum per kernel
    position, no unfolded copy). The gradient goes to the first maximum of each window in
    row-major kernel order (a NaN counts as the maximum), as PyTorch's."""

    node_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, geo):
        ctx.geo = geo
        xp = x._backend.xp
        padded = _padded(xp, x._data, geo, -math.inf)
        out = None
        for _, window in geo.windows():
            part = padded[window]
            out = part.copy() if out is None else xp.maximum(out, part, out=out)
        y = x._new(out)
        ctx.save_for_backward(x, y)
        return y

    def _first_max_masks(self, x, out):
        return _first_max_masks(self._backend.xp, x, out, self.geo)

    def _array_backward(self, grad):
        x, out = self.saved_arrays()
        geo = self.geo
        xp = self._backend.xp
        gx = xp.zeros((*x.shape[:2], *geo.padded), dtype=grad.dtype)
        # Windows that share no element (stride past the dilated kernel's reach, as in
        # MaxPool2d(2)): each position's part is written once, not added into zeros.
        disjoint = all(s > (k - 1) * d for k, d, s in zip(geo.kernel, geo.dilation, geo.stride))
        for _, window, mask in self._first_max_masks(x, out):
            if disjoint:
                xp.multiply(grad, mask, out=gx[window])
            else:
                gx[window] += grad * mask
        return xp.ascontiguousarray(gx[geo.crop()]), None

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph): the gradient placed by constant masks, then folded.
        x, out = ctx.saved_arrays()
        geo = ctx.geo
        n, c = x.shape[:2]
        masks = ctx._backend.xp.zeros((n, c, *geo.kernel, *geo.out), dtype=x.dtype)
        for pos, _, mask in ctx._first_max_masks(x, out):
            masks[(slice(None), slice(None), *pos)] = mask
        length = math.prod(geo.out)
        placed = grad.reshape(n, c, 1, length) * grad._new(
            masks.reshape(n, c, geo.positions, length))
        return Fold.apply(placed.reshape(n, c * geo.positions, length), geo), None


class MaxPool3(MaxPool):
    """``MaxPool`` over three spatial dims, under PyTorch's 3-D node name."""

    node_name = "MaxPool3DWithIndicesBackward0"
