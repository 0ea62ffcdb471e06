"""Specs of the normalizations of ``nn.functional`` beyond batch and layer norm (composites)."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def F(m):
    return m.nn.functional


def _group_norm_samples(rng):
    return [
        Sample((randn(rng, 2, 6, 4), randn(rng, 6), randn(rng, 6)), {"groups": 3}),
        Sample((randn(rng, 2, 4, 3, 2), randn(rng, 4), randn(rng, 4)), {"groups": 4, "eps": 0.1}),
        Sample((randn(rng, 3, 4), None, None), {"groups": 1}),
        Sample((randn(rng, 0, 6, 2), randn(rng, 6), randn(rng, 6)), {"groups": 2}),
    ]


def _instance_norm_samples(rng):
    return [
        Sample((randn(rng, 2, 3, 5), randn(rng, 3), randn(rng, 3))),
        Sample((randn(rng, 2, 2, 3, 2), None, None), {"eps": 0.1}),
        Sample((randn(rng, 0, 3, 4), None, None)),
    ]


def _instance_norm_eval_samples(rng):
    return [Sample((randn(rng, 2, 3, 4), randn(rng, 3), randn(rng, 3, lo=0.5, hi=2),
                    randn(rng, 3), randn(rng, 3)), grad_args=(0, 3, 4))]


def _lrn_samples(rng):
    return [Sample((randn(rng, 2, 5, 3), 3)), Sample((randn(rng, 2, 4, 3, 2), 2), {"k": 2.0}),
            Sample((randn(rng, 1, 3, 2, 2, 2), 4), {"alpha": 0.1, "beta": 0.5}),
            Sample((randn(rng, 0, 3, 2), 3))]


def _rms_samples(rng):
    return [Sample((randn(rng, 3, 5), randn(rng, 5)), {"shape": (5,)}),
            Sample((randn(rng, 2, 3, 4), randn(rng, 3, 4)), {"shape": (3, 4), "eps": 0.1}),
            Sample((randn(rng, 2, 4), None), {"shape": [4]}),
            Sample((randn(rng, 0, 4), randn(rng, 4)), {"shape": (4,)})]


def _normalize_samples(rng):
    return [Sample((randn(rng, 3, 4),)), Sample((randn(rng, 3, 4),), {"p": 1.0, "dim": 0}),
            Sample((randn(rng, 2, 3, 2),), {"p": 3.0, "dim": -1}),
            Sample((randn(rng, 0, 3),))]


register(
    OpSpec("nn.group_norm",
           lambda m, x, w, b, groups, **kw: F(m).group_norm(x, groups, w, b, **kw),
           _group_norm_samples, atol32=1e-4, errors=[
               ErrorCase((np.ones((2, 6, 4)), None, None, 4), RuntimeError,
                         "Expected number of channels in input to be divisible by num_groups"),
               ErrorCase((np.ones((2, 6, 4)), np.ones(5), None, 3), RuntimeError,
                         r"Expected weight to be a vector of size equal to the number of "
                         r"channels in input, but got weight of shape \[5\]"),
               ErrorCase((np.ones(6), None, None, 3), RuntimeError,
                         "Expected at least 2 dimensions for input tensor but received 1"),
               ErrorCase((np.ones((1, 3)), None, None, 3), ValueError,
                         "Expected more than 1 value per channel when training"),
           ]),
    OpSpec("nn.instance_norm",
           lambda m, x, w, b, **kw: F(m).instance_norm(x, weight=w, bias=b, **kw),
           _instance_norm_samples, atol32=1e-4, errors=[
               ErrorCase((np.ones((2, 3, 1)), None, None), ValueError,
                         "Expected more than 1 spatial element when training"),
               ErrorCase((np.ones((2, 3, 4)), None, None), RuntimeError,
                         "Expected running_mean and running_var to be defined",
                         {"use_input_stats": False}),
           ]),
    OpSpec("nn.instance_norm_running_stats",
           lambda m, x, mean, var, w, b: F(m).instance_norm(x, mean, var, w, b,
                                                            use_input_stats=False),
           _instance_norm_eval_samples),
    OpSpec("nn.local_response_norm",
           lambda m, x, size, **kw: F(m).local_response_norm(x, size, **kw), _lrn_samples,
           errors=[ErrorCase((np.ones((2, 3)), 2), ValueError,
                             "Expected 3D or higher dimensionality")]),
    OpSpec("nn.rms_norm", lambda m, x, w, shape, **kw: F(m).rms_norm(x, shape, w, **kw),
           _rms_samples, errors=[
               ErrorCase((np.ones((2, 6, 4)), None, (3,)), RuntimeError,
                         r"Given normalized_shape=\[3\], expected input with shape \[\*3\]"),
               ErrorCase((np.ones((2, 6, 4)), np.ones(3), (4,)), RuntimeError,
                         "Expected weight to be of same shape as normalized_shape"),
               ErrorCase((np.ones((2, 4)), None, 4), TypeError, "must be tuple of ints, not int")]),
    OpSpec("nn.normalize", lambda m, x, **kw: F(m).normalize(x, **kw), _normalize_samples,
           errors=[ErrorCase((np.ones((2, 3)),), IndexError, "Dimension out of range",
                             {"dim": 2})]),
)
