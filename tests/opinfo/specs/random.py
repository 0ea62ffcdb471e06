"""Specs of the sampling ops ``normal`` and ``bernoulli``, at the parameters where a draw is
certain (``std = 0``; probabilities 0 and 1), so values compare with PyTorch. Their gradients
are zero by definition (checked against PyTorch in tests/ops/test_random.py), which finite
differences of a certain draw would not see: the specs are not differentiable."""

from __future__ import annotations

import numpy as np

from ..core import ErrorCase, OpSpec, Sample, randn, register


def _normal_samples(rng):
    return [
        Sample((randn(rng, 3, 4), 0.0)),
        Sample((randn(rng, 3, 1), np.zeros(4))),
        Sample((randn(rng), np.zeros((2, 3)))),
        Sample((randn(rng, 0, 3), 0.0)),
    ]


def _bernoulli_samples(rng):
    return [
        Sample((rng.integers(0, 2, (3, 4)).astype(np.float64),)),
        Sample((np.zeros((2, 0)),)),
        Sample((np.ones(()),)),
    ]


register(
    OpSpec("normal", lambda m, mean, std: m.normal(mean, std), _normal_samples,
           differentiable=False, errors=[
               ErrorCase((np.zeros(2), -1.0), RuntimeError, "normal expects std >= 0.0"),
               ErrorCase((np.zeros(2), np.ones(3)), RuntimeError, "must match the size"),
           ]),
    OpSpec("normal_float_mean", lambda m, std: m.normal(1.5, std),
           lambda rng: [Sample((np.zeros((2, 3)),))], differentiable=False),
    OpSpec("bernoulli", lambda m, p: m.bernoulli(p), _bernoulli_samples, differentiable=False,
           errors=[ErrorCase((np.array([1.5]),), RuntimeError, "Expected p_in >= 0")]),
    OpSpec("bernoulli_method", lambda m, p: p.bernoulli(), _bernoulli_samples,
           differentiable=False),
)
