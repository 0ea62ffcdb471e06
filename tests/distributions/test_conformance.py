"""Every distribution, one generic pass: shapes as torch's on the same parameters, draws in
the support, log_prob of draws finite, expand, repr, sample detached, rsample differentiable
where has_rsample, zero-size and non-contiguous parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as td

import gpugrad
import gpugrad.distributions as gd

R = np.random.default_rng(5)


def pos(*shape):
    return R.uniform(0.5, 2.0, shape)


def simplex(*shape):
    p = R.uniform(0.1, 1.0, shape)
    return p / p.sum(-1, keepdims=True)


def spd(n=3):
    b = R.standard_normal((n, n))
    return b @ b.T + n * np.eye(n)


# name -> (constructor name, kwargs as arrays or numbers); torch's class of the same name
ALL = {
    "Normal": dict(loc=R.standard_normal((2, 3)), scale=pos(2, 3)),
    "Laplace": dict(loc=R.standard_normal((2, 3)), scale=pos(2, 3)),
    "Cauchy": dict(loc=R.standard_normal(3), scale=pos(3)),
    "Exponential": dict(rate=pos(2, 3)),
    "Uniform": dict(low=-pos(3), high=pos(3)),
    "Gamma": dict(concentration=pos(2, 3), rate=pos(2, 3)),
    "Chi2": dict(df=pos(3)),
    "Beta": dict(concentration1=pos(3), concentration0=pos(3)),
    "Dirichlet": dict(concentration=pos(2, 3)),
    "StudentT": dict(df=pos(3) + 2, loc=R.standard_normal(3), scale=pos(3)),
    "LogNormal": dict(loc=R.standard_normal(3), scale=pos(3)),
    "Categorical": dict(probs=simplex(2, 4)),
    "OneHotCategorical": dict(logits=R.standard_normal((2, 4))),
    "Bernoulli": dict(probs=R.uniform(0.1, 0.9, (2, 3))),
    "Poisson": dict(rate=pos(2, 3)),
    "Binomial": dict(total_count=5, probs=R.uniform(0.1, 0.9, (2, 3))),
    "Geometric": dict(probs=R.uniform(0.1, 0.9, (2, 3))),
    "MultivariateNormal": dict(loc=R.standard_normal((2, 3)), covariance_matrix=spd()),
    "RelaxedBernoulli": dict(temperature=np.array(0.5), probs=R.uniform(0.1, 0.9, 3)),
    "RelaxedOneHotCategorical": dict(temperature=np.array(0.5), logits=R.standard_normal(4)),
    "HalfNormal": dict(scale=pos(2, 3)),
    "HalfCauchy": dict(scale=pos(3)),
    "Gumbel": dict(loc=R.standard_normal(3), scale=pos(3)),
    "Weibull": dict(scale=pos(2, 3), concentration=pos(2, 3)),
    "Pareto": dict(scale=pos(3), alpha=pos(3)),
    "NegativeBinomial": dict(total_count=pos(2, 3), probs=R.uniform(0.1, 0.9, (2, 3))),
    "Multinomial": dict(total_count=6, probs=simplex(2, 4)),
    # float32: torch 2.13's GeneralizedPareto fails in float64
    "GeneralizedPareto": dict(loc=R.standard_normal(3).astype(np.float32),
                              scale=pos(3).astype(np.float32),
                              concentration=np.array([0.2, 0.0, -0.4], np.float32)),
    "InverseGamma": dict(concentration=pos(3), rate=pos(3)),
    "FisherSnedecor": dict(df1=pos(2, 3) + 1, df2=pos(2, 3) + 1),
    "Kumaraswamy": dict(concentration1=pos(3), concentration0=pos(3)),
    "LogisticNormal": dict(loc=R.standard_normal((2, 3)), scale=pos(2, 3)),
    "LowRankMultivariateNormal": dict(loc=R.standard_normal((2, 3)),
                                      cov_factor=R.standard_normal((3, 2)), cov_diag=pos(3)),
    "ContinuousBernoulli": dict(probs=R.uniform(0.1, 0.9, (2, 3))),
    # float32: torch's Bessel approximations agree with exact ones to about 1e-7 (von_mises.py)
    "VonMises": dict(loc=R.standard_normal((2, 3)).astype(np.float32),
                     concentration=pos(2, 3).astype(np.float32)),
    "LKJCholesky": dict(dim=3, concentration=pos(2)),
    "Wishart": dict(df=pos(2) + 3, covariance_matrix=spd()),
}


def build(lib, name, kwargs):
    cls = getattr(gd if lib == "g" else td, name)
    args = {}
    for k, v in kwargs.items():
        if isinstance(v, np.ndarray):
            v = gpugrad.tensor(v) if lib == "g" else torch.tensor(v)
        args[k] = v
    return cls(**args)


@pytest.mark.parametrize("name", sorted(ALL))
def test_conformance(name):
    gpugrad.manual_seed(0)
    g, t = build("g", name, ALL[name]), build("t", name, ALL[name])
    assert tuple(g.batch_shape) == tuple(t.batch_shape)
    assert tuple(g.event_shape) == tuple(t.event_shape)
    assert g.has_rsample == t.has_rsample
    assert g.has_enumerate_support == t.has_enumerate_support
    assert repr(g.support).replace("gpugrad", "torch") == repr(t.support) or name in (
        "Uniform", "Binomial", "GeneralizedPareto")
    x = g.sample((5,))
    assert tuple(x.shape) == (5, *t.batch_shape, *t.event_shape)
    assert x.dtype.name == str(t.sample().dtype).split(".")[-1]
    assert bool(g.support.check(x).all())
    assert not x.requires_grad
    lp = g.log_prob(x)
    assert tuple(lp.shape) == (5, *t.batch_shape) and bool(gpugrad.isfinite(lp).all())
    rtol = 1e-9 if x.dtype == gpugrad.float64 else 1e-5
    np.testing.assert_allclose(lp.numpy(), t.log_prob(torch.tensor(x.numpy())).numpy(),
                               rtol=rtol, atol=rtol)
    assert repr(g).split("(")[0] == repr(t).split("(")[0]
    batch = (4, *t.batch_shape)
    e = g.expand(batch)
    assert type(e) is type(g) and tuple(e.batch_shape) == batch
    assert tuple(e.sample().shape) == (*batch, *t.event_shape)
    np.testing.assert_allclose(e.log_prob(x[0]).numpy(),
                               np.broadcast_to(g.log_prob(x[0]).numpy(), batch), rtol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n in ALL if getattr(gd, n).has_rsample))
def test_rsample_differentiable(name):
    kwargs = {k: gpugrad.tensor(v, requires_grad=v.dtype.kind == "f")
              if isinstance(v, np.ndarray) else v for k, v in ALL[name].items()}
    d = getattr(gd, name)(**kwargs)
    d.rsample((3,)).sum().backward()
    leaves = [v for v in kwargs.values() if isinstance(v, gpugrad.Tensor) and v.requires_grad]
    assert any(v.grad is not None and bool(gpugrad.isfinite(v.grad).all()) for v in leaves)


@pytest.mark.parametrize("name", sorted(n for n in ALL if "MultivariateNormal" not in n))
def test_non_contiguous_parameters(name):
    """Parameters that are transposed views give what contiguous copies give."""
    g = build("g", name, ALL[name])
    args = {}
    for k, v in ALL[name].items():
        if isinstance(v, np.ndarray) and v.ndim == 2:
            args[k] = gpugrad.tensor(np.ascontiguousarray(v.T)).T  # a transposed view
        elif isinstance(v, np.ndarray) and v.ndim == 1:
            args[k] = gpugrad.tensor(np.repeat(v, 2))[::2]  # a strided view
        elif isinstance(v, np.ndarray):
            args[k] = gpugrad.tensor(v)
        else:
            args[k] = v
    nc = getattr(gd, name)(**args)
    assert any(isinstance(v, gpugrad.Tensor) and not v.is_contiguous() for v in args.values())
    gpugrad.manual_seed(0)
    x = g.sample((2,))
    np.testing.assert_allclose(nc.log_prob(x).numpy(), g.log_prob(x).numpy(), rtol=1e-12)


def test_zero_size_batch():
    d = gd.Normal(gpugrad.zeros(0, 3), gpugrad.ones(0, 3))
    assert d.sample((2,)).shape == (2, 0, 3) and d.log_prob(gpugrad.zeros(0, 3)).shape == (0, 3)
    c = gd.Categorical(logits=gpugrad.zeros(0, 4))
    assert c.sample((2,)).shape == (2, 0) and c.entropy().shape == (0,)
    assert gd.Gamma(gpugrad.ones(0), 1.0).rsample((3,)).shape == (3, 0)
    assert gd.Dirichlet(gpugrad.ones(0, 3)).sample().shape == (0, 3)


def test_mixture_conformance():
    gpugrad.manual_seed(0)
    logits, loc, scale = R.standard_normal((2, 3)), R.standard_normal((2, 3, 4)), pos(2, 3, 4)
    g = gd.MixtureSameFamily(gd.Categorical(logits=gpugrad.tensor(logits)),
                             gd.Independent(gd.Normal(gpugrad.tensor(loc),
                                                      gpugrad.tensor(scale)), 1))
    t = td.MixtureSameFamily(td.Categorical(logits=torch.tensor(logits)),
                             td.Independent(td.Normal(torch.tensor(loc),
                                                      torch.tensor(scale)), 1))
    assert g.batch_shape == t.batch_shape and g.event_shape == t.event_shape
    x = g.sample((7,))
    assert x.shape == (7, 2, 4)
    np.testing.assert_allclose(g.log_prob(x).numpy(), t.log_prob(torch.tensor(x.numpy())),
                               rtol=1e-10)
    e = g.expand((5, 2))
    assert e.sample().shape == (5, 2, 4) and e.log_prob(x[0]).shape == (5, 2)
    assert repr(g).startswith("MixtureSameFamily(\n  Categorical(")
    assert repr(g.support) == repr(t.support)
    assert g.support.check(x).shape == (7, 2) and bool(g.support.check(x).all())
    with pytest.raises(ValueError, match="Categorical"):
        gd.MixtureSameFamily(gd.Normal(0.0, 1.0), gd.Normal(gpugrad.zeros(3), 1.0))
    with pytest.raises(ValueError, match="does not equal"):
        gd.MixtureSameFamily(gd.Categorical(logits=gpugrad.zeros(2)),
                             gd.Normal(gpugrad.zeros(3), 1.0))
    with pytest.raises(NotImplementedError, match="inhomogeneous"):
        gd.Multinomial(gpugrad.tensor(3), probs=gpugrad.tensor([0.5, 0.5]))
