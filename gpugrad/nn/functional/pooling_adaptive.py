"""Adaptive pooling: the mean or the maximum over each of ``output_size`` windows that tile the
input, in 1-D, 2-D and 3-D (a 1-D input is a one-row image).

Output position ``i`` of a dim of size ``L`` pooled to ``n`` covers ``[floor(i*L/n),
ceil((i+1)*L/n))``, PyTorch's rule. A box's mean is the mean of its rows' means, so the average
is one matmul per spatial dim with a constant (n, L) averaging matrix (a mean over reshaped
blocks when ``n`` divides ``L``, a plain mean for a 1 x 1 output). The maximum gathers each
window, padded to the longest one by repeating its last row or column (repeats come after the
original, so the first maximum, which gets the gradient, is PyTorch's), and takes ``argmax``
over it (windows that divide the input evenly are a reshaped view, no gather); the values are a
``gather`` of the input at those positions, so gradients (a scatter-add into the plane) and
double backward come from ``gather``.
"""

from __future__ import annotations

import numpy as np

from ...ops._util import Tensor, check_tensor
from ...ops.indexing import Gather
from .pooling import check_pool_dtype

__all__ = ["adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
           "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
           "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
           "adaptive_max_pool3d_with_indices"]


def _bounds(size: int, n: int) -> tuple:
    """The window starts and (exclusive) ends of a dim of ``size`` pooled to ``n``."""
    i = np.arange(n)
    return i * size // n, -((-(i + 1) * size) // n)


def _check(input: Tensor, fn: str, output_size, dims: int, sep: str = " ") -> tuple:
    """``input`` as a batched tensor (and whether it was), and the output size (None: the
    input's size)."""
    check_tensor(input, fn)
    check_pool_dtype(input, fn)
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
    """Each spatial dim (2 or 3 of them) averaged to its output size: a mean over the whole
    input, over reshaped blocks, or a matmul with an averaging matrix per dim."""
    spatial, dims = x.shape[2:], len(size)
    if all(o == 1 for o in size):
        return x.mean(dim=tuple(range(-dims, 0)), keepdim=True)
    if all(o and n % o == 0 for n, o in zip(spatial, size)):
        blocks = [q for n, o in zip(spatial, size) for q in (o, n // o)]
        return x.reshape(*x.shape[:2], *blocks).mean(dim=tuple(range(3, 3 + 2 * dims, 2)))
    out = x.matmul(_averaging(x, spatial[-1], size[-1]).t())  # the last dim
    for d in range(dims - 1):  # the others, each moved next to last
        axis = x.dim() - dims + d
        if axis == x.dim() - 2:
            out = _averaging(x, spatial[d], size[d]).matmul(out)
        else:
            out = _averaging(x, spatial[d], size[d]).matmul(out.transpose(axis, -2))
            out = out.transpose(axis, -2)
    return out


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """The mean over each of ``output_size`` (an int or an (H, W) pair, None keeping that
    dim) windows of ``input`` (N, C, H, W) or (C, H, W)."""
    x, batched, size = _check(input, "adaptive_avg_pool2d", output_size, 2, sep=" ")
    out = _avg_pool(x, size)
    return out if batched else out.squeeze(0)


def adaptive_avg_pool3d(input: Tensor, output_size) -> Tensor:
    """The mean over each of ``output_size`` (an int or a (D, H, W) triple, None keeping that
    dim) windows of ``input`` (N, C, D, H, W) or (C, D, H, W)."""
    x, batched, size = _check(input, "adaptive_avg_pool3d", output_size, 3, sep=" ")
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
    """(values, flat indices into each spatial plane or volume) of the adaptive max pooling
    of ``x`` over its last ``len(size)`` (2 or 3) dims."""
    n, c, *spatial = x.shape
    dims, xp = len(size), x._backend.xp
    rows = [_window_rows(m, o) for m, o in zip(spatial, size)]
    kernel = [r.shape[1] for r in rows]
    windows = x.detach()  # (where the maxima are: no graph)
    if any(o * k != m for o, k, m in zip(size, kernel, spatial)):  # uneven: gathered
        for d, r in enumerate(rows):
            windows = windows.index_select(2 + d, x._new(xp.asarray(r.reshape(-1))))
    blocks = [q for o, k in zip(size, kernel) for q in (o, k)]
    order = (0, 1, *range(2, 2 + 2 * dims, 2), *range(3, 3 + 2 * dims, 2))
    windows = windows.reshape(n, c, *blocks).permute(*order)
    k = windows.reshape(n, c, *size, int(np.prod(kernel))).max(dim=-1)[1]._data
    flat = 0
    for d, (r, kd) in enumerate(zip(rows, kernel)):
        inner = int(np.prod(kernel[d + 1:]))
        shape = [1] * dims
        shape[d] = -1
        at = xp.arange(size[d]).reshape(shape)
        # (``take_along_axis``, whose dispatch sees its indices, not ``r[at, ...]``: indexing a
        # constant array with the maxima's positions hides that dependence from the capture
        # of gpugrad.compile, which would replay the first call's positions)
        pick = at * kd + (k // inner) % kd
        flat = flat * spatial[d] + xp.take_along_axis(
            xp.asarray(r.reshape(-1)), pick.reshape(-1), 0).reshape(pick.shape)
    indices = x._new(flat.astype(np.int64))
    # (in range by construction: the op, without gather's check of each index on the host)
    values = Gather.apply(x.reshape(n, c, int(np.prod(spatial))), 2,
                          indices.reshape(n, c, int(np.prod(size))))
    return values.reshape(n, c, *size), indices


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


def adaptive_max_pool3d_with_indices(input: Tensor, output_size,
                                     return_indices: bool = False) -> tuple:
    """``(values, indices)`` of ``adaptive_max_pool3d``: indices are flat positions in each
    (D, H, W) volume."""
    x, batched, size = _check(input, "adaptive_max_pool3d", output_size, 3, sep=": ")
    values, indices = _max_pool(x, size)
    return (values, indices) if batched else (values.squeeze(0), indices.squeeze(0))


def adaptive_max_pool3d(input: Tensor, output_size, return_indices: bool = False):
    """The maximum over each of ``output_size`` windows of ``input`` (N, C, D, H, W) or
    (C, D, H, W); with ``return_indices``, also where each maximum is."""
    out = adaptive_max_pool3d_with_indices(input, output_size)
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
