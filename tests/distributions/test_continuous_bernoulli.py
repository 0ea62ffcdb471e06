"""ContinuousBernoulli against torch: values and gradients (on both sides of the unstable
region around 1/2 and inside it), validation, expand, draws, and its KL divergences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as td
from dist_oracle import check, check_kl

import gpugrad
import gpugrad.distributions as gd

R = np.random.default_rng(11)
# probs far from 1/2 and inside the unstable region (0.499, 0.501] (Taylor series there);
# near its edges the closed forms cancel (in torch as here), so the edges are compared by
# value only, in float64 (test_edges_of_unstable_region)
PROBS = np.array([[0.05, 0.3, 0.4995, 0.5, 0.5004, 0.7, 0.98],
                  [0.2, 0.35, 0.5008, 0.4, 0.6, 0.5002, 0.9]])
VALUES = R.uniform(0.02, 0.98, (3, 2, 7))
U = R.uniform(0.02, 0.98, (2, 7))
METHODS = ("log_prob", "cdf", "icdf", "entropy", "mean", "variance", "stddev", "logits")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_probs(dtype):
    check(gd.ContinuousBernoulli, td.ContinuousBernoulli, dict(probs=PROBS), VALUES, METHODS,
          dtype, icdf_value=U)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_values_logits(dtype):
    logits = np.log(PROBS / (1 - PROBS))
    check(gd.ContinuousBernoulli, td.ContinuousBernoulli, dict(logits=logits), VALUES,
          METHODS[:-1] + ("probs",), dtype, icdf_value=U)


def test_edges_of_unstable_region():
    probs = [0.499, 0.501, 0.4989, 0.5011]
    g = gd.ContinuousBernoulli(gpugrad.tensor(probs, dtype=gpugrad.float64))
    t = td.ContinuousBernoulli(torch.tensor(probs, dtype=torch.float64))
    v = [0.1, 0.4, 0.7, 0.95]
    for name in ("mean", "variance", "entropy"):
        go, to = getattr(g, name), getattr(t, name)
        go, to = (go(), to()) if callable(to) else (go, to)
        np.testing.assert_allclose(go.numpy(), to.numpy(), rtol=1e-7, err_msg=name)
    for name in ("log_prob", "cdf", "icdf"):
        np.testing.assert_allclose(getattr(g, name)(gpugrad.tensor(v, dtype=gpugrad.float64)),
                                   getattr(t, name)(torch.tensor(v, dtype=torch.float64)),
                                   rtol=1e-7, err_msg=name)


def test_scalar_and_lims():
    g = gd.ContinuousBernoulli(0.3, lims=(0.2, 0.8))
    t = td.ContinuousBernoulli(0.3, lims=(0.2, 0.8))
    assert g.batch_shape == () and g.event_shape == ()
    for name in ("mean", "variance"):
        np.testing.assert_allclose(getattr(g, name).numpy(), getattr(t, name).numpy(), 1e-6)
    x = gpugrad.tensor([0.1, 0.6])
    np.testing.assert_allclose(g.log_prob(x).numpy(), t.log_prob(torch.tensor([0.1, 0.6])),
                               1e-6)


def test_cdf_clamps_outside_unit_interval():
    g = gd.ContinuousBernoulli(gpugrad.tensor([0.3, 0.5]), validate_args=False)
    t = td.ContinuousBernoulli(torch.tensor([0.3, 0.5]), validate_args=False)
    v = [[-0.5, 0.0], [1.0, 1.5]]
    np.testing.assert_allclose(g.cdf(gpugrad.tensor(v)).numpy(), t.cdf(torch.tensor(v)), 1e-6)


def test_validation():
    for lib, mod in ((gd, gpugrad), (td, torch)):
        with pytest.raises(ValueError, match="probs has invalid values"):
            lib.ContinuousBernoulli(mod.tensor([1.5]), validate_args=True)
        with pytest.raises(ValueError, match="Either `probs` or `logits`"):
            lib.ContinuousBernoulli()
        with pytest.raises(ValueError, match="within the support"):
            lib.ContinuousBernoulli(mod.tensor([0.3])).log_prob(mod.tensor([1.2]))
    # without validate_args, probs are clamped silently, as PyTorch does
    g = gd.ContinuousBernoulli(gpugrad.tensor([1.5]))
    assert 0 < g.probs.item() < 1


def test_expand_and_attributes():
    g = gd.ContinuousBernoulli(logits=gpugrad.tensor([0.3, -1.0]), lims=(0.4, 0.6))
    e = g.expand((3, 2))
    assert e.batch_shape == (3, 2) and e._lims == (0.4, 0.6) and e.param_shape == (3, 2)
    assert tuple(e.log_prob(gpugrad.full((3, 2), 0.25)).shape) == (3, 2)
    assert gd.ContinuousBernoulli.has_rsample and not gd.ContinuousBernoulli.has_enumerate_support
    assert gd.ContinuousBernoulli.support is gd.constraints.unit_interval
    assert gd.ContinuousBernoulli.arg_constraints == {"probs": gd.constraints.unit_interval,
                                                      "logits": gd.constraints.real}
    with pytest.raises(NotImplementedError):
        g.mode  # noqa: B018


def test_samples():
    gpugrad.manual_seed(0)
    probs = gpugrad.tensor([0.1, 0.5, 0.8], dtype=gpugrad.float64, requires_grad=True)
    d = gd.ContinuousBernoulli(probs)
    x = d.rsample((20000,))
    assert tuple(x.shape) == (20000, 3) and x.dtype == gpugrad.float64 and x.requires_grad
    xs = x.detach().numpy()
    assert ((xs >= 0) & (xs <= 1)).all()
    mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
    np.testing.assert_array_less(np.abs(xs.mean(0) - mean), 6 * np.sqrt(var / 20000))
    np.testing.assert_allclose(xs.var(0), var, rtol=0.05)
    x.sum().backward()
    assert probs.grad is not None and np.isfinite(probs.grad.numpy()).all()
    s = d.sample((4, 2))
    assert tuple(s.shape) == (4, 2, 3) and not s.requires_grad


def _cb():  # probs away from 1/2, where float32's closed forms cancel
    return dict(probs=np.array([0.1, 0.3, 0.65, 0.85, 0.97]) * R.uniform(0.95, 1.0, 5))


PAIRS = {
    ("ContinuousBernoulli", "ContinuousBernoulli"): (
        _cb, lambda: dict(logits=np.array([-2.0, -0.8, 0.6, 1.5, 3.0]) + R.normal(size=5) / 10)),
    ("Beta", "ContinuousBernoulli"): (
        lambda: dict(concentration1=R.uniform(0.5, 2, 5), concentration0=R.uniform(0.5, 2, 5)),
        _cb),
    ("Uniform", "ContinuousBernoulli"): (
        lambda: dict(low=np.array([0.1, 0.0, 0.2, 0.3, -0.1]),
                     high=np.array([0.9, 0.5, 1.0, 0.4, 0.8])), _cb),
    ("ContinuousBernoulli", "Exponential"): (_cb, lambda: dict(rate=R.uniform(0.5, 2, 5))),
    ("ContinuousBernoulli", "Normal"): (
        _cb, lambda: dict(loc=R.normal(size=5), scale=R.uniform(0.5, 2, 5))),
    ("ContinuousBernoulli", "Uniform"): (
        _cb, lambda: dict(low=np.array([-0.5, 0.0, -1.0, 0.1, -0.2]),
                          high=np.array([1.5, 2.0, 1.0, 3.0, 1.2]))),
    ("ContinuousBernoulli", "Pareto"): (
        _cb, lambda: dict(scale=R.uniform(0.5, 2, 5), alpha=R.uniform(0.5, 2, 5))),
    ("Normal", "ContinuousBernoulli"): (
        lambda: dict(loc=R.normal(size=5), scale=R.uniform(0.5, 2, 5)), _cb),
    ("Exponential", "ContinuousBernoulli"): (lambda: dict(rate=R.uniform(0.5, 2, 5)), _cb),
    ("Gamma", "ContinuousBernoulli"): (
        lambda: dict(concentration=R.uniform(0.5, 2, 5), rate=R.uniform(0.5, 2, 5)), _cb),
    ("Gumbel", "ContinuousBernoulli"): (
        lambda: dict(loc=R.normal(size=5), scale=R.uniform(0.5, 2, 5)), _cb),
    ("Laplace", "ContinuousBernoulli"): (
        lambda: dict(loc=R.normal(size=5), scale=R.uniform(0.5, 2, 5)), _cb),
    ("Pareto", "ContinuousBernoulli"): (
        lambda: dict(scale=R.uniform(0.5, 2, 5), alpha=R.uniform(0.5, 2, 5)), _cb),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_kl(pair, dtype):
    p_name, q_name = pair
    p_params, q_params = PAIRS[pair]
    check_kl(getattr(gd, p_name), getattr(td, p_name), p_params(),
             getattr(gd, q_name), getattr(td, q_name), q_params(), dtype)
