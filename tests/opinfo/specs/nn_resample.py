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
    ErrorCase((np.ones((1, 2, 4, 4)),), NotImplementedError, "antialias=True",
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
