"""Fractional max pooling (Graham, 2014), ``fractional_max_pool2d/3d``: the maximum over
``kernel_size`` windows whose starts advance by a random, non-integer stride.

Each (sample, channel) plane has one random number ``u`` in [0, 1) per spatial dim (PyTorch's
``_random_samples``, shape (N, C, dims); order (W, H) in 2-D, (T, H, W) in 3-D). Along a dim of
size ``L`` pooled to ``n`` with kernel ``k``, output ``i < n - 1`` starts at
``int((i + u) * a) - int(u * a)`` with ``a = (L - k) / (n - 1)``, computed in the input's
dtype as PyTorch does, and the last one at ``L - k``. The starts are computed with the array
module's arithmetic on the samples (no host read, so a captured step replays them), each
window's values taken, and PyTorch's loop over a window run over all windows at once (the
first maximum wins, or the last NaN); the values are a ``gather`` of the input at the chosen
positions, so the gradient is gather's scatter-add, double backward included.

Without ``_random_samples`` the samples are drawn with ``gpugrad.rand`` from gpugrad's default
generator: the same seed gives other windows than PyTorch's.
"""

from __future__ import annotations

import math

import numpy as np

from ...autograd import is_grad_enabled
from ...ops._util import Tensor, check_tensor
from ...ops.indexing import Gather
from ...sampling import rand

__all__ = ["fractional_max_pool2d", "fractional_max_pool3d",
           "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices"]

_SAMPLE_ORDER = {2: (1, 0), 3: (0, 1, 2)}  # the sample column of each spatial dim


def _ints(value, name: str, dims: int, fn: str) -> tuple:
    tup = tuple(value) if isinstance(value, (tuple, list)) else (value,)
    if len(tup) == 1:
        tup = tup * dims
    if len(tup) != dims or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                   for v in tup):
        raise RuntimeError(f"{fn}: {name} must either be a single Int or tuple of Ints")
    return tuple(int(v) for v in tup)


def _output_size(input: Tensor, output_size, output_ratio, dims: int, fn: str):
    if output_size is None and output_ratio is None:
        raise ValueError(f"{fn} requires specifying either an output_size or an output_ratio")
    if output_size is not None:
        return output_size
    if dims == 2:  # PyTorch takes len() of the ratio here: a bare number raises TypeError
        if not isinstance(output_ratio, (tuple, list)):
            raise TypeError(f"{fn}: output_ratio must be a tuple of floats, got "
                            f"{type(output_ratio).__name__}")
        if len(output_ratio) > 2:
            raise ValueError(f"{fn} requires output_ratio to either be a single Int or tuple "
                             "of Ints.")
    ratio = tuple(output_ratio) if isinstance(output_ratio, (tuple, list)) else (output_ratio,)
    ratio = ratio * dims if len(ratio) == 1 else ratio
    if len(ratio) != dims:
        raise IndexError(f"{fn}: output_ratio must have {dims} elements, got {len(ratio)}")
    return [int(input.shape[d - dims] * r) for d, r in enumerate(ratio)]


def _check(input: Tensor, kernel_size, output_size, samples, dims: int, fn: str):
    check_tensor(input, fn)
    if input.dim() not in (dims + 1, dims + 2):
        raise RuntimeError(f"{fn}(): Expected {dims + 1}D or {dims + 2}D tensor, but got: "
                           f"{list(input.shape)}")
    kernel = _ints(kernel_size, "kernel_size", dims, fn)
    size = _ints(output_size, "output_size", dims, fn)
    first = input.dim() - dims - 1  # the channel dim
    for d in range(first, input.dim()):
        if input.shape[d] == 0:
            raise RuntimeError(
                f"{fn}(): Expected input to have non-zero size for non-batch dimensions, but "
                f"got{list(input.shape)} with dimension {d} being empty.")
    if not input.is_floating_point():
        raise NotImplementedError(f'"{fn}" not implemented for {input.dtype}')
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"{fn}(): kernel_size must be greater than zero, got {kernel}")
    if any(n < 0 for n in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension: {list(size)}")
    names = ("time", "height", "width")[3 - dims:]
    for name, n, k, n_in in zip(names, size, kernel, input.shape[-dims:]):
        if n + k - 1 >= n_in:
            raise RuntimeError(f"{fn}(): pool {name} {k} too large relative to input {name} "
                               f"{n_in}")
    batch = input.shape[0] if input.dim() == dims + 2 else 1
    if not isinstance(samples, Tensor):
        raise TypeError(f"{fn}(): _random_samples must be a Tensor, got "
                        f"{type(samples).__name__}")
    if samples.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument "
                           "'random_samples'. This input cannot have requires_grad True.")
    if samples.dtype != input.dtype:
        raise RuntimeError("Expect _random_samples to have the same dtype as input")
    if samples.dim() != 3:
        raise RuntimeError(f"Expect _random_samples to have 3 dimensions, got {samples.dim()}")
    if samples.shape[0] < batch:
        raise RuntimeError("Expect _random_samples.size(0) no less then input batch size.")
    if samples.shape[1] != input.shape[first]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if samples.shape[2] != dims:
        raise RuntimeError(f"Expect _random_samples.size(2) equals to {dims}; got "
                           f"{samples.shape[2]}.")
    return kernel, size


def _starts(xp, u, n_in: int, n_out: int, k: int):
    """(N, C, n_out) int64 window starts along one dim from the samples ``u`` (N, C)."""
    dtype = u.dtype.type
    last = xp.full((*u.shape, 1), n_in - k, dtype=np.int64)
    if n_out <= 1:
        return last[..., :n_out]
    alpha = dtype(n_in - k) / dtype(n_out - 1)
    i = xp.arange(n_out - 1).astype(u.dtype)
    head = (xp.trunc((i + u[..., None]) * alpha).astype(np.int64)
            - xp.trunc(u * alpha).astype(np.int64)[..., None])
    return xp.concatenate([head, last], axis=-1)


def _first_max(xp, values, positions):
    """Per column of ``values`` (K, M), the position (from ``positions``, same shape) that
    PyTorch's loop over a window keeps: a value replaces the best so far when it is greater or
    NaN, so the first maximum wins, or the last NaN."""
    best, at = values[0], positions[0]
    for k in range(1, values.shape[0]):
        value = values[k]
        take = (value > best) | (value != value)
        best, at = xp.where(take, value, best), xp.where(take, positions[k], at)
    return at


def _fractional(input: Tensor, kernel_size, output_size, output_ratio, samples, dims: int):
    fn = f"fractional_max_pool{dims}d"
    output_size = _output_size(input, output_size, output_ratio, dims, fn)
    if samples is None:
        batch = 1 if input.dim() == dims + 1 else input.shape[0]
        samples = rand(batch, input.shape[-dims - 1], dims, dtype=input.dtype,
                       device=input.device)
    kernel, size = _check(input, kernel_size, output_size, samples, dims, fn)
    x = input if input.dim() == dims + 2 else input.unsqueeze(0)
    n, c, spatial = x.shape[0], x.shape[1], tuple(x.shape[2:])
    xp = x._backend.xp
    u = samples._data[:n]
    # positions in the plane (*kernel, N, C, *size): start + offset per dim, row-major, the
    # window's offsets first so that the loop over them reads contiguous rows
    flat = 0
    for d in range(dims):
        starts = _starts(xp, u[:, :, _SAMPLE_ORDER[dims][d]], spatial[d], size[d], kernel[d])
        shape = [1] * dims + [n, c] + [1] * dims
        shape[dims + 2 + d] = size[d]
        offset_shape = [1] * (2 + 2 * dims)
        offset_shape[d] = kernel[d]
        pos = starts.reshape(shape) + xp.arange(kernel[d]).reshape(offset_shape)
        flat = flat * spatial[d] + pos
    plane, taps, windows = math.prod(spatial), math.prod(kernel), math.prod(size)
    flat = xp.broadcast_to(flat, (*kernel, n, c, *size)).reshape(taps, n * c, windows)
    in_input = flat + (xp.arange(n * c) * plane).reshape(n * c, 1)  # positions in x's array
    values = xp.take(x._data.reshape(-1), in_input.reshape(taps, -1))
    at = _first_max(xp, values, flat.reshape(taps, -1))
    indices = x._new(at.astype(np.int64).reshape(n, c, windows))
    # (in range by construction: the op, without gather's check of each index on the host)
    out = Gather.apply(x.reshape(n, c, plane), 2, indices).reshape(n, c, *size)
    indices = indices.reshape(n, c, *size)
    if input.dim() == dims + 1:
        return out.squeeze(0), indices.squeeze(0)
    return out, indices


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple:
    """``(values, indices)`` of ``fractional_max_pool2d``; indices are flat positions in each
    (H, W) plane (for ``max_unpool2d``)."""
    return _fractional(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool2d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False,
                          _random_samples: Tensor | None = None):
    """The maximum over ``kernel_size`` windows of ``input`` (N, C, H, W) or (C, H, W) placed
    with pseudo-random fractional strides, to ``output_size`` (oH, oW) or to
    ``output_ratio`` (a pair in (0, 1)) times the input's size. ``_random_samples`` (N, C, 2)
    in [0, 1), the input's dtype, fixes the windows; without it they are drawn from gpugrad's
    default generator. With ``return_indices``, also each maximum's flat position."""
    out = fractional_max_pool2d_with_indices(input, kernel_size, output_size, output_ratio,
                                             return_indices, _random_samples)
    return out if return_indices else out[0]


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size, output_size=None,
                                       output_ratio=None, return_indices: bool = False,
                                       _random_samples: Tensor | None = None) -> tuple:
    """``(values, indices)`` of ``fractional_max_pool3d``; indices are flat positions in each
    (T, H, W) volume."""
    return _fractional(input, kernel_size, output_size, output_ratio, _random_samples, 3)


def fractional_max_pool3d(input: Tensor, kernel_size, output_size=None, output_ratio=None,
                          return_indices: bool = False,
                          _random_samples: Tensor | None = None):
    """``fractional_max_pool2d`` over (N, C, T, H, W) or (C, T, H, W) inputs;
    ``_random_samples`` is (N, C, 3)."""
    out = fractional_max_pool3d_with_indices(input, kernel_size, output_size, output_ratio,
                                             return_indices, _random_samples)
    return out if return_indices else out[0]
