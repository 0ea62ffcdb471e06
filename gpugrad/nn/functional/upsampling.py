"""``interpolate`` (and the deprecated ``upsample``, ``upsample_nearest``,
``upsample_bilinear``): PyTorch's argument handling and checks, then one resampling per spatial
dim (``ops/resample.py``)."""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from ... import _dtype as dt
from ...ops._util import Tensor, check_tensor
from ...ops.resample import (
    aa_taps,
    area_resample,
    cubic_taps,
    linear_taps,
    nearest_taps,
    opmath_type,
    resample,
    resample_dense,
    resample_uint8,
)

__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"]

_MODES_MESSAGE = ("nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                  "nearest-exact")
# The spatial dims each mode takes, and PyTorch's name for the CPU kernel that refuses a dtype.
_SPATIAL = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3),
            "linear": (1,), "bilinear": (2,), "trilinear": (3,), "bicubic": (2,),
            "lanczos": (2,)}
_LINEAR = {"linear": 3, "bilinear": 4, "trilinear": 5}
_AA_KIND = {"bilinear": "linear", "bicubic": "cubic", "lanczos": "lanczos"}


def _is_integer(x) -> bool:
    """An int, a NumPy integer or an integer tensor (a size computed from shapes)."""
    return isinstance(x, (numbers.Integral, np.integer)) or (
        isinstance(x, Tensor) and not x.is_floating_point() and not x.is_complex())


def _sizes_text(names: str, sizes) -> str:
    return ", ".join(f"{n}: {s}" for n, s in zip(names, sizes))


def _check_sizes(input: Tensor, out_size: list) -> None:
    """upsample's checks: positive input and output sizes, then a non-empty input unless only
    its batch is empty."""
    spatial = input.shape[2:]
    names = "DHW"[3 - len(spatial):]
    if any(n <= 0 for n in list(spatial) + list(out_size)):
        ins, outs = _sizes_text(names, spatial), _sizes_text(names, out_size)
        joint = " and output" if len(spatial) == 1 else " output"
        raise RuntimeError("Input and output sizes should be greater than 0, but got input "
                           f"({ins}){joint} ({outs})")
    if input.numel() == 0 and int(np.prod(input.shape[1:])) == 0:
        raise RuntimeError(f"Non-empty {input.dim()}D data tensor expected but got a tensor "
                           f"with sizes {list(input.shape)}")


def _check_area_sizes(input: Tensor, out_size: list) -> None:
    pool = "adaptive_avg_pool3d" if len(out_size) == 3 else "adaptive_avg_pool2d"
    shape = list(input.shape) if len(out_size) > 1 else [*input.shape[:2], 1, input.shape[2]]
    asked = out_size if len(out_size) > 1 else [1, *out_size]
    if any(n < 0 for n in asked):
        raise RuntimeError(f"{pool}: elements of output_size must be greater than or equal to 0 "
                           f"but received {{{', '.join(str(n) for n in asked)}}}")
    for d in range(2, len(shape)):
        if shape[d] == 0:
            raise RuntimeError(f"{pool}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {shape} with dimension {d} "
                               "being empty")


def _check_dtype(input: Tensor, mode: str, spatial: int) -> None:
    d = input.dtype
    if d.is_floating_point or (d is dt.uint8 and mode in ("nearest", "nearest-exact",
                                                            "bilinear", "bicubic", "lanczos")):
        return
    if mode in ("nearest", "nearest-exact"):
        kernel = ("upsample_nearest2d_channels_last" if spatial == 2
                  else "compute_indices_weights_nearest")
    elif mode == "area":
        kernel = "adaptive_avg_pool3d_cpu" if spatial == 3 else "adaptive_avg_pool2d"
    elif mode == "bilinear":
        kernel = "upsample_bilinear2d_channels_last"
    else:
        kernel = "compute_indices_weights_" + ("cubic" if mode == "bicubic" else "linear")
    raise NotImplementedError(
        f'"{kernel}" not implemented for {dt.SCALAR_TYPE_NAMES[d.name]!r}')


def _output_geometry(input: Tensor, size, scale_factor, mode: str, recompute_scale_factor):
    """(output sizes, scale factors to position with or None), as PyTorch resolves them."""
    dim = input.dim() - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scales = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but got "
                    f"input with spatial dimensions of {list(input.shape[2:])} and output size "
                    f"of {size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format "
                    "and output size in (o1, o2, ...,oK) format.")
            if not all(_is_integer(n) for n in size):
                raise TypeError(
                    "expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    f"Tuple[int, int, int], but got size with types {[type(n) for n in size]}")
            out_size = [int(n) for n in size]
        elif _is_integer(size):
            out_size = [int(size)] * dim
        else:
            raise TypeError(f"interpolate(): size must be an int or a tuple of ints, got "
                            f"{type(size).__name__}")
    elif scale_factor is not None:
        out_size = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {list(input.shape[2:])} and "
                    f"scale_factor of shape {scale_factor}. Please provide input tensor in (N, C, "
                    "d1, d2, ...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and out_size is None:
        recompute_scale_factor = True
    if out_size is None:  # the output size from the factors, as PyTorch truncates it
        out_size = [int(n * s) for n, s in zip(input.shape[2:], scales)]
        if recompute_scale_factor:
            scales = None
    return out_size, scales


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """``input`` (N, C, *spatial) resampled to ``size``, or its spatial sizes times
    ``scale_factor``. ``mode``: ``"nearest"``, ``"nearest-exact"``, ``"area"`` (1 to 3
    spatial dims), ``"linear"`` (1), ``"bilinear"``/``"bicubic"`` (2), ``"trilinear"`` (3),
    ``"lanczos"`` (2, with ``antialias=True`` only). ``align_corners=True`` maps the corner
    pixels' centres onto each other (interpolating modes only); with ``scale_factor``,
    positions use 1 / scale_factor unless ``recompute_scale_factor=True`` (then in / out).
    ``antialias=True`` (bilinear, bicubic, lanczos; 4-D inputs) low-pass filters when
    downscaling: each output averages the input positions under the filter stretched by the
    downscale factor, weights normalized (PIL's resampling). uint8 images (nearest, bilinear,
    bicubic, lanczos) are resampled in fixed point as PyTorch's CPU kernels do, rounded to
    uint8."""
    check_tensor(input, "interpolate")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    out_size, scales = _output_geometry(input, size, scale_factor, mode,
                                        recompute_scale_factor)
    if antialias:
        if not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
            raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos "
                             "modes and requires a 4-D tensor as input")
        if mode == "lanczos" and align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
    if mode == "lanczos" and input.dim() == 4 and not antialias:
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        raise ValueError("Lanczos mode requires antialias=True")
    spatial = input.dim() - 2
    if spatial not in _SPATIAL.get(mode, ()):
        if mode in _LINEAR and input.dim() in (3, 4, 5):
            raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs "
                                      f"{_LINEAR[mode]}D input")
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
            f"the modes: {_MODES_MESSAGE} (got {mode})")
    if mode == "area":
        _check_area_sizes(input, out_size)
    else:
        _check_sizes(input, out_size)
    _check_dtype(input, mode, spatial)
    if input.dtype in (dt.bfloat16, dt.float16) and mode not in ("nearest", "nearest-exact"):
        # weighted sums in float32, rounded once (PyTorch's kernels accumulate so too)
        size, scale_factor = (out_size, None) if scales is None else (None, scales)
        return interpolate(input.float(), size, scale_factor, mode,
                           align_corners if mode != "area" else None,
                           antialias=antialias).to(input.dtype)
    fixed_point = input.dtype is dt.uint8 and mode in ("bilinear", "bicubic", "lanczos")
    # (weights in double for the fixed-point uint8 kernels, as PyTorch's)
    opmath = np.float64 if fixed_point else opmath_type(input.dtype)
    # One dense product per dim, unless a non-finite value would spread along its row
    # through the zero weights (then a weighted gather per tap, as PyTorch's kernels read).
    dense = mode in ("nearest", "nearest-exact") or (
        mode != "area" and bool(input._backend.xp.isfinite(input._data).all()))
    out, uint8_taps = input, []
    for k, n_out in enumerate(out_size):
        d, n_in = k + 2, input.shape[k + 2]
        scale = None if scales is None else scales[k]
        if mode == "area":
            out = area_resample(out, d, n_out)
            continue
        if antialias:
            taps = aa_taps(n_in, n_out, align_corners, scale, _AA_KIND[mode], opmath)
        elif mode in ("nearest", "nearest-exact"):
            taps = nearest_taps(n_in, n_out, scale, mode == "nearest-exact", opmath)
        elif mode == "bicubic":
            taps = cubic_taps(n_in, n_out, align_corners, scale, opmath)
        else:
            taps = linear_taps(n_in, n_out, align_corners, scale, opmath)
        if fixed_point:
            uint8_taps.append(taps)  # (both dims at once, in fixed point, below)
            continue
        out = (resample_dense if dense else resample)(out, d, taps)
    return resample_uint8(input, uint8_taps) if uint8_taps else out


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated: ``interpolate``."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` "
                  "instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode="nearest")``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Deprecated: ``interpolate(..., mode="bilinear", align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use "
                  "`nn.functional.interpolate` instead.", stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
