"""MultivariateNormal (three parameterizations) and Independent against torch, values and
gradients; the private Cholesky and solve against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as td
from dist_oracle import check, check_kl

import gpugrad
import gpugrad.distributions as gd
from gpugrad.autograd import gradcheck
from gpugrad.distributions import _linalg

R = np.random.default_rng(11)


def spd(*batch, n=3):
    b = R.standard_normal((*batch, n, n))
    return b @ np.swapaxes(b, -1, -2) + n * np.eye(n)


def tril(*batch, n=3):
    low = np.tril(R.standard_normal((*batch, n, n)), -1)
    return low + np.eye(n) * R.uniform(0.5, 2.0, (*batch, 1, n))


METHODS = ("log_prob", "entropy", "mean", "mode", "variance", "covariance_matrix",
           "scale_tril", "precision_matrix")
MVN = {
    "scale_tril": dict(loc=R.standard_normal((2, 3)), scale_tril=tril(2)),
    "covariance": dict(loc=R.standard_normal((2, 3)), covariance_matrix=spd(2)),
    "precision": dict(loc=R.standard_normal((2, 3)), precision_matrix=spd(2)),
    "broadcast": dict(loc=R.standard_normal((4, 1, 3)), scale_tril=tril(2)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", sorted(MVN))
def test_mvn_matches_torch(case, dtype):
    check(gd.MultivariateNormal, td.MultivariateNormal, MVN[case],
          R.standard_normal((5, 1, 2, 3)), METHODS, dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mvn_kl_matches_torch(dtype):
    check_kl(gd.MultivariateNormal, td.MultivariateNormal,
             dict(loc=R.standard_normal((2, 3)), scale_tril=tril(2)),
             gd.MultivariateNormal, td.MultivariateNormal,
             dict(loc=R.standard_normal(3), covariance_matrix=spd()), dtype)


def test_mvn_sample_moments_and_rsample_grad():
    gpugrad.manual_seed(0)
    cov = spd()
    loc = gpugrad.tensor([1.0, -1.0, 0.5], dtype=gpugrad.float64, requires_grad=True)
    d = gd.MultivariateNormal(loc, covariance_matrix=gpugrad.tensor(cov))
    x = d.rsample((20000,))
    assert x.shape == (20000, 3)
    xs = x.detach().numpy()
    np.testing.assert_allclose(xs.mean(0), [1.0, -1.0, 0.5], atol=6 * np.sqrt(cov.max() / 20000))
    np.testing.assert_allclose(np.cov(xs.T), cov, atol=0.15)
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [20000.0] * 3)


def test_mvn_errors():
    loc = gpugrad.zeros(3, dtype=gpugrad.float64)
    with pytest.raises(ValueError, match="Exactly one"):
        gd.MultivariateNormal(loc)
    with pytest.raises(ValueError, match="Exactly one"):
        gd.MultivariateNormal(loc, gpugrad.eye(3), scale_tril=gpugrad.eye(3))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        gd.MultivariateNormal(gpugrad.tensor(0.0), gpugrad.eye(1))
    with pytest.raises(ValueError, match="PositiveDefinite"):
        gd.MultivariateNormal(loc, covariance_matrix=-gpugrad.eye(3, dtype=gpugrad.float64))
    with pytest.raises(ValueError, match="LowerCholesky"):
        gd.MultivariateNormal(loc, scale_tril=gpugrad.ones(3, 3, dtype=gpugrad.float64))
    d = gd.MultivariateNormal(loc, scale_tril=gpugrad.eye(3, dtype=gpugrad.float64))
    with pytest.raises(ValueError, match="right-most size"):
        d.log_prob(gpugrad.zeros(2, dtype=gpugrad.float64))
    e = d.expand((4, 2))
    assert e.batch_shape == (4, 2) and e.event_shape == (3,) and e.sample().shape == (4, 2, 3)
    assert e.log_prob(gpugrad.zeros(3, dtype=gpugrad.float64)).shape == (4, 2)
    other = gd.MultivariateNormal(gpugrad.zeros(2), scale_tril=gpugrad.eye(2))
    with pytest.raises(ValueError, match="different event shapes"):
        gd.kl_divergence(d, other)


INDEP = ("log_prob", "entropy", "mean", "variance")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_independent_matches_torch(dtype):
    def g_cls(loc, scale):
        return gd.Independent(gd.Normal(loc, scale), 1)

    def t_cls(loc, scale):
        return td.Independent(td.Normal(loc, scale), 1)

    params = dict(loc=R.standard_normal((2, 3)), scale=R.uniform(0.5, 2, (2, 3)))
    check(g_cls, t_cls, params, R.standard_normal((4, 2, 3)), INDEP, dtype)
    q = dict(loc=R.standard_normal((2, 3)), scale=R.uniform(0.5, 2, (2, 3)))
    check_kl(g_cls, t_cls, params, g_cls, t_cls, q, dtype)


def test_independent_shapes_and_errors():
    base = gd.Bernoulli(probs=gpugrad.full((2, 3, 4), 0.5))
    d = gd.Independent(base, 2)
    assert d.batch_shape == (2,) and d.event_shape == (3, 4)
    assert d.sample((5,)).shape == (5, 2, 3, 4) and not d.has_rsample
    assert not d.has_enumerate_support
    assert repr(d).startswith("Independent(Bernoulli(probs: ")
    with pytest.raises(NotImplementedError):
        d.enumerate_support()
    with pytest.raises(ValueError, match="reinterpreted_batch_ndims"):
        gd.Independent(base, 4)
    e = d.expand((6, 2))
    assert e.batch_shape == (6, 2) and e.sample().shape == (6, 2, 3, 4)
    with pytest.raises(NotImplementedError):
        gd.kl_divergence(gd.Independent(gd.Normal(gpugrad.zeros(2, 3), 1.0), 1),
                         gd.Independent(gd.Normal(gpugrad.zeros(2, 3), 1.0), 2))
    assert d.support.event_dim == 2


def test_private_cholesky_and_solve_gradcheck():
    a = gpugrad.tensor(spd(2), requires_grad=True)
    b = gpugrad.tensor(R.standard_normal((2, 3, 2)), requires_grad=True)
    assert gradcheck(lambda m: _linalg.cholesky(0.5 * (m + m.mT)), (a,))
    assert gradcheck(_linalg.solve, (a, b))
    np.testing.assert_allclose(_linalg.cholesky(a).detach().numpy(),
                               torch.linalg.cholesky(torch.tensor(spd(2) * 0 + a.detach().numpy()))
                               .numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="positive-definite"):
        _linalg.cholesky(gpugrad.tensor(-np.eye(2)))
