"""VonMises against torch: log_prob and its gradients (to the agreement of PyTorch's Bessel
approximations with exact ones), moments, validation, expand, and draws' circular moments."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as td

import gpugrad
import gpugrad.distributions as gd

R = np.random.default_rng(5)
LOC = R.uniform(-3, 3, (2, 6))
CONC = np.array([1e-6, 0.05, 0.7, 2.0, 3.75, 40.0])  # both sides of A&S's split at 3.75
VALUE = R.uniform(-6, 6, (3, 2, 6))
# PyTorch's polynomial Bessel approximations against exact ones (module docstring)
TOL = {np.float64: dict(rtol=1e-6, atol=1e-7), np.float32: dict(rtol=1e-5, atol=1e-5)}
MOMENT_TOL = {np.float64: dict(rtol=1e-6, atol=2e-6), np.float32: dict(rtol=1e-5, atol=2e-5)}
GRAD_TOL = {np.float64: dict(rtol=2e-5, atol=1e-6), np.float32: dict(rtol=5e-5, atol=2e-5)}


def _close_where_torch_finite(g, t, **tol):
    """torch's float32 approximation gives nan gradients at concentration 1e-6; exact Bessel
    functions do not."""
    assert np.isfinite(g).all()
    finite = np.isfinite(t)
    np.testing.assert_allclose(g[finite], t[finite], **tol)


def _pair(dtype):
    gp = [gpugrad.tensor(a.astype(dtype), requires_grad=True) for a in (LOC, CONC, VALUE)]
    tp = [torch.tensor(a.astype(dtype), requires_grad=True) for a in (LOC, CONC, VALUE)]
    return gp, tp


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_prob(dtype):
    (gl, gk, gv), (tl, tk, tv) = _pair(dtype)
    go, to = gd.VonMises(gl, gk).log_prob(gv), td.VonMises(tl, tk).log_prob(tv)
    assert tuple(go.shape) == tuple(to.shape) and go.dtype == getattr(gpugrad, str(to.dtype)[6:])
    np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), **TOL[dtype])
    w = R.standard_normal(tuple(to.shape)).astype(dtype)
    (go * gpugrad.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    for g, t, name in ((gl, tl, "loc"), (gk, tk, "concentration"), (gv, tv, "value")):
        _close_where_torch_finite(g.grad.numpy(), t.grad.numpy(), err_msg=name,
                                  **GRAD_TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_moments(dtype):
    (gl, gk, _), (tl, tk, _) = _pair(dtype)
    g, t = gd.VonMises(gl, gk), td.VonMises(tl, tk)
    for name in ("mean", "mode", "variance", "stddev"):
        go, to = getattr(g, name), getattr(t, name)
        assert tuple(go.shape) == tuple(to.shape)
        np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), err_msg=name,
                                   **MOMENT_TOL[dtype])
    g.variance.sum().backward()
    t.variance.sum().backward()
    _close_where_torch_finite(gk.grad.numpy(), tk.grad.numpy(), **GRAD_TOL[dtype])


def test_attributes_and_missing_methods():
    g = gd.VonMises(gpugrad.tensor([0.0, 1.0]), gpugrad.tensor([1.0, 2.0]))
    assert not g.has_rsample and g.support is gd.constraints.real
    assert g.arg_constraints == {"loc": gd.constraints.real,
                                 "concentration": gd.constraints.positive}
    for name in ("entropy", "rsample"):
        with pytest.raises(NotImplementedError):
            getattr(g, name)()
    with pytest.raises(NotImplementedError):
        g.cdf(gpugrad.tensor([0.1, 0.2]))
    e = g.expand((3, 2))
    assert e.batch_shape == (3, 2) and e.event_shape == ()
    np.testing.assert_allclose(e.log_prob(gpugrad.zeros(3, 2)).numpy()[1],
                               g.log_prob(gpugrad.zeros(2)).numpy())
    s = gd.VonMises(0.5, 2.0)
    assert s.batch_shape == () and s.sample().shape == ()


def test_validation():
    for lib, mod in ((gd, gpugrad), (td, torch)):
        with pytest.raises(ValueError, match="concentration"):
            lib.VonMises(mod.tensor([0.0]), mod.tensor([-1.0]), validate_args=True)
        # any real angle is in the support
        lib.VonMises(mod.tensor([0.0]), mod.tensor([1.0])).log_prob(mod.tensor([10.0]))


@pytest.mark.parametrize("dtype", [gpugrad.float32, gpugrad.float64])
def test_samples(dtype):
    gpugrad.manual_seed(0)
    n = 20000
    loc = gpugrad.tensor([0.3, -2.5, 3.0, 1.0], dtype=dtype)
    conc = gpugrad.tensor([2.0, 0.1, 50.0, 1e-6], dtype=dtype, requires_grad=True)
    d = gd.VonMises(loc, conc)
    x = d.sample((n,))
    assert tuple(x.shape) == (n, 4) and x.dtype == dtype and not x.requires_grad
    xs = x.numpy().astype(np.float64)
    assert (xs >= -np.pi).all() and (xs <= np.pi).all()
    resultant = np.exp(1j * xs).mean(0)
    # circular variance 1 - |E e^{ix}|, to 6 standard errors of the resultant's length
    var = d.variance.detach().numpy()
    np.testing.assert_array_less(np.abs((1 - np.abs(resultant)) - var), 6 / np.sqrt(n))
    ang = np.angle(resultant[:3] * np.exp(-1j * loc.numpy()[:3]))  # mean angle where defined
    np.testing.assert_array_less(np.abs(ang), [0.05, 0.5, 0.01])
    assert tuple(d.sample((2, 3)).shape) == (2, 3, 4)
