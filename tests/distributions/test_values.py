"""log_prob, cdf, icdf, entropy, mean, mode, variance of each distribution against torch's,
values and gradients, float64 and float32 (tests/dist_oracle.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as td
from dist_oracle import check

import gpugrad.distributions as gd

R = np.random.default_rng(1234)
DTYPES = [np.float64, np.float32]
CONT = ("log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev")


def pos(*shape, lo=0.5):
    return R.uniform(lo, 2.5, shape)


def simplex(*shape):
    p = R.uniform(0.05, 1.0, shape)
    return p / p.sum(-1, keepdims=True)


U = R.uniform(0.05, 0.95, (2, 3, 4))

CASES = {
    "Normal": (dict(loc=R.standard_normal((3, 4)), scale=pos(3, 4)),
               R.standard_normal((2, 3, 4)), CONT),
    "Normal-broadcast": (dict(loc=R.standard_normal((4,)), scale=pos(3, 1)),
                         R.standard_normal((3, 4)), CONT),
    "Normal-scalar": (dict(loc=0.5, scale=2.0), R.standard_normal((5,)), CONT),
    "Laplace": (dict(loc=R.standard_normal((3, 4)), scale=pos(3, 4)),
                R.standard_normal((2, 3, 4)), CONT),
    "Cauchy": (dict(loc=R.standard_normal((3, 4)), scale=pos(3, 4)),
               R.standard_normal((2, 3, 4)), CONT),
    "Exponential": (dict(rate=pos(3, 4)), pos(2, 3, 4, lo=0.01), CONT),
    "Uniform": (dict(low=R.uniform(-2, -1, (3, 4)), high=R.uniform(1, 2, (3, 4))),
                R.uniform(-0.9, 0.9, (2, 3, 4)),
                ("log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev")),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(CASES))
def test_continuous(case, dtype):
    name = case.split("-")[0]
    params, value, methods = CASES[case]
    check(getattr(gd, name), getattr(td, name), params, value, methods, dtype,
          icdf_value=U[..., : np.shape(value)[-1]] if np.ndim(value) else U)


DISCRETE = {
    "Categorical-probs": (gd.Categorical, td.Categorical, dict(probs=simplex(3, 5)),
                          R.integers(0, 5, (2, 3))),
    "Categorical-logits": (gd.Categorical, td.Categorical,
                           dict(logits=R.standard_normal((3, 5))), R.integers(0, 5, (2, 3))),
    "Categorical-1d": (gd.Categorical, td.Categorical, dict(logits=R.standard_normal(4)),
                       R.integers(0, 4, (6,))),
    "OneHotCategorical": (gd.OneHotCategorical, td.OneHotCategorical,
                          dict(logits=R.standard_normal((3, 5))),
                          np.eye(5)[R.integers(0, 5, (2, 3))]),
    "OneHotCategorical-probs": (gd.OneHotCategorical, td.OneHotCategorical,
                                dict(probs=simplex(3, 5)), np.eye(5)[R.integers(0, 5, (2, 3))]),
    "Bernoulli-probs": (gd.Bernoulli, td.Bernoulli, dict(probs=R.uniform(0.05, 0.95, (3, 4))),
                        R.integers(0, 2, (2, 3, 4)).astype(float)),
    "Bernoulli-logits": (gd.Bernoulli, td.Bernoulli, dict(logits=R.standard_normal((3, 4))),
                         R.integers(0, 2, (2, 3, 4)).astype(float)),
}
DISCRETE_METHODS = ("log_prob", "entropy", "mean", "mode", "variance", "probs", "logits")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(DISCRETE))
def test_discrete(case, dtype):
    g_cls, t_cls, params, value = DISCRETE[case]
    check(g_cls, t_cls, params, value, DISCRETE_METHODS, dtype, value_grad=False)


def test_bernoulli_mode_at_half():
    d = gd.Bernoulli(probs=gd.constraints.gpugrad.tensor([0.5, 0.7, 0.2]))
    np.testing.assert_array_equal(d.mode.numpy(), [np.nan, 1.0, 0.0])


def test_categorical_entropy_with_zero_probs():
    p = np.array([[0.0, 0.3, 0.7], [1.0, 0.0, 0.0]])
    check(gd.Categorical, td.Categorical, dict(probs=p), None, ("entropy",))
    assert torch.isfinite(td.Categorical(probs=torch.tensor(p)).entropy()).all()
