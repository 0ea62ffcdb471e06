"""Draws: shapes, dtypes, statistics of many draws against the analytic moments (fixed seed,
so these cannot flake), and reparameterized gradients against finite differences of draws made
from the same seed."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad
import gpugrad.distributions as gd

N = 20000


def _t(x, dtype=gpugrad.float64):
    return gpugrad.tensor(np.asarray(x, dtype=np.float64), dtype=dtype)


STATS = {
    "Normal": lambda: gd.Normal(_t([0.5, -1.0]), _t([1.0, 2.0])),
    "Laplace": lambda: gd.Laplace(_t([0.5, -1.0]), _t([1.0, 0.3])),
    "Exponential": lambda: gd.Exponential(_t([0.5, 3.0])),
    "Uniform": lambda: gd.Uniform(_t([0.0, -2.0]), _t([1.0, 5.0])),
    "Bernoulli": lambda: gd.Bernoulli(_t([0.1, 0.6])),
    "OneHotCategorical": lambda: gd.OneHotCategorical(_t([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])),
    "Gamma": lambda: gd.Gamma(_t([0.3, 2.0, 50.0]), _t([1.0, 0.5, 4.0])),
    "Chi2": lambda: gd.Chi2(_t([1.0, 5.0])),
    "Beta": lambda: gd.Beta(_t([0.5, 2.0]), _t([0.5, 5.0])),
    "Dirichlet": lambda: gd.Dirichlet(_t([[0.3, 1.0, 4.0], [2.0, 2.0, 2.0]])),
    "StudentT": lambda: gd.StudentT(_t([5.0, 9.0]), _t([0.0, 1.0]), _t([1.0, 2.0])),
    "Poisson": lambda: gd.Poisson(_t([0.5, 4.0, 200.0])),
    "Binomial": lambda: gd.Binomial(_t([1.0, 10.0, 100.0]), _t([0.3, 0.5, 0.9])),
    "Geometric": lambda: gd.Geometric(_t([0.2, 0.9])),
    "HalfNormal": lambda: gd.HalfNormal(_t([0.5, 2.0])),
    "Gumbel": lambda: gd.Gumbel(_t([0.0, 1.0]), _t([1.0, 0.5])),
    "Weibull": lambda: gd.Weibull(_t([1.0, 2.0]), _t([0.8, 3.0])),
    "Pareto": lambda: gd.Pareto(_t([1.0, 0.5]), _t([5.0, 9.0])),
    "NegativeBinomial": lambda: gd.NegativeBinomial(_t([3.0, 10.0]), _t([0.3, 0.6])),
    "Multinomial": lambda: gd.Multinomial(7, _t([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])),
    "LogNormal": lambda: gd.LogNormal(_t([0.0, 1.0]), _t([0.3, 0.2])),
    "MixtureSameFamily": lambda: gd.MixtureSameFamily(
        gd.Categorical(_t([0.3, 0.7])), gd.Normal(_t([-2.0, 1.0]), _t([0.5, 1.0]))),
    "GeneralizedPareto": lambda: gd.GeneralizedPareto(_t([0.0, 1.0, 0.5]), _t([1.0, 2.0, 0.5]),
                                                      _t([0.1, 0.0, -0.5])),
    "InverseGamma": lambda: gd.InverseGamma(_t([5.0, 9.0]), _t([1.0, 3.0])),
    "FisherSnedecor": lambda: gd.FisherSnedecor(_t([4.0, 10.0]), _t([12.0, 20.0])),
    "Kumaraswamy": lambda: gd.Kumaraswamy(_t([0.5, 2.0]), _t([0.7, 3.0])),
    "LowRankMultivariateNormal": lambda: gd.LowRankMultivariateNormal(
        _t([1.0, -1.0, 0.0]), _t([[1.0], [0.5], [-1.0]]), _t([0.5, 1.0, 2.0])),
    "MultivariateNormal-diag": lambda: gd.Independent(gd.Normal(_t([1.0, 2.0]), 3.0), 1),
}


@pytest.mark.parametrize("name", sorted(STATS))
def test_sample_moments(name):
    gpugrad.manual_seed(0)
    d = STATS[name]()
    x = d.sample((N,))
    assert tuple(x.shape) == (N, *d.batch_shape, *d.event_shape)
    x = x.numpy()
    mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
    # 6 standard errors of the mean and of the variance (with the sample's 4th moment)
    np.testing.assert_array_less(np.abs(x.mean(0) - mean), 6 * np.sqrt(var / N) + 1e-12)
    m4 = ((x - mean) ** 4).mean(0)
    np.testing.assert_array_less(np.abs(x.var(0) - var), 6 * np.sqrt((m4 - var**2) / N) + 10 / N)


def test_categorical_sample_frequencies():
    gpugrad.manual_seed(0)
    p = np.array([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])
    x = gd.Categorical(_t(p)).sample((N,)).numpy()
    assert x.shape == (N, 2) and x.dtype == np.int64
    freq = np.stack([(x == k).mean(0) for k in range(3)], -1)
    np.testing.assert_array_less(np.abs(freq - p), 6 * np.sqrt(p * (1 - p) / N))


def test_cauchy_sample_quartiles():
    gpugrad.manual_seed(0)
    x = gd.Cauchy(_t(1.0), _t(2.0)).sample((N,)).numpy()
    q1, q2, q3 = np.quantile(x, [0.25, 0.5, 0.75])
    assert abs(q2 - 1.0) < 0.1 and abs(q1 - (-1.0)) < 0.15 and abs(q3 - 3.0) < 0.15


def test_sample_is_seeded_and_detached():
    loc = _t([0.0, 1.0]).requires_grad_()
    gpugrad.manual_seed(3)
    a = gd.Normal(loc, 1.0).sample((4,))
    gpugrad.manual_seed(3)
    b = gd.Normal(loc, 1.0).sample((4,))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not a.requires_grad
    assert gd.Normal(loc, 1.0).rsample((4,)).requires_grad


def test_sample_dtype_follows_parameters():
    d = gd.Normal(_t([0.0], gpugrad.float32), 1.0)
    assert d.sample((3,)).dtype == gpugrad.float32
    assert gd.Bernoulli(_t([0.3], gpugrad.float32)).sample().dtype == gpugrad.float32


RSAMPLE = {
    "Normal": (gd.Normal, [np.array([0.5, -1.0]), np.array([1.0, 2.0])]),
    "Laplace": (gd.Laplace, [np.array([0.5, -1.0]), np.array([1.0, 0.3])]),
    "Cauchy": (gd.Cauchy, [np.array([0.5, -1.0]), np.array([1.0, 0.3])]),
    "Exponential": (gd.Exponential, [np.array([0.5, 3.0])]),
    "Uniform": (gd.Uniform, [np.array([0.0, -2.0]), np.array([1.0, 5.0])]),
}


def rsample_fd_check(cls, params, n=7, seed=5, eps=1e-6):
    """The gradient of sum(w * rsample) with respect to each parameter against central finite
    differences of draws made from the same seed."""
    w = np.random.default_rng(0).standard_normal((n, *np.broadcast_shapes(
        *(np.shape(p) for p in params))))

    def f(ps, grad=False):
        ts = [_t(p).requires_grad_(grad) for p in ps]
        gpugrad.manual_seed(seed)
        out = (cls(*ts).rsample((n,)) * _t(w)).sum()
        if grad:
            out.backward()
            return [t.grad.numpy() for t in ts]
        return out.item()

    grads = f(params, grad=True)
    for i, p in enumerate(params):
        fd = np.zeros_like(p)
        for j in np.ndindex(p.shape):
            up = [q.copy() for q in params]
            down = [q.copy() for q in params]
            up[i][j] += eps
            down[i][j] -= eps
            fd[j] = (f(up) - f(down)) / (2 * eps)
        np.testing.assert_allclose(grads[i], fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(RSAMPLE))
def test_rsample_gradient(name):
    cls, params = RSAMPLE[name]
    rsample_fd_check(cls, params)


def test_onehot_straight_through():
    probs = _t([0.2, 0.3, 0.5]).requires_grad_()
    d = gd.OneHotCategoricalStraightThrough(probs)
    x = d.rsample((5,))
    assert set(np.unique(x.detach().numpy())) <= {0.0, 1.0}
    (x * _t([1.0, 2.0, 3.0])).sum().backward()
    assert probs.grad is not None


def test_gamma_implicit_gradient_matches_torch():
    """Our dx/dalpha of a gamma draw, held to its CDF, against torch's on the same draws."""
    import torch

    from gpugrad.distributions._sampling import standard_gamma_grad_array

    gpugrad.manual_seed(1)
    alpha = np.repeat([0.05, 0.3, 1.0, 2.5, 20.0, 500.0], 50)
    x = gd.Gamma(_t(alpha), 1.0).sample().numpy()
    ours = standard_gamma_grad_array(np, alpha, x)
    theirs = torch._standard_gamma_grad(torch.tensor(alpha), torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=2e-3)  # torch's approximation: ~1e-4


def _weighted(x):
    return (x * _t(np.arange(1, x.shape[-1] + 1))).sum()


def _mean_grad(make, params, n=20000, seed=0):
    """The gradient of the (weighted) mean of n reparameterized draws."""
    ts = [_t(p).requires_grad_() for p in params]
    gpugrad.manual_seed(seed)
    _weighted(make(*ts).rsample((n,)).mean(0)).backward()
    return [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("name", ["Gamma", "Beta", "Dirichlet", "Chi2", "StudentT"])
def test_rsample_gradient_of_mean(name):
    """E[d x / d theta] over many draws equals d E[x] / d theta (the analytic mean's gradient):
    the reparameterized gradients are unbiased."""
    make, params = {
        "Gamma": (gd.Gamma, [np.array([0.4, 3.0]), np.array([2.0, 0.5])]),
        "Beta": (gd.Beta, [np.array([0.7, 3.0]), np.array([2.0, 1.5])]),
        "Dirichlet": (gd.Dirichlet, [np.array([0.5, 2.0, 3.0])]),
        "Chi2": (gd.Chi2, [np.array([0.8, 6.0])]),
        "StudentT": (lambda df, loc, s: gd.StudentT(df, loc, s),
                     [np.array([6.0, 9.0]), np.array([0.0, 1.0]), np.array([1.0, 2.0])]),
    }[name]
    grads = _mean_grad(make, params)
    ts = [_t(p).requires_grad_() for p in params]
    _weighted(make(*ts).mean).backward()
    for g, t in zip(grads, ts):
        expected = np.zeros_like(g) if t.grad is None else t.grad.numpy()
        np.testing.assert_allclose(g, expected, rtol=0.05, atol=0.02)
