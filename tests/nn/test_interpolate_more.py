"""``interpolate(..., antialias=True)`` beyond the registry (non-finite inputs, half
precision) and uint8 images, exactly as PyTorch's CPU kernels round them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

F = gpugrad.nn.functional


@pytest.mark.parametrize("mode", ["bilinear", "bicubic", "lanczos"])
def test_antialias_non_finite_values_reach_only_their_windows(mode):
    x = np.random.default_rng(0).standard_normal((1, 1, 9, 8))
    x[0, 0, 3, 4], x[0, 0, 7, 1] = np.inf, np.nan
    got = F.interpolate(gpugrad.tensor(x), size=(3, 5), mode=mode, antialias=True).numpy()
    want = torch.nn.functional.interpolate(torch.tensor(x), size=(3, 5), mode=mode,
                                           antialias=True).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_antialias_of_half_precision_is_float32_rounded_once(dtype):
    """(PyTorch's CPU build has no half-precision antialias kernel; its CUDA build has.)"""
    x = np.random.default_rng(4).standard_normal((1, 2, 9, 8)).astype(np.float32)
    half = gpugrad.tensor(x).to(getattr(gpugrad, dtype))
    with pytest.raises(NotImplementedError, match="compute_index_ranges_weights"):
        torch.nn.functional.interpolate(torch.tensor(x).to(getattr(torch, dtype)), 3,
                                        mode="bicubic", antialias=True)
    got = F.interpolate(half, size=(4, 3), mode="bicubic", antialias=True)
    want = torch.nn.functional.interpolate(torch.tensor(half.float().numpy()), size=(4, 3),
                                           mode="bicubic", antialias=True)
    assert got.dtype.name == dtype
    np.testing.assert_array_equal(got.float().numpy(),
                                  want.to(getattr(torch, dtype)).float().numpy())


_UINT8_CASES = [
    ("bilinear", False, False, {"size": (5, 13)}),
    ("bilinear", False, True, {"size": (3, 4)}),
    ("bilinear", True, False, {"scale_factor": 0.6}),
    ("bilinear", True, True, {"size": (9, 7)}),
    ("bicubic", False, False, {"size": (5, 13)}),
    ("bicubic", False, True, {"scale_factor": (1.7, 0.3)}),
    ("bicubic", True, False, {"size": (3, 4)}),
    ("bicubic", True, True, {"size": (8, 5)}),
    ("lanczos", True, False, {"size": (5, 3)}),
]


@pytest.mark.parametrize("mode,antialias,corners,kw", _UINT8_CASES)
def test_uint8_matches_torch_exactly(mode, antialias, corners, kw):
    x = np.random.default_rng(1).integers(0, 256, (2, 3, 8, 10)).astype(np.uint8)
    corners = corners if mode != "lanczos" else None
    for view in (lambda t: t, lambda t: t[..., 1:]):  # contiguous and a strided view
        got = F.interpolate(view(gpugrad.tensor(x)), mode=mode, antialias=antialias,
                            align_corners=corners, **kw)
        want = torch.nn.functional.interpolate(view(torch.tensor(x)), mode=mode,
                                               antialias=antialias, align_corners=corners,
                                               **kw)
        assert got.dtype == gpugrad.uint8
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_uint8_is_the_same_per_channel():
    """(PyTorch's CPU kernel for more than 4 uint8 channels and an output width of 1 repeats
    one row over the height; gpugrad gives each channel what it gives it alone.)"""
    x = gpugrad.tensor(np.random.default_rng(2).integers(0, 256, (1, 6, 8, 5)).astype(np.uint8))
    whole = F.interpolate(x, size=(4, 1), mode="bilinear", antialias=True)
    for c in range(6):
        alone = F.interpolate(x[:, c:c + 1], size=(4, 1), mode="bilinear", antialias=True)
        np.testing.assert_array_equal(whole[:, c:c + 1].numpy(), alone.numpy())
        want = torch.nn.functional.interpolate(torch.tensor(x[:, c:c + 1].numpy()),
                                               size=(4, 1), mode="bilinear", antialias=True)
        np.testing.assert_array_equal(alone.numpy(), want.numpy())


def test_uint8_linear_modes_other_than_2d_are_refused_as_torch():
    for lib in (torch, gpugrad):
        with pytest.raises(NotImplementedError, match="compute_indices_weights_linear"):
            lib.nn.functional.interpolate(lib.zeros(1, 2, 8, dtype=lib.uint8), 4, mode="linear")
