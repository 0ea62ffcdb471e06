"""Specs of ``F.interpolate`` in each mode (sizes and scale factors, up and down, corners
aligned or not, empty batches) and of the rearrangements ``pixel_shuffle``,
``pixel_unshuffle`` and ``channel_shuffle``."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _interpolate(mode):
    def op(m, x, **kw):
        return m.nn.functional.interpolate(x, mode=mode, **kw)
    return op


def _nearest_samples(rng):
    return [
        Sample((randn(rng, 2, 3, 5),), {"size": 8}),
        Sample((randn(rng, 2, 2, 4, 5),), {"scale_factor": 2}),
        Sample((randn(rng, 1, 2, 5, 7),), {"size": (3, 11)}),
        Sample((randn(rng, 1, 2, 5, 4),), {"scale_factor": (1.7, 0.6)}),
        Sample((randn(rng, 1, 2, 5, 4),), {"scale_factor": 1.3, "recompute_scale_factor": True}),
        Sample((randn(rng, 1, 2, 3, 4, 2),), {"size": (5, 2, 3)}),
        Sample((randn(rng, 0, 2, 3, 4),), {"size": (5, 6)}, note="empty batch"),
    ]


def _linear_samples(rng, spatial, corners):
    shape = (2, 3, 5, 4, 3)[: 2 + spatial]
    sizes = [(7, 3, 5)[:spatial], (3, 6, 2)[:spatial]]
    samples = [Sample((randn(rng, *shape),), {"size": s, "align_corners": a})
               for s in sizes for a in corners]
    samples += [
        Sample((randn(rng, *shape),), {"scale_factor": 2.5}),
        Sample((randn(rng, *shape),), {"scale_factor": 0.7, "recompute_scale_factor": True}),
        Sample((randn(rng, *shape),), {"scale_factor": 1.5, "align_corners": True}),
        Sample((randn(rng, 0, *shape[1:]),), {"size": sizes[0]}, note="empty batch"),
    ]
    return samples


def _area_samples(rng):
    return [
        Sample((randn(rng, 2, 3, 7),), {"size": 3}),
        Sample((randn(rng, 2, 2, 6, 5),), {"size": (4, 2)}),
        Sample((randn(rng, 1, 2, 5, 4),), {"scale_factor": 0.5}),
        Sample((randn(rng, 1, 2, 3, 4),), {"size": (7, 6)}, note="upsampling"),
        Sample((randn(rng, 1, 2, 4, 3, 5),), {"size": (2, 3, 2)}),
        Sample((randn(rng, 2, 3, 6, 5),), {"size": 1}, note="global average"),
        Sample((randn(rng, 0, 2, 4, 4),), {"size": 2}, note="empty batch"),
    ]


_INTERPOLATE_ERRORS = [
    ErrorCase((np.ones((1, 2, 4, 4)),), ValueError, "only one of size or scale_factor",
              {"size": 2, "scale_factor": 2}),
    ErrorCase((np.ones((1, 2, 4, 4)),), ValueError, "either size or scale_factor"),
    ErrorCase((np.ones((1, 2, 4, 4)),), ValueError, "same number of spatial dimensions",
              {"size": (2, 3, 4)}),
    ErrorCase((np.ones((2, 4, 4)),), ValueError, "Anti-alias option is restricted",
              {"size": 2, "antialias": True}),
    ErrorCase((np.ones((1, 2, 4, 4)),), RuntimeError, "sizes should be greater than 0",
              {"size": (0, 2)}),
]

register(
    OpSpec("nn.interpolate_nearest", _interpolate("nearest"), _nearest_samples, errors=[
        ErrorCase((np.ones((1, 2, 4, 4)),), ValueError, "align_corners option can only",
                  {"size": 2, "align_corners": True}),
    ]),
    OpSpec("nn.interpolate_nearest_exact", _interpolate("nearest-exact"), _nearest_samples),
    OpSpec("nn.interpolate_linear", _interpolate("linear"),
           lambda rng: _linear_samples(rng, 1, (False, True)), errors=[
               ErrorCase((np.ones((1, 2, 4, 4)),), NotImplementedError,
                         "Got 4D input, but linear mode needs 3D input", {"size": 2}),
           ]),
    OpSpec("nn.interpolate_bilinear", _interpolate("bilinear"),
           lambda rng: _linear_samples(rng, 2, (False, True)), errors=_INTERPOLATE_ERRORS),
    OpSpec("nn.interpolate_bicubic", _interpolate("bicubic"),
           lambda rng: _linear_samples(rng, 2, (False, True)), atol32=1e-4),
    OpSpec("nn.interpolate_trilinear", _interpolate("trilinear"),
           lambda rng: _linear_samples(rng, 3, (False, True))),
    OpSpec("nn.interpolate_area", _interpolate("area"), _area_samples),
)


# (no empty batches for the pixel shuffles: PyTorch 2.13's backward of an empty input fails;
# tests/nn/test_upsampling.py checks gpugrad's)
def _shuffle(name):
    def op(m, x, factor):
        return getattr(m.nn.functional, name)(x, factor)
    return op


register(
    OpSpec("nn.pixel_shuffle", _shuffle("pixel_shuffle"), lambda rng: [
        Sample((randn(rng, 2, 8, 3, 4), 2)),
        Sample((randn(rng, 9, 2, 3), 3), note="unbatched"),
        Sample((randn(rng, 2, 1, 4, 2, 3), 2), note="two batch dims"),
    ], errors=[
        ErrorCase((np.ones((1, 8, 2, 2)), 3), RuntimeError, "not divisible by 9"),
        ErrorCase((np.ones((1, 8, 2, 2)), 0), RuntimeError, "positive upscale_factor"),
        ErrorCase((np.ones((8, 2)), 2), RuntimeError, "at least 3 dimensions"),
    ]),
    OpSpec("nn.pixel_unshuffle", _shuffle("pixel_unshuffle"), lambda rng: [
        Sample((randn(rng, 2, 3, 4, 6), 2)),
        Sample((randn(rng, 2, 6, 3), 3), note="unbatched"),
    ], errors=[
        ErrorCase((np.ones((1, 2, 3, 4)), 2), RuntimeError, "height to be divisible"),
    ]),
    OpSpec("nn.channel_shuffle", _shuffle("channel_shuffle"), lambda rng: [
        Sample((randn(rng, 2, 6, 3, 4), 3)),
        Sample((randn(rng, 2, 6, 5), 2)),
        Sample((randn(rng, 1, 4, 2, 3, 2), 4)),
        Sample((randn(rng, 0, 4, 3), 2), note="empty batch"),
    ], errors=[
        ErrorCase((np.ones((1, 8, 2)), 3), RuntimeError, "divisible by groups"),
        ErrorCase((np.ones((1, 8)), 2), RuntimeError, "> 2 dims"),
    ]),
)


# ------------------------------------------------------------------ spatial transformers
def _grid(rng, *shape):
    """Sampling points in and around [-1, 1] (outside: the padding's part)."""
    return rng.uniform(-1.3, 1.3, size=shape)


def _grid_sample_samples(rng, mode):
    samples = []
    # (bicubic's second derivative through 16 taps per point made its gradgradcheck the suite's
    # slowest: one image of two channels there, the same padding and corner cases)
    n, c = (1, 2) if mode == "bicubic" else (2, 3)
    for padding_mode in ("zeros", "border", "reflection"):
        for align_corners in (False, True):
            samples.append(Sample((randn(rng, n, c, 4, 5), _grid(rng, n, 3, 2, 2)),
                                  {"padding_mode": padding_mode,
                                   "align_corners": align_corners}))
    samples += [
        Sample((randn(rng, 1, 2, 1, 3), _grid(rng, 1, 2, 3, 2)),
               {"padding_mode": "reflection", "align_corners": True}, note="one row"),
        Sample((randn(rng, 0, 2, 3, 3), _grid(rng, 0, 2, 2, 2)), {"align_corners": False},
               note="empty batch"),
        Sample((randn(rng, 2, 3, 4, 5), _grid(rng, 2, 0, 2, 2)), {"align_corners": False},
               note="no points"),
    ]
    if mode != "bicubic":
        samples.append(Sample((randn(rng, 1, 2, 3, 4, 3), _grid(rng, 1, 2, 2, 2, 3)),
                              {"padding_mode": "border", "align_corners": False},
                              note="volumetric"))
    return samples


def _grid_sample(mode):
    def op(m, x, grid, **kw):
        return m.nn.functional.grid_sample(x, grid, mode=mode, **kw)
    return op


register(
    OpSpec("nn.grid_sample_bilinear", _grid_sample("bilinear"),
           lambda rng: _grid_sample_samples(rng, "bilinear"), atol32=1e-4, errors=[
               ErrorCase((np.ones((2, 1, 3, 3)), np.ones((1, 2, 2, 2))), RuntimeError,
                         "same batch size", {"align_corners": False}),
               ErrorCase((np.ones((1, 1, 3, 3)), np.ones((1, 2, 2, 3))), RuntimeError,
                         "size 2 in last dimension", {"align_corners": False}),
               ErrorCase((np.ones((1, 1, 3, 3)), np.ones((1, 2, 2, 2))), ValueError,
                         "expected padding_mode", {"padding_mode": "wrap"}),
           ]),
    OpSpec("nn.grid_sample_nearest", _grid_sample("nearest"),
           lambda rng: _grid_sample_samples(rng, "nearest")),
    OpSpec("nn.grid_sample_bicubic", _grid_sample("bicubic"),
           lambda rng: _grid_sample_samples(rng, "bicubic"), atol32=1e-4, errors=[
               ErrorCase((np.ones((1, 1, 3, 3, 3)), np.ones((1, 2, 2, 2, 3))), RuntimeError,
                         "bicubic interpolation only supports 4D input",
                         {"align_corners": False}),
           ]),
    OpSpec("nn.affine_grid", lambda m, theta, size, **kw: m.nn.functional.affine_grid(
        theta, size, **kw), lambda rng: [
        Sample((randn(rng, 2, 2, 3), (2, 3, 4, 5)), {"align_corners": False}),
        Sample((randn(rng, 2, 2, 3), (2, 1, 3, 2)), {"align_corners": True}),
        Sample((randn(rng, 1, 3, 4), (1, 2, 3, 2, 4)), {"align_corners": False}),
        Sample((randn(rng, 1, 3, 4), (1, 2, 2, 3, 2)), {"align_corners": True}),
    ], errors=[
        ErrorCase((np.ones((2, 3, 3)), (2, 3, 4, 5)), ValueError, "shape Nx2x3",
                  {"align_corners": False}),
        ErrorCase((np.ones((2, 2, 3)), (2, 3, 4)), NotImplementedError, "4D and 5D sizes",
                  {"align_corners": False}),
    ]),
)
