"""Adaptive pooling: the mean or the maximum over each of ``output_size`` windows that tile the
input, in 1-D and 2-D (a 1-D input is a one-row image).

Output position ``i`` of a dim of size ``L`` pooled to ``n`` covers ``[floor(i*L/n),
ceil((i+1)*L/n))``, PyTorch's rule. A rectangle's mean is the mean of its rows' means, so the
average is two matmuls with constant (n, L) averaging matrices (a mean over reshaped blocks when
``n`` divides ``L``, a plain mean for a 1 x 1 output). The maximum gathers each window, padded to
the longest one by repeating its last row or column (repeats come after the original, so the
first maximum, which gets the gradient, is PyTorch's), and takes ``argmax`` over it (windows
that divide the input evenly are a reshaped view, no gather); the values are a ``gather`` of the
input at those positions, so gradients (a scatter-add into the plane) and double backward come
from ``gather``.
"""

from __future__ import annotations

import numpy as np

from ...ops._util import Tensor, check_tensor

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
           "adaptive_max_pool2d", "adaptive_max_pool1d_with_indices",
           "adaptive_max_pool2d_with_indices"]


def _bounds(size: int, n: int) -> tuple:
    """The window starts and (exclusive) ends of a dim of ``size`` pooled to ``n``."""
    i = np.arange(n)
    return i * size // n, -((-(i + 1) * size) // n)


def _check(input: Tensor, fn: str, output_size, dims: int, sep: str = " ") -> tuple:
    """``input`` as a batched tensor (and whether it was), and the output size (None: the
    input's size)."""
    check_tensor(input, fn)
    if input.dim() not in (dims + 1, dims + 2):
        raise RuntimeError(f"{fn}(): Expected {dims + 1}D or {dims + 2}D tensor, but got{sep}"
                           f"{list(input.shape)}")
    for d in range(input.dim() - dims, input.dim()):
        if input.shape[d] == 0:
            raise RuntimeError(
                f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"input has sizes {list(input.shape)} with dimension {d} being empty")
    if output_size is None:
        raise TypeError("object of type 'NoneType' has no len()")
    size = tuple(output_size) if isinstance(output_size, (tuple, list)) else (
        (output_size,) * dims)
    if len(size) != dims:
        raise RuntimeError(f"{fn}(): internal error: output_size.size() must be {dims}"
                           if "max" in fn else f"{fn}: output_size must be {dims}")
    size = tuple(input.shape[-dims + i] if s is None else int(s) for i, s in enumerate(size))
    if min(size) < 0:
        raise RuntimeError(f"{fn}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{', '.join(map(str, size))}}}")
    batched = input.dim() == dims + 2
    return (input if batched else input.unsqueeze(0)), batched, size


def _averaging(x: Tensor, size: int, n: int) -> Tensor:
    """The (n, size) matrix whose row i averages window i."""
    start, end = _bounds(size, n)
    j = np.arange(size)
    inside = (j >= start[:, None]) & (j < end[:, None])
    matrix = inside / (end - start)[:, None]
    return x._new(x._backend.xp.asarray(matrix.astype(x._data.dtype)))


def _avg_pool(x: Tensor, size: tuple) -> Tensor:
    (h, w), (oh, ow) = x.shape[2:], size
    if oh == ow == 1:
        return x.mean(dim=(-2, -1), keepdim=True)
    if oh and ow and h % oh == 0 and w % ow == 0:
        n, c = x.shape[:2]
        return x.reshape(n, c, oh, h // oh, ow, w // ow).mean(dim=(3, 5))
    return _averaging(x, h, oh).matmul(x.matmul(_averaging(x, w, ow).t()))


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """The mean over each of ``output_size`` (an int or an (H, W) pair, None keeping that
    dim) windows of ``input`` (N, C, H, W) or (C, H, W)."""
    x, batched, size = _check(input, "adaptive_avg_pool2d", output_size, 2, sep=" ")
    out = _avg_pool(x, size)
    return out if batched else out.squeeze(0)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """The mean over each of ``output_size`` windows of ``input`` (N, C, L) or (C, L)."""
    x, batched, (n,) = _check_1d(input, "adaptive_avg_pool1d", output_size)
    out = _avg_pool(x.unsqueeze(-2), (1, n)).squeeze(-2)
    return out if batched else out.squeeze(0)


def _check_1d(input: Tensor, fn: str, output_size) -> tuple:
    check_tensor(input, fn)
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional "
                           f"tensor for argument #1 'self' (while checking arguments for {fn})")
    size = tuple(output_size) if isinstance(output_size, (tuple, list)) else (output_size,)
    if len(size) != 1:
        raise RuntimeError(f"{fn}() argument 'output_size' should contain one int (got "
                           f"{len(size)})")
    if not isinstance(size[0], int) or isinstance(size[0], bool):
        raise TypeError(f"{fn}(): argument 'output_size' (position 2) must be tuple of ints, "
                        f"not {type(size[0]).__name__}")
    return _check(input, fn, size, 1)


def _window_rows(size: int, n: int) -> np.ndarray:
    """(n, k): the positions of each window, padded to the longest (k) with its last one."""
    start, end = _bounds(size, n)
    k = int((end - start).max()) if n else 1
    return np.minimum(start[:, None] + np.arange(k), end[:, None] - 1)


def _max_pool(x: Tensor, size: tuple) -> tuple:
    """(values, flat indices into each (H, W) plane) of the adaptive max pooling of ``x``."""
    n, c, h, w = x.shape
    (oh, ow), xp = size, x._backend.xp
    rows, cols = _window_rows(h, oh), _window_rows(w, ow)
    kh, kw = rows.shape[1], cols.shape[1]
    windows = x.detach()  # (where the maxima are: no graph)
    if oh * kh != h or ow * kw != w:  # uneven windows: gathered; even ones are a view
        windows = windows.index_select(2, x._new(xp.asarray(rows.reshape(-1))))
        windows = windows.index_select(3, x._new(xp.asarray(cols.reshape(-1))))
    windows = windows.reshape(n, c, oh, kh, ow, kw).permute(0, 1, 2, 4, 3, 5)
    k = windows.reshape(n, c, oh, ow, kh * kw).max(dim=-1)[1]._data
    rows, cols = xp.asarray(rows), xp.asarray(cols)
    r = rows[xp.arange(oh)[:, None], k // kw]
    q = cols[xp.arange(ow)[None, :], k % kw]
    indices = x._new((r * w + q).astype(np.int64))
    values = x.reshape(n, c, h * w).gather(2, indices.reshape(n, c, oh * ow))
    return values.reshape(n, c, oh, ow), indices


def adaptive_max_pool2d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False) -> tuple:
    """``(values, indices)`` of ``adaptive_max_pool2d``: indices are flat positions in each
    (H, W) plane."""
    x, batched, size = _check(input, "adaptive_max_pool2d", output_size, 2, sep=": ")
    values, indices = _max_pool(x, size)
    return (values, indices) if batched else (values.squeeze(0), indices.squeeze(0))


def adaptive_max_pool2d(input: Tensor, output_size, return_indices: bool = False):
    """The maximum over each of ``output_size`` windows of ``input`` (N, C, H, W) or
    (C, H, W); with ``return_indices``, also where each maximum is."""
    out = adaptive_max_pool2d_with_indices(input, output_size)
    return out if return_indices else out[0]


def adaptive_max_pool1d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False) -> tuple:
    """``(values, indices)`` of ``adaptive_max_pool1d``."""
    x, batched, (n,) = _check_1d(input, "adaptive_max_pool1d", output_size)
    values, indices = _max_pool(x.unsqueeze(-2), (1, n))
    values, indices = values.squeeze(-2), indices.squeeze(-2)
    return (values, indices) if batched else (values.squeeze(0), indices.squeeze(0))


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """The maximum over each of ``output_size`` windows of ``input`` (N, C, L) or (C, L);
    with ``return_indices``, also where each maximum is."""
    out = adaptive_max_pool1d_with_indices(input, output_size)
    return out if return_indices else out[0]
