"""The private special functions of gpugrad.distributions against torch: values over wide
ranges (negative arguments, poles, tails), gradients, float64 finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.autograd import gradcheck
from gpugrad.distributions import _special

X = np.concatenate([np.linspace(-10.3, 40, 1001), [1e-8, 0.5, 1.0, 2.0, 1e5, 3e2, -0.5]])
FUNCS = {
    "lgamma": (_special.lgamma, torch.lgamma),
    "digamma": (_special.digamma, torch.digamma),
    "trigamma": (_special.trigamma, lambda t: torch.polygamma(1, t)),
    "atan": (_special.atan, torch.atan),
}


@pytest.mark.parametrize("name", sorted(FUNCS))
def test_values_match_torch(name):
    ours, theirs = FUNCS[name]
    a = ours(gpugrad.tensor(X)).numpy()
    b = theirs(torch.tensor(X)).numpy()
    # torch's polygamma(1) is good to ~1e-9 (checked against mpmath); ours to ~1e-13
    rtol = 1e-8 if name == "trigamma" else 1e-11
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-11)
    a32 = ours(gpugrad.tensor(X, dtype=gpugrad.float32))
    assert a32.dtype == gpugrad.float32
    b32 = theirs(torch.tensor(X, dtype=torch.float32)).numpy()
    # near its poles torch's float32 trigamma loses digits (ours runs in float64 and rounds)
    rtol = 1e-3 if name == "trigamma" else 2e-5
    np.testing.assert_allclose(a32.numpy(), b32, rtol=rtol, atol=2e-5)


def test_poles_match_torch():
    x = np.array([0.0, -1.0, -2.0, np.inf, -np.inf, np.nan])
    for name in ("lgamma", "digamma"):
        ours, theirs = FUNCS[name]
        np.testing.assert_array_equal(ours(gpugrad.tensor(x)).numpy(),
                                      theirs(torch.tensor(x)).numpy(), err_msg=name)


def test_erfinv_matches_torch():
    y = np.concatenate([np.linspace(-0.999, 0.999, 2001), [0.0, 1e-300, 0.5, -0.9999999]])
    np.testing.assert_allclose(_special.erfinv(gpugrad.tensor(y)).numpy(),
                               torch.erfinv(torch.tensor(y)).numpy(), rtol=1e-11, atol=1e-13)
    edges = np.array([1.0, -1.0, 1.5, -2.0, np.nan])
    np.testing.assert_array_equal(_special.erfinv(gpugrad.tensor(edges)).numpy(),
                                  torch.erfinv(torch.tensor(edges)).numpy())


@pytest.mark.parametrize("name", ["lgamma", "digamma", "erfinv", "atan"])
def test_gradients(name):
    ours, theirs = {**FUNCS, "erfinv": (_special.erfinv, torch.erfinv)}[name]
    x = np.array([[0.3, 1.7, -2.5], [4.0, 0.05, 11.0]])
    if name == "erfinv":
        x = np.tanh(x / 4)
    g = gpugrad.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    w = np.random.default_rng(0).standard_normal(x.shape)
    (ours(g) * gpugrad.tensor(w)).sum().backward()
    (theirs(t) * torch.tensor(w)).sum().backward()
    # digamma's gradient is torch's polygamma(1), good to ~1e-9; erfinv's grows near +-1
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-7)
    assert gradcheck(ours, (gpugrad.tensor(x, requires_grad=True),))
    # non-contiguous and zero-size inputs
    nc = gpugrad.tensor(x).T
    np.testing.assert_allclose(ours(nc).numpy(), theirs(torch.tensor(x).T).numpy(), rtol=1e-11)
    assert ours(gpugrad.zeros(0, 3, dtype=gpugrad.float64)).shape == (0, 3)


def test_trigamma_refuses_a_gradient():
    x = gpugrad.tensor([1.5], requires_grad=True, dtype=gpugrad.float64)
    with pytest.raises(NotImplementedError, match="trigamma"):
        _special.trigamma(x)
    y = gpugrad.tensor([1.5], requires_grad=True, dtype=gpugrad.float64)
    (gx,) = gpugrad.autograd.grad(_special.lgamma(y), y, create_graph=True)
    expected = torch.digamma(torch.tensor([1.5], dtype=torch.float64)).numpy()
    np.testing.assert_allclose(gx.detach().numpy(), expected)


def test_gamma_cdf_is_special_gammainc_as_in_torch():
    """Gamma.cdf goes through special.gammainc (one incomplete gamma): torch's values, its
    gradient in the value, and its refusal of one in the concentration."""
    a = np.array([0.01, 0.3, 1.0, 2.0, 5.0, 50.0, 1000.0, 0.5, 3.0, 1000.0, 2.0])
    x = np.array([1e-5, 0.01, 1.0, 4.0, 2.0, 45.0, 1100.0, 10.0, 0.01, 900.0, 0.0])

    def cdf(lib, conc, value):
        return lib.distributions.Gamma(conc, lib.ones_like(conc)).cdf(value)

    ours = cdf(gpugrad, gpugrad.tensor(a), gpugrad.tensor(x)).numpy()
    np.testing.assert_allclose(ours, cdf(torch, torch.tensor(a), torch.tensor(x)),
                               rtol=1e-9, atol=1e-15)
    xs = gpugrad.tensor(x[:-1] + 0.1, requires_grad=True)
    assert gradcheck(lambda v: cdf(gpugrad, gpugrad.tensor(a[:-1]), v), (xs,))
    for lib in (gpugrad, torch):
        a_g = lib.tensor(a, requires_grad=True)
        out = cdf(lib, a_g, lib.tensor(x))
        assert type(out.grad_fn).__name__ == "IgammaBackward0"
        with pytest.raises(NotImplementedError, match="derivative for 'igamma: input'"):
            out.sum().backward()
