"""Specs of power-average pooling (``lp_pool1d/2d/3d``, p finite and infinite), fractional max
pooling (``fractional_max_pool2d/3d`` with the same ``_random_samples`` given to both
libraries, so the windows match), ``max_poolNd_with_indices`` and the top-level spellings
``torch.max_pool2d``, ``torch.avg_pool1d``, ``torch.adaptive_max_pool1d``..."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register
from .nn_layers import distinct


def F(m):
    return m.nn.functional


def _positive(rng, *shape):
    return randn(rng, *shape, lo=0.3, hi=2.0)


def _apart(rng, *shape):
    """Distinct absolute values (|x| is what p = inf pools), none near zero."""
    x = distinct(rng, *shape)
    return (x - x.min() + 0.2) * np.where(rng.random(shape) < 0.5, -1, 1)


def _lp2d_samples(rng):
    return [
        Sample((_positive(rng, 1, 2, 6, 5), 1.5, 2), note="fractional p, positive input"),
        Sample((randn(rng, 1, 2, 7, 6), 2, (3, 2), (2, 1)), {"ceil_mode": True},
               note="ceil_mode: partial last windows"),
        Sample((_positive(rng, 2, 5, 4), 3.0, 2), note="unbatched, odd p"),
        Sample((_apart(rng, 1, 1, 6, 6), float("inf"), 3, 2), note="p = inf"),
        Sample((randn(rng, 0, 2, 4, 4), 2, 2), note="empty batch"),
    ]


def _lp1d_samples(rng):
    return [
        Sample((randn(rng, 1, 3, 9), 2, 3, 2)),
        Sample((_positive(rng, 3, 8), 1.5, 2), {"ceil_mode": True}),
        Sample((_apart(rng, 2, 2, 7), float("-inf"), 2), note="p = -inf"),
    ]


def _lp3d_samples(rng):
    return [
        Sample((randn(rng, 1, 2, 4, 5, 4), 2, 2)),
        Sample((_positive(rng, 1, 4, 5, 3), 1.5, (2, 3, 1), 1), note="unbatched"),
    ]


def _frac2d_samples(rng):
    return [
        Sample((distinct(rng, 2, 1, 7, 9), rng.random((2, 1, 2)), 3, (3, 4)), grad_args=(0,)),
        Sample((distinct(rng, 1, 2, 6, 7), rng.random((2, 2, 2)), (2, 3), None),
               {"output_ratio": (0.5, 0.6)}, grad_args=(0,),
               note="ratio; more samples than the batch"),
        Sample((distinct(rng, 2, 5, 6), rng.random((1, 2, 2)), 2, 1), grad_args=(0,),
               note="unbatched, 1x1"),
        Sample((randn(rng, 0, 2, 6, 6), rng.random((1, 2, 2)), 2, 3), grad_args=(0,),
               note="empty batch"),
    ]


def _frac3d_samples(rng):
    return [
        Sample((distinct(rng, 2, 1, 4, 5, 5), rng.random((2, 1, 3)), 2, (2, 3, 3)), grad_args=(0,)),
        Sample((distinct(rng, 1, 4, 5, 6), rng.random((1, 1, 3)), (1, 2, 3), None),
               {"output_ratio": 0.5}, note="unbatched, one ratio", grad_args=(0,)),
    ]


def _frac(dims):
    def op(m, x, samples, kernel, size, **kw):
        return getattr(F(m), f"fractional_max_pool{dims}d")(x, kernel, size,
                                                             _random_samples=samples, **kw)
    return op


def _frac_indices(dims):
    def op(m, x, samples, kernel, size, **kw):
        return getattr(F(m), f"fractional_max_pool{dims}d_with_indices")(
            x, kernel, size, _random_samples=samples, **kw)
    return op


# (spellings of tested ops: one small sample each, no second derivatives)
def _pool_samples(rng):
    return [Sample((distinct(rng, 2, 2, 7), 3, 2))]


def _pool2d_samples(rng):
    return [Sample((distinct(rng, 2, 5, 4), (2, 3), 1), note="unbatched")]


def _pool3d_samples(rng):
    return [Sample((distinct(rng, 1, 1, 4, 3, 5), 2, 2))]


_ONES = np.ones((1, 2, 8, 8))
register(
    OpSpec("nn.lp_pool2d", lambda m, x, p, k, *a, **kw: F(m).lp_pool2d(x, p, k, *a, **kw),
           _lp2d_samples, gradcheck_atol=1e-4),
    OpSpec("nn.lp_pool1d", lambda m, x, p, k, *a, **kw: F(m).lp_pool1d(x, p, k, *a, **kw),
           _lp1d_samples, gradcheck_atol=1e-4),
    OpSpec("nn.lp_pool3d", lambda m, x, p, k, *a, **kw: F(m).lp_pool3d(x, p, k, *a, **kw),
           _lp3d_samples, gradcheck_atol=1e-4),
    OpSpec("nn.fractional_max_pool2d", _frac(2), _frac2d_samples, errors=[
        ErrorCase((_ONES, np.full((1, 2, 2), 0.5), 3, None), ValueError, "either an output"),
        ErrorCase((_ONES, np.full((1, 2, 2), 0.5), 3, 6), RuntimeError, "too large"),
        ErrorCase((_ONES, np.full((1, 2, 2), 0.5), 3, (2, 2, 2)), RuntimeError,
                  "output_size must either"),
        ErrorCase((_ONES, np.full((1, 2, 3), 0.5), 3, 2), RuntimeError, r"size\(2\) equals"),
        ErrorCase((_ONES, np.full((1, 3, 2), 0.5), 3, 2), RuntimeError, r"size\(1\) equals"),
        ErrorCase((_ONES, np.full((2, 2), 0.5), 3, 2), RuntimeError, "3 dimensions"),
        ErrorCase((_ONES[0, 0], np.full((1, 2, 2), 0.5), 3, 2), RuntimeError,
                  "Expected 3D or 4D"),
        ErrorCase((_ONES, np.full((1, 2, 2), 0.5), 3, None), ValueError, "single Int",
                  {"output_ratio": (0.5, 0.5, 0.5)}),
        ErrorCase((np.ones((1, 2, 0, 8)), np.full((1, 2, 2), 0.5), 3, 2), RuntimeError,
                  "non-zero size"),
    ]),
    OpSpec("nn.fractional_max_pool2d_with_indices", _frac_indices(2),
           lambda rng: _frac2d_samples(rng)[:2], outputs=tuple, gradgrad=False),
    OpSpec("nn.fractional_max_pool3d", _frac(3), _frac3d_samples, errors=[
        ErrorCase((np.ones((1, 2, 5, 6, 7)), np.full((1, 2, 2), 0.5), 2, 3), RuntimeError,
                  r"size\(2\) equals to 3"),
        ErrorCase((np.ones((1, 2, 5, 6, 7)), np.full((1, 2, 3), 0.5), 2, 5), RuntimeError,
                  "pool time 2 too large"),
    ]),
    OpSpec("nn.fractional_max_pool3d_with_indices", _frac_indices(3),
           lambda rng: _frac3d_samples(rng)[:1], outputs=tuple, gradgrad=False),
    OpSpec("nn.max_pool1d_with_indices",
           lambda m, x, k, s: F(m).max_pool1d_with_indices(x, k, s), _pool_samples,
           outputs=tuple, gradgrad=False),
    OpSpec("nn.max_pool2d_with_indices",
           lambda m, x, k, s: F(m).max_pool2d_with_indices(x, k, s), _pool2d_samples,
           outputs=tuple, gradgrad=False),
    OpSpec("nn.max_pool3d_with_indices",
           lambda m, x, k, s: F(m).max_pool3d_with_indices(x, k, s), _pool3d_samples,
           outputs=tuple, gradgrad=False),
    OpSpec("max_pool1d", lambda m, x, k, s: m.max_pool1d(x, k), _pool_samples, gradgrad=False),
    OpSpec("max_pool2d", lambda m, x, k, s: m.max_pool2d(x, k, s, 0, 1, True), _pool2d_samples,
           gradgrad=False),
    OpSpec("max_pool3d", lambda m, x, k, s: m.max_pool3d(x, k, s), _pool3d_samples,
           gradgrad=False),
    OpSpec("max_pool1d_with_indices", lambda m, x, k, s: m.max_pool1d_with_indices(x, k, s),
           _pool_samples, outputs=tuple, gradgrad=False),
    OpSpec("avg_pool1d", lambda m, x, k, s: m.avg_pool1d(x, k, s, 1, False, False),
           _pool_samples, gradgrad=False),
    OpSpec("adaptive_avg_pool1d", lambda m, x, k, s: m.adaptive_avg_pool1d(x, k + s),
           _pool_samples, gradgrad=False),
    OpSpec("adaptive_max_pool1d", lambda m, x, k, s: m.adaptive_max_pool1d(x, k + s),
           _pool_samples, outputs=tuple, gradgrad=False),
)


# ------------------------------------------------------ interpolate(..., antialias=True)
def _aa_samples(rng, corners=(False, True)):
    out = []
    for ac in corners:
        out += [
            Sample((randn(rng, 1, 2, 8, 7),), {"size": (3, 10), "align_corners": ac},
                   note="down in H, up in W"),
            Sample((randn(rng, 1, 1, 7, 6),), {"scale_factor": 0.45, "align_corners": ac}),
        ]
    return out + [
        Sample((randn(rng, 1, 1, 6, 4),), {"scale_factor": (0.5, 2.5),
                                           "recompute_scale_factor": True}),
        Sample((randn(rng, 0, 2, 6, 6),), {"size": 3}, note="empty batch"),
    ]


def _aa(mode):
    def op(m, x, **kw):
        return m.nn.functional.interpolate(x, mode=mode, antialias=True, **kw)
    return op


register(
    OpSpec("nn.interpolate_bilinear_antialias", _aa("bilinear"), _aa_samples),
    OpSpec("nn.interpolate_bicubic_antialias", _aa("bicubic"), _aa_samples, errors=[
        ErrorCase((np.ones((1, 2, 4, 4, 4)),), ValueError, "Anti-alias option is restricted",
                  {"size": 2}),
    ]),
    OpSpec("nn.interpolate_lanczos", _aa("lanczos"), lambda rng: _aa_samples(rng, (False,)),
           errors=[ErrorCase((np.ones((1, 2, 4, 4)),), ValueError, "does not support "
                             "align_corners", {"size": 2, "align_corners": True})]),
)
