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
    "Gamma": (dict(concentration=pos(3, 4, lo=0.3), rate=pos(3, 4)), pos(2, 3, 4, lo=0.01),
              ("log_prob", "entropy", "mean", "mode", "variance", "stddev")),
    "Gamma-cdf": (dict(concentration=2.5, rate=pos(3, 4)), pos(2, 3, 4, lo=0.01), ("cdf",)),
    "Chi2": (dict(df=pos(3, 4, lo=0.3)), pos(2, 3, 4, lo=0.01),
             ("log_prob", "entropy", "mean", "mode", "variance", "df")),
    "Beta": (dict(concentration1=pos(3, 4, lo=0.3), concentration0=pos(3, 4, lo=0.3)),
             R.uniform(0.01, 0.99, (2, 3, 4)),
             ("log_prob", "entropy", "mean", "mode", "variance", "concentration1",
              "concentration0")),
    "Beta-scalar": (dict(concentration1=0.7, concentration0=2.0), R.uniform(0.01, 0.99, 5),
                    ("log_prob", "entropy", "mean", "mode", "variance")),
    "Dirichlet": (dict(concentration=pos(3, 4, lo=0.3)), simplex(2, 3, 4),
                  ("log_prob", "entropy", "mean", "mode", "variance")),
    "Dirichlet-small": (dict(concentration=R.uniform(0.2, 0.9, (3, 4))), simplex(3, 4),
                        ("log_prob", "entropy", "mode")),
    "StudentT": (dict(df=np.array([0.8, 1.5, 3.0, 7.0]), loc=R.standard_normal((3, 4)),
                      scale=pos(3, 4)), R.standard_normal((2, 3, 4)),
                 ("log_prob", "entropy", "mean", "mode", "variance")),
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
    "Poisson": (gd.Poisson, td.Poisson, dict(rate=pos(3, 4, lo=0.1)),
                R.integers(0, 6, (2, 3, 4)).astype(float)),
    "Binomial-probs": (gd.Binomial, td.Binomial,
                       dict(total_count=np.array([3.0, 5.0, 10.0, 4.0]),
                            probs=R.uniform(0.05, 0.95, (3, 4))),
                       R.integers(0, 4, (2, 3, 4)).astype(float)),
    "Binomial-logits": (gd.Binomial, td.Binomial,
                        dict(total_count=10, logits=R.standard_normal((3, 4))),
                        R.integers(0, 11, (2, 3, 4)).astype(float)),
    "Geometric-probs": (gd.Geometric, td.Geometric, dict(probs=R.uniform(0.05, 0.95, (3, 4))),
                        R.integers(0, 6, (2, 3, 4)).astype(float)),
    "Geometric-logits": (gd.Geometric, td.Geometric, dict(logits=R.standard_normal((3, 4))),
                         R.integers(0, 6, (2, 3, 4)).astype(float)),
}
DISCRETE_METHODS = ("log_prob", "entropy", "mean", "mode", "variance", "probs", "logits")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", sorted(DISCRETE))
def test_discrete(case, dtype):
    g_cls, t_cls, params, value = DISCRETE[case]
    methods = [m for m in DISCRETE_METHODS if hasattr(t_cls, m)]
    if g_cls is gd.Poisson:
        methods = [m for m in methods if m not in ("entropy", "probs", "logits")]
    if case == "Binomial-probs":
        methods.remove("entropy")  # torch refuses an inhomogeneous total_count, as we do
    check(g_cls, t_cls, params, value, methods, dtype, value_grad=False)


def test_bernoulli_mode_at_half():
    d = gd.Bernoulli(probs=gd.constraints.gpugrad.tensor([0.5, 0.7, 0.2]))
    np.testing.assert_array_equal(d.mode.numpy(), [np.nan, 1.0, 0.0])


def test_categorical_entropy_with_zero_probs():
    p = np.array([[0.0, 0.3, 0.7], [1.0, 0.0, 0.0]])
    check(gd.Categorical, td.Categorical, dict(probs=p), None, ("entropy",))
    assert torch.isfinite(td.Categorical(probs=torch.tensor(p)).entropy()).all()
