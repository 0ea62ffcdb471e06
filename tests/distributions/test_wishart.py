"""Wishart against torch: log_prob, entropy and moments with their gradients (each of the
three scale parameterizations), validation, expand, and draws' shapes, support, gradients and
moments."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.distributions as td
from dist_oracle import TOL

import gpugrad
import gpugrad.distributions as gd

R = np.random.default_rng(9)


def _spd(*batch, p=3):
    a = R.standard_normal((*batch, p, p))
    return a @ np.swapaxes(a, -1, -2) + p * np.eye(p)


COV = _spd(2)
DF = np.array([3.5, 6.0])
VALUE = np.linalg.inv(_spd(4, 2)) * 5  # positive definite, (4, 2, 3, 3)
PARAMS = {"covariance_matrix": COV, "precision_matrix": np.linalg.inv(COV),
          "scale_tril": np.linalg.cholesky(COV)}


def _close(g, t, dtype, what):
    assert tuple(g.shape) == tuple(t.shape), what
    np.testing.assert_allclose(g.detach().numpy(), t.detach().numpy(), err_msg=what,
                               **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("param", sorted(PARAMS))
def test_values_and_gradients(param, dtype):
    for name in ("log_prob", "entropy", "mean", "mode", "variance", "precision_matrix",
                 "covariance_matrix", "scale_tril"):
        gdf = gpugrad.tensor(DF.astype(dtype), requires_grad=True)
        tdf = torch.tensor(DF.astype(dtype), requires_grad=True)
        gm = gpugrad.tensor(PARAMS[param].astype(dtype), requires_grad=True)
        tm = torch.tensor(PARAMS[param].astype(dtype), requires_grad=True)
        g = gd.Wishart(gdf, **{param: gm})
        t = td.Wishart(tdf, **{param: tm})
        if name == "log_prob":
            gv = gpugrad.tensor(VALUE.astype(dtype), requires_grad=True)
            tv = torch.tensor(VALUE.astype(dtype), requires_grad=True)
            go, to = g.log_prob(gv), t.log_prob(tv)
        else:
            go, to = getattr(g, name), getattr(t, name)
            go, to = (go(), to()) if callable(to) else (go, to)
        _close(go, to, dtype, name)
        finite = np.isfinite(to.detach().numpy())
        w = np.where(finite, R.standard_normal(tuple(to.shape)), 0).astype(dtype)
        (go.where(gpugrad.tensor(finite), 0.0) * gpugrad.tensor(w)).sum().backward()
        (to.where(torch.tensor(finite), 0.0) * torch.tensor(w)).sum().backward()
        pairs = [(gdf, tdf, "df"), (gm, tm, param)]
        if name == "log_prob":
            pairs.append((gv, tv, "value"))
        for a, b, what in pairs:
            if b.grad is None:
                assert a.grad is None or not np.any(a.grad.numpy()), (name, what)
            else:
                _close(a.grad, b.grad, dtype, f"{name} d{what}")


def test_number_df_and_attributes():
    cov = gpugrad.tensor(COV[0])
    g, t = gd.Wishart(4.0, cov), td.Wishart(4.0, torch.tensor(COV[0]))
    assert g.batch_shape == t.batch_shape == () and g.event_shape == t.event_shape == (3, 3)
    assert g.df.dtype == gpugrad.float64
    np.testing.assert_allclose(g.log_prob(gpugrad.tensor(VALUE[0, 0])).numpy(),
                               t.log_prob(torch.tensor(VALUE[0, 0])).numpy(), rtol=1e-10)
    assert g.has_rsample and g.support is gd.constraints.positive_definite
    assert repr(g.arg_constraints["df"]) == repr(t.arg_constraints["df"])
    assert set(g.arg_constraints) == set(t.arg_constraints)
    e = gd.Wishart(gpugrad.tensor(DF), gpugrad.tensor(COV)).expand((5, 2))
    assert e.batch_shape == (5, 2) and e._dist_chi2.batch_shape == (5, 2, 3)
    assert tuple(e.log_prob(gpugrad.tensor(VALUE[:1])).shape) == (5, 2)
    assert tuple(e.rsample((3,)).shape) == (3, 5, 2, 3, 3)


def test_validation():
    eye = np.eye(3)
    for lib, mod in ((gd, gpugrad), (td, torch)):
        with pytest.raises(AssertionError, match="Exactly one of"):
            lib.Wishart(4.0, mod.tensor(eye), scale_tril=mod.tensor(eye))
        with pytest.raises(ValueError, match="scale_tril must be at least two-dimensional"):
            lib.Wishart(4.0, mod.tensor([1.0]))
        with pytest.raises(ValueError, match=r"Value of df=2.0 expected to be greater than "
                                             r"ndim - 1 = 2\."):
            lib.Wishart(2.0, mod.tensor(eye))
        with pytest.warns(UserWarning, match="Low df values detected"):
            lib.Wishart(2.5, mod.tensor(eye))
        with pytest.raises(ValueError, match="covariance_matrix"):
            lib.Wishart(4.0, mod.tensor([[1.0, 2.0], [2.0, 1.0]]), validate_args=True)
        with pytest.raises(ValueError, match="within the support"):
            lib.Wishart(4.0, mod.tensor(eye)).log_prob(-mod.tensor(eye))


def test_samples():
    gpugrad.manual_seed(0)
    n = 20000
    df = gpugrad.tensor([4.0, 9.0], dtype=gpugrad.float64, requires_grad=True)
    cov = gpugrad.tensor(COV, requires_grad=True)
    d = gd.Wishart(df, cov)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no singular draws here, so no warning
        x = d.rsample((n,))
    assert tuple(x.shape) == (n, 2, 3, 3) and x.dtype == gpugrad.float64 and x.requires_grad
    assert bool(gd.constraints.positive_definite.check(x).all())
    xs = x.detach().numpy()
    mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
    np.testing.assert_array_less(np.abs(xs.mean(0) - mean), 6 * np.sqrt(var / n))
    np.testing.assert_allclose(xs.var(0), var, rtol=0.1)
    x.mean(0).sum().backward()  # d E[X] / d df = sum of cov's entries, per batch member
    np.testing.assert_allclose(df.grad.numpy(), COV.sum((-1, -2)), rtol=0.05)
    assert cov.grad is not None and np.isfinite(cov.grad.numpy()).all()
    s = gd.Wishart(5.0, gpugrad.eye(2)).sample((4,))
    assert tuple(s.shape) == (4, 2, 2) and not s.requires_grad


def test_singular_draws_are_redrawn():
    with pytest.warns(UserWarning, match="Low df values detected"):
        d = gd.Wishart(gpugrad.tensor([2.001, 5.0]), covariance_matrix=gpugrad.eye(3) * 1e-3)
    singular = []
    for tries in (0, 10):
        gpugrad.manual_seed(0)
        with pytest.warns(UserWarning, match="Singular sample detected."):
            x = d.rsample((2000,), max_try_correction=tries)
        assert tuple(x.shape) == (2000, 2, 3, 3)
        singular.append(int((~gd.constraints.positive_definite.check(x)).sum()))
    assert singular[0] > 0 and singular[1] < singular[0] / 2
