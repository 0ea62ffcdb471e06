"""``affine_grid`` and ``grid_sample``: the sampling grids of spatial transformer networks.

Both are composites of differentiable ops, so that gradients reach the input, the grid and the
affine matrices. ``affine_grid`` is the base grid of normalized coordinates times theta.
``grid_sample`` turns each grid point into pixel coordinates (unnormalized, then clipped or
reflected by ``padding_mode``, with PyTorch's formulas), and reads the input at the corners
around it (``bilinear``/``trilinear``: 2 or 3 dims of two corners; ``nearest``: the one corner at
the rounded coordinates, whose weight is 1 and whose gradient for the grid is 0, as PyTorch's;
``bicubic``: 4 x 4 corners, each clipped or reflected itself) with a ``gather`` of the flattened
input, weights that are differentiable functions of the coordinates, and zero for corners
outside the input.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

from ... import _dtype as dt
from ...ops._util import Tensor, check_tensor
from ...ops.indexing import gather
from ...ops.linalg import matmul
from ...ops.resample import cubic_weights
from ...ops.select import clamp, where

__all__ = ["affine_grid", "grid_sample", "GRID_SAMPLE_INTERPOLATION_MODES",
           "GRID_SAMPLE_PADDING_MODES"]

# ``grid_sample``'s mode names with the enum values PyTorch gives them (code reads both)
GRID_SAMPLE_INTERPOLATION_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
GRID_SAMPLE_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}

_ALIGN_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details.")


def _steps(n: int, align_corners: bool, np_dtype) -> np.ndarray:
    """PyTorch's base grid along one dim: -1 .. 1 in n steps, pulled in to the pixel centres
    unless the corners are aligned; a single step is 0."""
    if n <= 1:
        return np.zeros(n, np_dtype)
    r = np.linspace(-1, 1, n)
    return (r if align_corners else r * (n - 1) / n).astype(np_dtype)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid (N, H, W, 2) (or (N, D, H, W, 3)) of the affine maps ``theta``
    (N, 2, 3) (or (N, 3, 4)) for an output of ``size`` (N, C, H, W) (or (N, C, D, H, W)): each
    output pixel's normalized coordinates (x, y[, z], 1) times theta transposed."""
    check_tensor(theta, "affine_grid", "theta")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not theta.dtype.is_floating_point:
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(size)
    rows = {4: 2, 5: 3}.get(len(size))
    if rows is None:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    if theta.dim() != 3 or tuple(theta.shape[-2:]) != (rows, rows + 1):
        raise ValueError(f"Expected a batch of {rows}D affine matrices of shape Nx{rows}x"
                         f"{rows + 1} for size {size}. Got {theta.shape}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    n = size[0]
    if theta.shape[0] != n:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{n}, {rows + 1}] but got: [{theta.shape[0]}, {rows + 1}].")
    np_dtype = theta._data.dtype
    # (x, y[, z], 1) per output pixel, x varying along the last dim
    axes = [_steps(s, align_corners, np_dtype) for s in reversed(spatial)]
    mesh = np.meshgrid(*reversed(axes), indexing="ij")[::-1]
    base = np.stack([*mesh, np.ones(spatial, np_dtype)], axis=-1).reshape(1, -1, rows + 1)
    base = theta._new(theta._backend.xp.asarray(base))
    grid = matmul(base, theta.transpose(1, 2))  # (N, pixels, rows)
    return grid.reshape(n, *spatial, rows)


# ------------------------------------------------------------------------- grid_sample
def _unnormalize(coord: Tensor, size: int, align_corners: bool) -> Tensor:
    """-1 .. 1 to pixels: the corner pixels' centres (``align_corners``) or outer edges."""
    if align_corners:
        return (coord + 1) * ((size - 1) / 2)
    return ((coord + 1) * size - 1) / 2


def _reflect(coord: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """``coord`` folded back into [low, high] as a mirror folds it (PyTorch's
    reflect_coordinates)."""
    if twice_low == twice_high:
        return coord * 0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    shifted = coord - low
    dist = where(shifted.detach() < 0, -shifted, shifted)  # (|.| whose slope at 0 is +1)
    flips = (dist / span).floor()
    extra = dist - flips * span
    even = (flips.detach() % 2) == 0
    return where(even, extra + low, span - extra + low)


def _clip(coord: Tensor, size: int) -> Tensor:
    """``coord`` clamped to [0, size - 1], with PyTorch's gradient: 1 strictly inside, else 0
    (a point on the edge stays there)."""
    inside = (coord.detach() > 0) & (coord.detach() < size - 1)
    return where(inside, coord, clamp(coord.detach(), 0, size - 1))


def _pad_coordinate(coord: Tensor, size: int, padding_mode: str, align_corners: bool):
    if padding_mode == "border":
        return _clip(coord, size)
    if padding_mode == "reflection":  # (then clipped: the edges get the clip's slope 0)
        if align_corners:
            return _clip(_reflect(coord, 0, 2 * (size - 1)), size)
        return _clip(_reflect(coord, -1, 2 * size - 1), size)
    return coord


def _pad_index(index: np.ndarray, size: int, padding_mode: str, align_corners: bool, xp):
    """An integer tap of bicubic sampling moved as ``padding_mode`` moves coordinates."""
    if padding_mode == "border":
        return xp.clip(index, 0, size - 1)
    if padding_mode == "reflection":
        if align_corners:
            low, span = 0.0, float(size - 1)
        else:
            low, span = -0.5, float(size)
        if span == 0:
            return xp.zeros_like(index)
        dist = xp.abs(index - low)
        flips = xp.floor(dist / span)
        extra = dist - flips * span
        out = xp.where(flips % 2 == 0, extra + low, span - extra + low)
        return xp.clip(out, 0, size - 1).astype(np.int64)
    return index


def _read(flat: Tensor, corner: list, spatial: tuple, weight: Tensor, xp) -> Tensor:
    """``weight`` times the input at integer coordinates ``corner`` (arrays, last dim first
    as the grid lists them), zero where they fall outside."""
    n, c = flat.shape[0], flat.shape[1]
    valid = None
    linear = 0
    for k, index in enumerate(corner):
        size = spatial[len(spatial) - 1 - k]
        inside = (index >= 0) & (index < size)
        valid = inside if valid is None else valid & inside
        stride = int(np.prod(spatial[len(spatial) - k:], dtype=np.int64))
        linear = linear + xp.clip(index, 0, size - 1) * stride
    points = valid.shape[1:]
    count = int(np.prod(points))
    taken = xp.broadcast_to(linear.reshape(n, 1, count), (n, c, count))
    values = gather(flat, 2, flat._new(xp.ascontiguousarray(taken, dtype=np.int64)))
    mask = weight._new(valid.astype(weight._data.dtype))
    return values.reshape(n, c, *points) * (weight * mask).unsqueeze(1)


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """``input`` (N, C, H, W) read at the points of ``grid`` (N, Ho, Wo, 2), in normalized
    coordinates (x, y) from -1 (left, top) to 1 (right, bottom); (N, C, D, H, W) inputs take
    (N, Do, Ho, Wo, 3) grids. ``mode``: ``"bilinear"`` (trilinear in 3-D), ``"nearest"`` or
    ``"bicubic"`` (2-D); ``padding_mode``: what points outside read: ``"zeros"``,
    ``"border"`` (the nearest edge) or ``"reflection"``. Returns (N, C, Ho, Wo)."""
    check_tensor(input, "grid_sample")
    check_tensor(grid, "grid_sample", "grid")
    if mode not in GRID_SAMPLE_INTERPOLATION_MODES:
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in GRID_SAMPLE_PADDING_MODES:
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    _check_grid(input, grid, mode)
    if input.dtype in (dt.bfloat16, dt.float16):  # positions and sums in float32
        return grid_sample(input.float(), grid.float(), mode, padding_mode,
                           align_corners).to(input.dtype)
    xp = input._backend.xp
    spatial = tuple(input.shape[2:])
    n, c = input.shape[0], input.shape[1]
    flat = input.reshape(n, c, int(np.prod(spatial)))
    coords = []  # x, y[, z]: pixel coordinates, last input dim first
    for k in range(len(spatial)):
        size = spatial[len(spatial) - 1 - k]
        coord = _unnormalize(grid[..., k], size, align_corners)
        if mode != "bicubic":
            coord = _pad_coordinate(coord, size, padding_mode, align_corners)
        coords.append(coord)
    if mode == "nearest":  # the rounded point, weight 1 (a zero gradient for the grid)
        rounded = [coord.round() for coord in coords]
        weight = None
        for r in rounded:
            w = 1 - (r - r.floor())
            weight = w if weight is None else weight * w
        corner = [xp.asarray(r._data).astype(np.int64) for r in rounded]
        return _read(flat, corner, spatial, weight, xp)
    floors = [coord.floor() for coord in coords]
    base = [xp.asarray(f._data).astype(np.int64) for f in floors]
    fractions = [coord - f for coord, f in zip(coords, floors)]
    if mode == "bicubic":
        out = None
        taps = [cubic_weights(t) for t in fractions]
        for oy, ox in itertools.product(range(4), repeat=2):
            offs = (ox, oy)
            corner = [_pad_index(b - 1 + o, spatial[len(spatial) - 1 - k], padding_mode,
                                 align_corners, xp) for k, (b, o) in enumerate(zip(base, offs))]
            weight = taps[0][offs[0]] * taps[1][offs[1]]
            part = _read(flat, corner, spatial, weight, xp)
            out = part if out is None else out + part
        return out
    out = None
    for offs_last_first in itertools.product((0, 1), repeat=len(spatial)):
        offs = offs_last_first[::-1]  # PyTorch's order of the corners: x varies fastest
        weight = None
        for t, o in zip(fractions, offs):
            w = t if o else 1 - t
            weight = w if weight is None else weight * w
        part = _read(flat, [b + o for b, o in zip(base, offs)], spatial, weight, xp)
        out = part if out is None else out + part
    return out


def _check_grid(input: Tensor, grid: Tensor, mode: str) -> None:
    shapes = (f"input with sizes {list(input.shape)} and grid with sizes "
              f"{list(grid.shape)}")
    if input.dim() and grid.dim() and input.shape[0] != grid.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, "
                           f"but got {shapes}")
    if input.dim() not in (4, 5) or grid.dim() != input.dim():
        raise RuntimeError("grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got {shapes}")
    spatial = input.dim() - 2
    if grid.shape[-1] != spatial:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {spatial} in last "
                           f"dimension, but got grid with sizes {list(grid.shape)}")
    for d in range(2, input.dim()):
        if input.shape[d] == 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {d} being empty")
    if mode == "bicubic" and spatial != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if not input.dtype.is_floating_point:
        kernel = f"grid_sampler_{spatial}d_cpu_kernel_impl" if spatial == 2 else \
            "grid_sampler_3d_cpu"
        raise NotImplementedError(
            f'"{kernel}" not implemented for {dt.SCALAR_TYPE_NAMES[input.dtype.name]!r}')
    if grid.dtype is not input.dtype:
        raise RuntimeError(f"expected scalar type {dt.SCALAR_TYPE_NAMES[input.dtype.name]} but "
                           f"found {dt.SCALAR_TYPE_NAMES[grid.dtype.name]}")
