"""Sliding windows: ``unfold`` / ``fold`` and what is built on them, ``conv2d``, ``max_pool2d``,
``avg_pool2d``.

``unfold`` (im2col) copies every kernel-sized window of an (N, C, H, W) input into the columns
of an (N, C*kh*kw, L) array; ``fold`` (col2im) sums such columns back into an image. They are
each other's adjoint, so each one's backward is the other, and both are differentiable again:
convolution is ``unfold`` followed by a (batched) matmul with the weight, pooling is ``unfold``
followed by a max or mean over the kernel positions, and their gradients, double backward
included, come from those ops. Both copy with one strided slice per kernel position (kh*kw
slices), which works on NumPy and CuPy arrays alike.
"""

from __future__ import annotations

import math

from ...autograd.function import Function
from ...ops._util import Tensor, check_tensor

__all__ = ["unfold", "fold", "conv1d", "conv2d", "max_pool1d", "max_pool2d", "avg_pool1d",
           "avg_pool2d"]


def _pair(value, name: str) -> tuple:
    """An int or a pair of ints as a pair of non-negative ints."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if any(v < 0 for v in pair):
        raise RuntimeError(f"{name} must be non-negative, got {value!r}")
    return pair


def _out_size(size: int, kernel: int, dilation: int, pad_total: int, stride: int) -> int:
    return (size + pad_total - dilation * (kernel - 1) - 1) // stride + 1


class _Geometry:
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


def _unfold_array(xp, x, geo: _Geometry, fill: float):
    n, c = x.shape[:2]
    x = _padded(xp, x, geo, fill)
    (kh, kw), (oh, ow) = geo.kernel, geo.out
    cols = xp.empty((n, c, kh, kw, oh, ow), dtype=x.dtype)
    for i, j, (rows, columns) in geo.windows():
        cols[:, :, i, j] = x[:, :, rows, columns]
    return cols.reshape(n, c * kh * kw, oh * ow)


def _fold_array(xp, cols, geo: _Geometry):
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
    _array_forward = True

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
    _array_forward = True

    @staticmethod
    def forward(ctx, cols, geo):
        ctx.geo = geo
        return cols._new(_fold_array(cols._backend.xp, cols._data, geo))

    @staticmethod
    def backward(ctx, grad):
        return Unfold.apply(grad, ctx.geo, 0.0), None

    def _array_backward(self, grad):
        return _unfold_array(self._backend.xp, grad, self.geo, 0.0), None


class MaxPool(Function):
    """The maximum of each window, computed slice by slice (kh*kw elementwise maxima, no
    unfolded copy). The gradient goes to the first maximum of each window in row-major kernel
    order (a NaN counts as the maximum), as PyTorch's."""

    node_name = "MaxPool2DWithIndicesBackward0"
    _array_forward = True

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
        """For each kernel position: its slices of the padded input, and where it holds its
        window's first maximum."""
        xp = self._backend.xp
        padded = _padded(xp, x, self.geo, -math.inf)
        taken = xp.zeros(out.shape, dtype=bool)
        nan_out = out != out
        for i, j, window in self.geo.windows():
            part = padded[(slice(None), slice(None), *window)]
            mask = ((part == out) | (nan_out & (part != part))) & ~taken
            taken |= mask
            yield i, j, window, mask

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


def _padded(xp, x, geo: _Geometry, fill: float):
    pt, pb, pl, pr = geo.pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    padded = xp.full((n, c, h + pt + pb, w + pl + pr), fill, dtype=x.dtype)
    padded[:, :, pt:pt + h, pl:pl + w] = x
    return padded


def _symmetric(padding) -> tuple:
    ph, pw = padding
    return (ph, ph, pw, pw)


def _check_image(input: Tensor, fn: str) -> None:
    check_tensor(input, fn)
    if input.dim() != 4:
        raise RuntimeError(f"{fn}: expected a 4-D (N, C, H, W) input, got {input.dim()}-D")
    if not input.is_floating_point():
        raise RuntimeError(f"{fn}: expected a floating-point input, got {input.dtype}")


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Every kernel-sized window of ``input`` (N, C, H, W) as a column: (N, C*kh*kw, L), L the
    number of windows (im2col)."""
    _check_image(input, "unfold")
    geo = _Geometry(input.shape[2:], _pair(kernel_size, "kernel_size"),
                    _pair(dilation, "dilation"), _symmetric(_pair(padding, "padding")),
                    _pair(stride, "stride"))
    return Unfold.apply(input, geo, 0.0)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """Sum columns (N, C*kh*kw, L) (or unbatched (C*kh*kw, L)) back into an image of
    ``output_size`` (col2im: the adjoint of ``unfold``)."""
    check_tensor(input, "fold")
    batched = input.dim() == 3
    if input.dim() not in (2, 3):
        raise RuntimeError(f"fold: expected a 2-D or 3-D input, got {input.dim()}-D")
    cols = input if batched else input.unsqueeze(0)
    geo = _Geometry(_pair(output_size, "output_size"), _pair(kernel_size, "kernel_size"),
                    _pair(dilation, "dilation"), _symmetric(_pair(padding, "padding")),
                    _pair(stride, "stride"))
    kk = geo.kernel[0] * geo.kernel[1]
    if cols.shape[1] % kk or cols.shape[2] != geo.out[0] * geo.out[1]:
        raise RuntimeError(
            f"fold: expected input of shape (N, C * {kk}, {geo.out[0] * geo.out[1]}) for "
            f"output_size={geo.hw}, kernel_size={geo.kernel}, got {list(input.shape)}"
        )
    out = Fold.apply(cols, geo)
    return out if batched else out.squeeze(0)


def _conv_pads(padding, hw, kernel, dilation, stride) -> tuple:
    """(top, bottom, left, right) for an int/pair padding, ``'valid'`` or ``'same'`` (extra
    padding at the end when the total is odd, as PyTorch)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding != "same":
            raise ValueError(f"Invalid padding string '{padding}', should be one of "
                             "{'valid', 'same'}")
        if stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions")
        pads = []
        for k, d in zip(kernel, dilation):
            total = d * (k - 1)
            pads += [total // 2, total - total // 2]
        return tuple(pads)
    return _symmetric(_pair(padding, "padding"))


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch) of ``input`` (N, C, H, W) or (C, H, W)
    with ``weight`` (O, C/groups, kh, kw), plus ``bias`` (O,)."""
    check_tensor(input, "conv2d")
    check_tensor(weight, "conv2d", "weight")
    batched = input.dim() == 4
    if input.dim() not in (3, 4) or weight.dim() != 4:
        raise RuntimeError(
            f"conv2d: expected a 3-D or 4-D input and a 4-D weight, got input of shape "
            f"{list(input.shape)} and weight of shape {list(weight.shape)}"
        )
    x = input if batched else input.unsqueeze(0)
    out_ch, in_per_group, kh, kw = weight.shape
    if not isinstance(groups, int) or groups < 1 or out_ch % groups:
        raise RuntimeError(f"conv2d: groups must be a positive divisor of the {out_ch} output "
                           f"channels, got {groups}")
    if x.shape[1] != in_per_group * groups:
        raise RuntimeError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
            f"{list(x.shape)} to have {in_per_group * groups} channels, but got {x.shape[1]} "
            "channels instead"
        )
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        raise RuntimeError(
            f"conv2d: input, weight and bias must have one dtype, got {input.dtype}, "
            f"{weight.dtype}{'' if bias is None else ', ' + str(bias.dtype)}"
        )
    if bias is not None and tuple(bias.shape) != (out_ch,):
        raise RuntimeError(f"conv2d: expected bias of shape [{out_ch}], got {list(bias.shape)}")
    _check_image(x, "conv2d")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    geo = _Geometry(x.shape[2:], (kh, kw), dilation,
                    _conv_pads(padding, x.shape[2:], (kh, kw), dilation, stride), stride)
    n, (oh, ow) = x.shape[0], geo.out
    cols = Unfold.apply(x, geo, 0.0)  # (N, C*kh*kw, L)
    k = in_per_group * kh * kw
    w = weight.reshape(groups, out_ch // groups, k)
    out = w.matmul(cols.reshape(n, groups, k, oh * ow))  # (N, groups, O/groups, L)
    out = out.reshape(n, out_ch, oh, ow)
    if bias is not None:
        out = out + bias.reshape(1, out_ch, 1, 1)
    return out if batched else out.squeeze(0)


def _pool_geometry(input: Tensor, fn: str, kernel_size, stride, padding, dilation, ceil_mode):
    _check_image(input, fn)
    if ceil_mode:
        raise NotImplementedError(f"{fn}: ceil_mode=True is not supported")
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == [] else _pair(stride, "stride")
    padding, dilation = _pair(padding, "padding"), _pair(dilation, "dilation")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise RuntimeError(
            f"pad should be at most half of effective kernel size, but got pad={padding}, "
            f"kernel_size={kernel} and dilation={dilation}"
        )
    return _Geometry(input.shape[2:], kernel, dilation, _symmetric(padding), stride)


def _windows(input: Tensor, geo: _Geometry, fill: float) -> Tensor:
    """(N, C, kh*kw, L): each window's values along dim 2."""
    n, c = input.shape[0], input.shape[1]
    return Unfold.apply(input, geo, fill).reshape(n, c, geo.kernel[0] * geo.kernel[1], -1)


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum of each window of ``input`` (N, C, H, W); padding counts as -inf. The
    gradient goes to the first maximum of each window, as PyTorch's."""
    if return_indices:
        raise NotImplementedError("max_pool2d: return_indices=True is not supported")
    geo = _pool_geometry(input, "max_pool2d", kernel_size, stride, padding, dilation, ceil_mode)
    return MaxPool.apply(input, geo)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """The mean of each window of ``input`` (N, C, H, W): over the whole window (zeros of the
    padding included), over its unpadded part (``count_include_pad=False``), or the sum over
    ``divisor_override``."""
    geo = _pool_geometry(input, "avg_pool2d", kernel_size, stride, padding, 1, ceil_mode)
    sums = _windows(input, geo, 0.0).sum(dim=2)
    if divisor_override is not None:
        if not divisor_override:
            raise RuntimeError("divisor must be not zero")
        out = sums / divisor_override
    elif count_include_pad or not any(geo.pads):
        out = sums / (geo.kernel[0] * geo.kernel[1])
    else:
        ones = Tensor._make(input._backend.xp.ones((1, 1, *input.shape[2:]), input._data.dtype),
                            input._backend)
        out = sums / _windows(ones, geo, 0.0).sum(dim=2)
    return out.reshape(input.shape[0], input.shape[1], *geo.out)


# ------------------------------------------------------------------- 1-D: a 1 x L image
def _single(value, name: str) -> int:
    """An int, or a one-element tuple/list of one, as an int."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise TypeError(f"{name} must be an int or a 1-tuple, got {value!r}")
        value = value[0]
    return value


def _line_args(kernel_size, stride, padding, dilation):
    """1-D window arguments as the 2-D ones of a 1-row image."""
    k = _single(kernel_size, "kernel_size")
    return ((1, k), None if stride is None else (1, _single(stride, "stride")),
            (0, _single(padding, "padding")), (1, _single(dilation, "dilation")))


def _as_image(input: Tensor, fn: str) -> Tensor:
    check_tensor(input, fn)
    if input.dim() != 3:
        raise RuntimeError(f"{fn}: expected a 3-D (N, C, L) input, got {input.dim()}-D")
    return input.unsqueeze(2)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution of ``input`` (N, C, L) or (C, L) with ``weight`` (O, C/groups, k)."""
    check_tensor(input, "conv1d")
    check_tensor(weight, "conv1d", "weight")
    if weight.dim() != 3 or input.dim() not in (2, 3):
        raise RuntimeError(
            f"conv1d: expected a 2-D or 3-D input and a 3-D weight, got input of shape "
            f"{list(input.shape)} and weight of shape {list(weight.shape)}"
        )
    stride2, dilation2 = (1, _single(stride, "stride")), (1, _single(dilation, "dilation"))
    pad2 = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    out = conv2d(input.unsqueeze(-2), weight.unsqueeze(2), bias, stride2, pad2, dilation2,
                 groups)
    return out.squeeze(-2)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """The maximum of each window of ``input`` (N, C, L)."""
    kernel, stride, padding, dilation = _line_args(kernel_size, stride, padding, dilation)
    return max_pool2d(_as_image(input, "max_pool1d"), kernel, stride, padding, dilation,
                      ceil_mode, return_indices).squeeze(2)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """The mean of each window of ``input`` (N, C, L)."""
    kernel, stride, padding, _ = _line_args(kernel_size, stride, padding, 1)
    return avg_pool2d(_as_image(input, "avg_pool1d"), kernel, stride, padding, ceil_mode,
                      count_include_pad).squeeze(2)
