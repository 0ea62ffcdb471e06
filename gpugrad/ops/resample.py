"""Resampling along one dim at a time, as ``F.interpolate`` does it.

Every mode PyTorch interpolates with is separable: an output position along a dim reads a few
input positions (taps) of that dim with weights, and a 2-D or 3-D resampling is the 1-D one
applied to each spatial dim in turn. So one dim is ``sum_k w_k * index_select(x, dim, i_k)``
with the taps ``i_k`` and weights ``w_k`` computed here on the host, the way PyTorch's CPU
kernels compute them (the same float32 or float64 arithmetic, so that the same positions are
picked). On finite inputs ``resample_dense`` applies the same taps as one (out, in) matrix
per dim, a matmul whose backward is the matmul with the transposed matrix (dense, no
scatter-add) and is differentiable again; the nearest modes gather instead (exact for every
dtype). A non-finite input takes ``resample``, a weighted ``index_select`` per tap, so that
inf and nan reach only the outputs that read them. ``area`` (adaptive average pooling) reads
a window per output position, up to the whole dim, so it is a product with a (out, in) matrix
of window means instead.

Positions (``scale`` = in / out, or 1 / scale_factor when the caller passes one):
- nearest: floor(dst * scale); nearest-exact: floor((dst + 0.5) * scale); both at most in - 1.
- linear: src = (dst + 0.5) * scale - 0.5 clamped at 0 (align_corners: dst * (in-1)/(out-1)),
  taps floor(src) and the next one, weights 1 - t and t.
- cubic: the same src unclamped, taps floor(src) - 1 .. floor(src) + 2 (clamped to the dim),
  Keys' cubic convolution weights with A = -0.75.
- antialiased linear, cubic and lanczos (``aa_taps``): output i is centred at
  ``scale * (i + 0.5)``; when downscaling (scale > 1) the filter (a triangle, Keys' cubic with
  A = -0.5 as PIL's, or Lanczos with a = 3) is stretched by ``scale``, its support (1, 2 or 3)
  with it; the taps are the input positions within the support, their weights normalized to
  sum to 1 (PIL's and PyTorch's antialiasing). A window has a varying number of taps: the
  unused ones carry index -1.

uint8 images (bilinear, bicubic and lanczos, ``resample_uint8``) are resampled as PyTorch's
CPU kernels (and PIL) do: the last dim first, then the one before, each pass with the weights
as fixed-point integers (``w * 2**p`` rounded, ``p`` the most bits that keep the largest weight
under 2**15, at most 22), the sum plus a half rounded down by ``p`` bits and clamped to
[0, 255] before the next pass.
"""

from __future__ import annotations

import numpy as np

from .. import _dtype as dt
from ..autograd.function import Function
from .indexing import index_select
from .linalg import matmul

__all__ = ["opmath_type", "nearest_taps", "linear_taps", "cubic_weights", "cubic_taps",
           "aa_taps", "area_weights", "tap_matrix", "resample", "resample_dense",
           "resample_uint8", "area_resample"]

_CUBIC_A = -0.75


def opmath_type(dtype) -> type:
    """The float type PyTorch computes positions in: double for float64, else float."""
    return np.float64 if dtype is dt.float64 else np.float32


def _scale(n_in: int, n_out: int, align_corners: bool, scale, opmath):
    if align_corners:
        return opmath(n_in - 1) / opmath(n_out - 1) if n_out > 1 else opmath(0)
    if scale is not None and scale > 0:
        return opmath(1.0 / scale)
    return opmath(n_in) / opmath(n_out)


def _floor32(values) -> np.ndarray:
    """PyTorch's ``floorf``: the value rounded to float32 first, then floored."""
    return np.floor(np.asarray(values).astype(np.float32)).astype(np.int64)


def nearest_taps(n_in: int, n_out: int, scale, exact: bool, opmath) -> list:
    """One tap per output position, weight 1 (``None``)."""
    if not exact and n_out in (n_in, 2 * n_in):  # PyTorch's shortcuts, whatever the scale
        return [(np.arange(n_out) // (n_out // n_in), None)]
    s = _scale(n_in, n_out, False, scale, opmath)
    dst = np.arange(n_out).astype(opmath)
    if exact:
        src = np.maximum(s * (dst + opmath(0.5)) - opmath(0.5), opmath(0))
        index = _floor32(src.astype(np.float64) + 0.5)
    else:
        index = _floor32(s * dst)
    return [(np.minimum(index, n_in - 1), None)]


def linear_taps(n_in: int, n_out: int, align_corners: bool, scale, opmath) -> list:
    if n_in == n_out:  # PyTorch copies (whatever scale_factor said)
        same = np.arange(n_out)
        return [(same, np.ones(n_out, opmath)), (same, np.zeros(n_out, opmath))]
    s = _scale(n_in, n_out, align_corners, scale, opmath)
    dst = np.arange(n_out).astype(opmath)
    src = s * dst if align_corners else np.maximum(s * (dst + opmath(0.5)) - opmath(0.5),
                                                   opmath(0))
    first = np.minimum(_floor32(src), n_in - 1)
    t = np.clip(src - first.astype(opmath), 0, 1).astype(opmath)
    second = first + (first < n_in - 1)
    return [(first, (opmath(1) - t).astype(opmath)), (second, t)]


def _cubic_near(x, a):  # |x| <= 1
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic_far(x, a):  # 1 < |x| < 2
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def cubic_weights(t, a=_CUBIC_A, one=1.0) -> list:
    """The weights of the four taps around a point at fraction ``t`` past the second (arrays
    or Tensors; ``a`` and ``one`` in the arithmetic's type)."""
    return [_cubic_far(t + one, a), _cubic_near(t, a), _cubic_near(one - t, a),
            _cubic_far(one - t + one, a)]


def cubic_taps(n_in: int, n_out: int, align_corners: bool, scale, opmath) -> list:
    s = _scale(n_in, n_out, align_corners, scale, opmath)
    dst = np.arange(n_out).astype(opmath)
    src = s * dst if align_corners else s * (dst + opmath(0.5)) - opmath(0.5)
    base = np.minimum(_floor32(src), n_in - 1)
    t = np.clip(src - base.astype(opmath), 0, 1).astype(opmath)
    weights = cubic_weights(t, opmath(_CUBIC_A), opmath(1))
    return [(np.clip(base - 1 + k, 0, n_in - 1), w.astype(opmath))
            for k, w in enumerate(weights)]


_AA_SUPPORT = {"linear": 1, "cubic": 2, "lanczos": 3}


def _aa_filter(x, kind: str, opmath):
    x = np.abs(x)
    if kind == "linear":
        return np.where(x < 1, opmath(1) - x, opmath(0)).astype(opmath)
    if kind == "lanczos":  # sinc(x) * sinc(x / 3), a = 3
        return np.where(x < 3, np.sinc(x) * np.sinc(x / opmath(3)), 0).astype(opmath)
    a = opmath(-0.5)
    return np.where(x < 1, _cubic_near(x, a), np.where(x < 2, _cubic_far(x, a), 0)).astype(
        opmath)


def aa_taps(n_in: int, n_out: int, align_corners: bool, scale, kind: str, opmath) -> list:
    """Antialiased taps of filter ``kind`` ("linear", "cubic" or "lanczos"): one (index,
    weight) pair per slot of the widest window, index -1 (weight 0) where a window has fewer
    taps."""
    s = _scale(n_in, n_out, align_corners, scale, opmath)
    half = opmath(_AA_SUPPORT[kind])
    support = half * s if s >= 1 else half
    invscale = opmath(1) / s if s >= 1 else opmath(1)
    width = int(np.ceil(support)) * 2 + 1
    center = (s * (np.arange(n_out) + 0.5).astype(opmath)).astype(opmath)
    start = np.maximum((center - support + opmath(0.5)).astype(np.int64), 0)
    size = np.minimum((center + support + opmath(0.5)).astype(np.int64), n_in) - start
    size = np.clip(size, 0, width)
    j = np.arange(width)
    index = start[:, None] + j
    valid = j < size[:, None]
    dist = ((index - center[:, None] + opmath(0.5)).astype(opmath) * invscale).astype(opmath)
    weight = np.where(valid, _aa_filter(dist, kind, opmath), opmath(0)).astype(opmath)
    total = weight.sum(axis=1, dtype=opmath)
    weight = np.where(total[:, None] != 0, weight / np.where(total == 0, 1, total)[:, None],
                      weight).astype(opmath)
    index = np.where(valid, index, -1)
    return [(index[:, k], weight[:, k]) for k in range(width)]


def area_weights(n_in: int, n_out: int, opmath) -> np.ndarray:
    """(n_out, n_in): row i averages input positions floor(i*in/out) .. ceil((i+1)*in/out)-1,
    PyTorch's adaptive average pooling windows."""
    i = np.arange(n_out)
    start = (i * n_in) // n_out
    stop = -((-(i + 1) * n_in) // n_out)
    pos = np.arange(n_in)
    inside = (pos >= start[:, None]) & (pos < stop[:, None])
    return (inside / (stop - start)[:, None]).astype(opmath)


def tap_matrix(taps: list, n_in: int, opmath) -> np.ndarray:
    """(n_out, n_in): the taps as a dense matrix, row i holding output i's weights (taps at
    the same position add up)."""
    n_out = len(taps[0][0])
    matrix = np.zeros((n_out, n_in), opmath)
    rows = np.arange(n_out)
    for index, weight in taps:
        used = index >= 0  # (antialiased taps mark a window's unused slots with -1)
        w = opmath(1) if weight is None else weight[used]
        np.add.at(matrix, (rows[used], index[used]), w)
    return matrix


def _along(xp, arr, dim: int, matrix):
    """``matrix`` (n_out, n_in) applied along ``dim`` of ``arr``: one matmul, the dims before
    ``dim`` as its batch and those after as its columns."""
    shape = arr.shape
    n_in = shape[dim]
    pre = int(np.prod(shape[:dim], dtype=np.int64))
    if dim == arr.ndim - 1:
        out = xp.matmul(arr.reshape(pre, n_in), matrix.T)
    else:
        post = int(np.prod(shape[dim + 1:], dtype=np.int64))
        out = xp.matmul(matrix, arr.reshape(pre, n_in, post))
    return out.reshape(*shape[:dim], matrix.shape[0], *shape[dim + 1:])


class Resample(Function):
    """``x`` resampled along ``dim`` by ``matrix`` (n_out, n_in); with ``index`` (the nearest
    modes: one tap of weight 1 per output), a gather of those positions instead, exact for
    every dtype. The op is linear, so backward is the same op with the transposed matrix (a
    dense product: no scatter), differentiable again."""

    node_name = "ResampleBackward0"

    @staticmethod
    def forward(ctx, x, dim, matrix, index):
        ctx.dim, ctx.matrix = dim, matrix
        if index is not None:
            return x._new(x._backend.xp.take(x._data, index, axis=dim))
        return x._new(_along(x._backend.xp, x._data, dim, matrix))

    @staticmethod
    def backward(ctx, grad):
        return Resample.apply_unary(grad, ctx.dim, ctx.matrix.T, None), None, None, None

    def _array_backward(self, grad):
        return _along(self._backend.xp, grad, self.dim, self.matrix.T), None, None, None


def resample_dense(x, dim: int, taps: list):
    """``resample``'s result as one product with the taps' matrix along ``dim`` (>= 0), or a
    gather for weightless (nearest) taps. A non-finite input value reaches every output of
    its row in the product (0 * inf), so callers use it on finite inputs."""
    xp = x._backend.xp
    matrix = tap_matrix(taps, x.shape[dim], opmath_type(x.dtype))
    dtype = x._data.dtype if x.dtype.is_floating_point else matrix.dtype
    index = None
    if len(taps) == 1 and taps[0][1] is None:
        index = xp.asarray(taps[0][0], dtype=np.int64)
    return Resample.apply_unary(x, dim, xp.asarray(matrix.astype(dtype)), index)


def resample(x, dim: int, taps: list):
    """``sum_k w_k * x.index_select(dim, i_k)`` (``w_k`` None: weight 1); ``dim`` >= 0. An
    index -1 is a slot the output does not read (zero, whatever the input holds)."""
    xp = x._backend.xp
    out = None
    for index, weight in taps:
        picked = index_select(x, dim, x._new(xp.asarray(np.maximum(index, 0), dtype=np.int64)))
        if weight is not None:
            shape = [1] * x.dim()
            shape[dim] = len(index)
            w = xp.asarray(weight.reshape(shape).astype(x._data.dtype))
            picked = picked * x._new(w)
            if (index < 0).any():
                unused = x._new(xp.asarray((index < 0).reshape(shape)))
                picked = picked.masked_fill(unused, 0)
        out = picked if out is None else out + picked
    return out


def _fixed_point(matrix: np.ndarray) -> tuple:
    """(integer weights, bits): ``matrix * 2**bits`` rounded half away from zero."""
    largest, bits = float(matrix.max(initial=0.0)), 0
    while bits < 22 and int(0.5 + largest * (1 << (bits + 1))) < (1 << 15):
        bits += 1
    scaled = matrix * float(1 << bits)
    return np.trunc(scaled + np.where(scaled < 0, -0.5, 0.5)).astype(np.int64), bits


def resample_uint8(x, taps_per_dim: list):
    """A uint8 ``x`` resampled along its trailing dims (``taps_per_dim`` in order, one per
    trailing dim), last dim first, in fixed point as PyTorch's uint8 kernels; not
    differentiable."""
    xp = x._backend.xp
    arr = x._data.astype(np.int64)
    first = arr.ndim - len(taps_per_dim)
    for k in reversed(range(len(taps_per_dim))):
        dim = first + k
        weights, bits = _fixed_point(tap_matrix(taps_per_dim[k], arr.shape[dim], np.float64))
        summed = _along(xp, arr, dim, xp.asarray(weights))
        arr = xp.clip((summed + (1 << bits >> 1)) >> bits, 0, 255)
    return x._new(arr.astype(np.uint8))


def area_resample(x, dim: int, n_out: int):
    """Adaptive average pooling of ``x`` along ``dim`` (>= 0) to ``n_out`` positions."""
    xp = x._backend.xp
    weights = area_weights(x.shape[dim], n_out, opmath_type(x.dtype))
    w = x._new(xp.asarray(weights.T.astype(x._data.dtype)))
    last = x.dim() - 1
    if dim == last:
        return matmul(x, w)
    return matmul(x.transpose(dim, last), w).transpose(dim, last)

