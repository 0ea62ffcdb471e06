"""Transforms, TransformedDistribution, LogNormal and the relaxed distributions against
torch (values and gradients, float64 and float32)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as td
import torch.distributions.transforms as tt
from dist_oracle import TOL, check, check_kl

import gpugrad
import gpugrad.distributions as gd

R = np.random.default_rng(3)
DTYPES = [np.float64, np.float32]

TRANSFORMS = {
    "Exp": (lambda lib, p: lib.ExpTransform(), R.standard_normal((3, 4))),
    "Sigmoid": (lambda lib, p: lib.SigmoidTransform(), R.standard_normal((3, 4))),
    "Tanh": (lambda lib, p: lib.TanhTransform(), 3 * R.standard_normal((3, 4))),
    "Softplus": (lambda lib, p: lib.SoftplusTransform(), R.standard_normal((3, 4))),
    "Power": (lambda lib, p: lib.PowerTransform(p(np.array([0.5, 2.0, 3.0, -1.5]))),
              R.uniform(0.2, 3.0, (3, 4))),
    "Affine": (lambda lib, p: lib.AffineTransform(p(R.standard_normal(4)),
                                                  p(np.array([0.5, -2.0, 3.0, 1.0]))),
               R.standard_normal((3, 4))),
    "Affine-number": (lambda lib, p: lib.AffineTransform(1.5, -2.0), R.standard_normal((3, 4))),
    "Affine-event": (lambda lib, p: lib.AffineTransform(p(R.standard_normal(4)),
                                                        p(R.uniform(0.5, 2, 4)), event_dim=1),
                     R.standard_normal((3, 4))),
    "Compose": (lambda lib, p: lib.ComposeTransform([lib.TanhTransform(),
                                                     lib.AffineTransform(1.0, 3.0)]),
                R.standard_normal((3, 4))),
    "Independent": (lambda lib, p: lib.IndependentTransform(lib.ExpTransform(), 1),
                    R.standard_normal((3, 4))),
    "Inverse": (lambda lib, p: lib.SigmoidTransform().inv, R.uniform(0.05, 0.95, (3, 4))),
    "StickBreaking": (lambda lib, p: lib.StickBreakingTransform(), R.standard_normal((3, 4))),
    "CorrCholesky": (lambda lib, p: lib.CorrCholeskyTransform(), R.standard_normal((2, 3, 6))),
    "Cat": (lambda lib, p: lib.CatTransform([lib.ExpTransform(), lib.AffineTransform(
        p(np.array([1.0])), p(np.array([-2.0]))), lib.SigmoidTransform()], dim=1,
        lengths=[1, 2, 1]), R.standard_normal((3, 4))),
    "Cat-event": (lambda lib, p: lib.CatTransform([lib.IndependentTransform(
        lib.ExpTransform(), 1), lib.TanhTransform()], dim=-1, lengths=[3, 1]),
                  R.standard_normal((3, 4))),
    "Stack": (lambda lib, p: lib.StackTransform([lib.ExpTransform(), lib.TanhTransform(),
                                                 lib.AffineTransform(p(np.array(0.5)), 2.0)],
                                                dim=-2), R.standard_normal((2, 3, 4))),
    "Reshape": (lambda lib, p: lib.ReshapeTransform((4,), (2, 2)), R.standard_normal((3, 4))),
    "CumulativeDistribution": (lambda lib, p: lib.CumulativeDistributionTransform(
        (gd if lib is gd else td).Normal(p(R.standard_normal(4)), p(R.uniform(0.5, 2, 4)))),
        R.standard_normal((3, 4))),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_transform_matches_torch(name, dtype):
    make, x = TRANSFORMS[name]
    tol = TOL[dtype]
    params_g, params_t = [], []

    def pg(a):
        params_g.append(gpugrad.tensor(a.astype(dtype), requires_grad=True))
        return params_g[-1]

    def pt(a):
        params_t.append(torch.tensor(a.astype(dtype), requires_grad=True))
        return params_t[-1]

    R_state = R.bit_generator.state
    tg = make(gd, pg)
    R.bit_generator.state = R_state
    tt_ = make(tt, pt)
    xg = gpugrad.tensor(x.astype(dtype), requires_grad=True)
    xt = torch.tensor(x.astype(dtype), requires_grad=True)
    yg, yt = tg(xg), tt_(xt)
    ig, it = tg.inv(yg), tt_.inv(yt)
    lg, lt = tg.log_abs_det_jacobian(xg, yg), tt_.log_abs_det_jacobian(xt, yt)
    for a, b in ((yg, yt), (ig, it), (lg, lt)):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **tol)
    w = [np.random.default_rng(i).standard_normal(tuple(b.shape)).astype(dtype)
         for i, b in enumerate((yt, it, lt))]
    sum(((a * gpugrad.tensor(v)).sum() for a, v in zip((yg, ig, lg), w))).backward()
    sum(((b * torch.tensor(v)).sum() for b, v in zip((yt, it, lt), w))).backward()
    for a, b in zip([xg, *params_g], [xt, *params_t]):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), **tol)
    assert repr(tg.domain) == repr(tt_.domain) and repr(tg.codomain) == repr(tt_.codomain)
    assert tg.bijective == tt_.bijective


def test_transform_api():
    t = gd.ExpTransform()
    assert t.inv.inv is t and t == gd.ExpTransform() and t.sign == 1
    assert gd.AffineTransform(0.0, -2.0).sign == -1
    assert gd.identity_transform(gpugrad.tensor([1.0])).item() == 1.0
    assert repr(gd.TanhTransform()) == "TanhTransform()"
    cached = gd.ExpTransform(cache_size=1)
    x = gpugrad.tensor([0.5])
    y = cached(x)
    assert cached.inv(y) is x
    with pytest.raises(ValueError):
        gd.ExpTransform(cache_size=2)
    a = gd.AffineTransform(gpugrad.zeros(3), 1.0)
    assert a.forward_shape((2, 1)) == (2, 3)


def _sac(loc, scale):
    return gd.TransformedDistribution(gd.Independent(gd.Normal(loc, scale), 1),
                                      [gd.TanhTransform()])


def _sac_t(loc, scale):
    return td.TransformedDistribution(td.Independent(td.Normal(loc, scale), 1),
                                      [tt.TanhTransform()])


def _affine_g(loc, scale, shift, factor):
    return gd.TransformedDistribution(gd.Normal(loc, scale),
                                      [gd.TanhTransform(), gd.AffineTransform(shift, factor)])


def _affine_t(loc, scale, shift, factor):
    return td.TransformedDistribution(td.Normal(loc, scale),
                                      [tt.TanhTransform(), tt.AffineTransform(shift, factor)])


@pytest.mark.parametrize("dtype", DTYPES)
def test_transformed_distributions(dtype):
    loc, scale = R.standard_normal((3, 2)), R.uniform(0.5, 1.5, (3, 2))
    check(_sac, _sac_t, dict(loc=loc, scale=scale), np.tanh(R.standard_normal((4, 3, 2))),
          ("log_prob",), dtype)
    shift, factor = R.standard_normal(2), np.array([2.0, -0.5])
    check(_affine_g, _affine_t, dict(loc=loc, scale=scale, shift=shift, factor=factor),
          shift + np.tanh(R.standard_normal((4, 3, 2))) * factor,
          ("log_prob", "cdf", "icdf"), dtype, icdf_value=R.uniform(0.05, 0.95, (4, 3, 2)))
    check(gd.LogNormal, td.LogNormal, dict(loc=loc, scale=scale), R.uniform(0.1, 3, (4, 3, 2)),
          ("log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance"), dtype,
          icdf_value=R.uniform(0.05, 0.95, (4, 3, 2)))
    check_kl(gd.LogNormal, td.LogNormal, dict(loc=loc, scale=scale),
             gd.LogNormal, td.LogNormal, dict(loc=R.standard_normal(2), scale=np.ones(2)), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_relaxed(dtype):
    temp = np.array(0.7)
    probs = R.uniform(0.1, 0.9, (3, 4))
    logits = R.standard_normal((3, 4))
    check(gd.RelaxedBernoulli, td.RelaxedBernoulli, dict(temperature=temp, probs=probs),
          R.uniform(0.05, 0.95, (2, 3, 4)), ("log_prob",), dtype)
    check(gd.relaxed.LogitRelaxedBernoulli, td.relaxed_bernoulli.LogitRelaxedBernoulli,
          dict(temperature=temp, logits=logits), R.standard_normal((2, 3, 4)), ("log_prob",),
          dtype)
    simplex = R.dirichlet(np.ones(4), (2, 3))
    check(gd.RelaxedOneHotCategorical, td.RelaxedOneHotCategorical,
          dict(temperature=temp, logits=logits), simplex, ("log_prob",), dtype)
    check(gd.relaxed.ExpRelaxedCategorical, td.relaxed_categorical.ExpRelaxedCategorical,
          dict(temperature=temp, probs=probs / probs.sum(-1, keepdims=True)), np.log(simplex),
          ("log_prob",), dtype)


def test_transformed_sampling():
    gpugrad.manual_seed(0)
    loc = gpugrad.tensor([0.2, -0.3], dtype=gpugrad.float64, requires_grad=True)
    d = _sac(loc, gpugrad.tensor([0.5, 1.0], dtype=gpugrad.float64))
    assert d.batch_shape == () and d.event_shape == (2,) and d.has_rsample
    x = d.rsample((5000,))
    assert float(x.abs().max()) <= 1.0
    # the tanh of a normal: its mean against a 1-d quadrature
    z = np.linspace(-8, 8, 20001)
    phi = np.exp(-z**2 / 2) / np.sqrt(2 * np.pi)
    expected = [np.trapezoid(np.tanh(m + s * z) * phi, z) for m, s in ((0.2, 0.5), (-0.3, 1.0))]
    np.testing.assert_allclose(x.mean(0).detach().numpy(), expected, atol=0.03)
    x.sum().backward()
    assert loc.grad is not None
    ln = gd.LogNormal(gpugrad.tensor([0.0, 0.5]), gpugrad.tensor([0.3, 0.2]))
    s = ln.sample((20000,)).numpy()
    np.testing.assert_allclose(s.mean(0), ln.mean.numpy(), rtol=0.02)
    r = gd.RelaxedOneHotCategorical(gpugrad.tensor(0.1), logits=gpugrad.tensor([0.0, 2.0, -1.0]))
    draws = r.sample((4000,)).numpy()
    np.testing.assert_allclose(draws.sum(-1), 1.0, rtol=1e-5)
    freq = np.bincount(draws.argmax(-1), minlength=3) / 4000
    p = np.exp([0.0, 2.0, -1.0]) / np.exp([0.0, 2.0, -1.0]).sum()
    np.testing.assert_allclose(freq, p, atol=0.04)
    b = gd.RelaxedBernoulli(gpugrad.tensor(0.5), probs=gpugrad.tensor([0.3]))
    assert b.expand((4, 1)).sample().shape == (4, 1) and b.support is gd.constraints.unit_interval


def test_transformed_errors_and_expand():
    with pytest.raises(ValueError, match="Transform"):
        gd.TransformedDistribution(gd.Normal(0.0, 1.0), [1])
    with pytest.raises(ValueError, match="at least 1"):
        gd.TransformedDistribution(gd.Normal(0.0, 1.0), gd.IndependentTransform(
            gd.ExpTransform(), 1))
    d = gd.LogNormal(gpugrad.zeros(2), 1.0).expand((3, 2))
    assert isinstance(d, gd.LogNormal) and d.sample().shape == (3, 2)
    with pytest.raises(ValueError, match="support"):
        gd.LogNormal(0.0, 1.0).log_prob(gpugrad.tensor(-1.0))
    with pytest.raises(NotImplementedError):
        gd.kl_divergence(gd.LogNormal(0.0, 1.0), gd.TransformedDistribution(
            gd.Normal(0.0, 1.0), [gd.SigmoidTransform()]))


def test_lower_cholesky_transform():
    x = R.standard_normal((2, 3, 3))
    g, t = gd.LowerCholeskyTransform(), tt.LowerCholeskyTransform()
    xg = gpugrad.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yg, yt = g(xg), t(xt)
    np.testing.assert_allclose(yg.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.inv(yg).detach().numpy(), t.inv(yt).detach().numpy(),
                               rtol=1e-12)
    (yg * gpugrad.tensor(x)).sum().backward()
    (yt * torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    assert bool(gd.constraints.lower_cholesky.check(yg).all())


CONSTRAINTS = {
    "real": lambda c: c.real,
    "positive": lambda c: c.positive,
    "nonnegative": lambda c: c.nonnegative,
    "greater_than": lambda c: c.greater_than(2.0),
    "less_than": lambda c: c.less_than(-1.0),
    "unit_interval": lambda c: c.unit_interval,
    "interval": lambda c: c.interval(-1.0, 3.0),
    "half_open_interval": lambda c: c.half_open_interval(0.0, 2.0),
    "simplex": lambda c: c.simplex,
    "real_vector": lambda c: c.real_vector,
    "independent": lambda c: c.independent(c.positive, 1),
}


@pytest.mark.parametrize("name", sorted(CONSTRAINTS))
@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
def test_constraint_registry_matches_torch(name, registry):
    cg = CONSTRAINTS[name](gd.constraints)
    ct = CONSTRAINTS[name](td.constraints)
    tg, tt_ = getattr(gd, registry)(cg), getattr(td, registry)(ct)
    assert repr(tg) == repr(tt_)
    x = R.standard_normal((3, 4))
    yg, yt = tg(gpugrad.tensor(x)), tt_(torch.tensor(x))
    np.testing.assert_allclose(yg.numpy(), yt.numpy(), rtol=1e-12)
    assert bool(cg.check(yg).all())
    if tg.bijective:
        np.testing.assert_allclose(tg.log_abs_det_jacobian(gpugrad.tensor(x), yg).numpy(),
                                   tt_.log_abs_det_jacobian(torch.tensor(x), yt).numpy(),
                                   rtol=1e-12)


def test_constraint_registry_errors_and_register():
    with pytest.raises(NotImplementedError, match="Cannot transform _LowerCholesky"):
        gd.biject_to(gd.constraints.lower_cholesky)
    assert isinstance(gd.transform_to(gd.constraints.lower_cholesky), gd.LowerCholeskyTransform)
    with pytest.raises(TypeError):
        gd.biject_to.register(int, lambda c: None)
    registry = type(gd.biject_to)()
    registry.register(gd.constraints.positive, lambda c: gd.SoftplusTransform())
    assert isinstance(registry(gd.constraints.greater_than(1.0)), gd.SoftplusTransform)


def test_positive_definite_transform():
    x = R.standard_normal((2, 3, 3))
    g, t = gd.PositiveDefiniteTransform(), tt.PositiveDefiniteTransform()
    xg = gpugrad.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yg, yt = g(xg), t(xt)
    np.testing.assert_allclose(yg.detach().numpy(), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g.inv(yg).detach().numpy(), t.inv(yt).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    (yg * gpugrad.tensor(x)).sum().backward()
    (yt * torch.tensor(x)).sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    assert bool(gd.constraints.positive_definite.check(yg).all())
    assert isinstance(gd.transform_to(gd.constraints.positive_definite),
                      gd.PositiveDefiniteTransform)


def test_reshape_transform_shapes():
    t = gd.ReshapeTransform((4,), (2, 2))
    assert t.forward_shape((5, 4)) == (5, 2, 2) and t.inverse_shape((5, 2, 2)) == (5, 4)
    with pytest.raises(ValueError, match="different numbers"):
        gd.ReshapeTransform((4,), (3,))
    with pytest.raises(ValueError, match="Shape mismatch"):
        t.forward_shape((5, 3))
    d = gd.TransformedDistribution(gd.Normal(gpugrad.zeros(5, 4), 1.0),
                                   gd.ReshapeTransform((4,), (2, 2)))
    assert d.batch_shape == (5,) and d.event_shape == (2, 2)
    td_ = td.TransformedDistribution(td.Normal(torch.zeros(5, 4), 1.0),
                                     tt.ReshapeTransform((4,), (2, 2)))
    x = d.sample()
    np.testing.assert_allclose(d.log_prob(x).numpy(),
                               td_.log_prob(torch.tensor(x.numpy())).numpy(), rtol=1e-6)
