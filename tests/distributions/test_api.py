"""Shapes, parameter choices, validation (ValueError), expand, enumerate_support, constraints."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.distributions as td

import gpugrad
import gpugrad.distributions as gd
from gpugrad.distributions import constraints


def t(x):
    return gpugrad.tensor(np.asarray(x, dtype=np.float64))


def test_shapes_and_flags():
    d = gd.Normal(t(np.zeros((3, 1))), t(np.ones(4)))
    assert d.batch_shape == gpugrad.Size([3, 4]) and d.event_shape == gpugrad.Size([])
    assert d.has_rsample and not gd.Categorical(t([0.5, 0.5])).has_rsample
    assert gd.Normal(0.0, 1.0).batch_shape == gpugrad.Size([])
    c = gd.Categorical(logits=t(np.zeros((2, 3, 4))))
    assert c.batch_shape == (2, 3) and c.event_shape == () and c.param_shape == (2, 3, 4)
    o = gd.OneHotCategorical(logits=t(np.zeros((2, 4))))
    assert o.batch_shape == (2,) and o.event_shape == (4,)
    assert o.sample((5,)).shape == (5, 2, 4)
    assert gd.Categorical.has_enumerate_support and gd.Bernoulli.has_enumerate_support


def test_repr_matches_torch():
    assert repr(gd.Normal(0.0, 1.0)) == repr(td.Normal(0.0, 1.0))
    assert repr(gd.Normal(t([0.0, 1.0]), 1.0)).replace("gpugrad", "torch") == repr(
        td.Normal(torch.tensor([0.0, 1.0]), 1.0))


def test_probs_xor_logits():
    for cls in (gd.Categorical, gd.Bernoulli, gd.OneHotCategorical):
        with pytest.raises(ValueError, match="Either `probs` or `logits`"):
            cls()
        with pytest.raises(ValueError, match="Either `probs` or `logits`"):
            cls(probs=t([0.5, 0.5]), logits=t([0.0, 0.0]))
    with pytest.raises(ValueError, match="at least one-dimensional"):
        gd.Categorical(probs=t(0.5))


@pytest.mark.parametrize("make", [
    lambda: gd.Normal(0.0, t([1.0, -1.0])),
    lambda: gd.Normal(t([0.0, float("nan")]), 1.0),
    lambda: gd.Exponential(t([0.0])),
    lambda: gd.Bernoulli(probs=t([1.5])),
    lambda: gd.Categorical(probs=t([-0.5, 1.5])),
    lambda: gd.Uniform(t([1.0]), t([0.0])),
    lambda: gd.Laplace(0.0, 0.0),
])
def test_invalid_parameters_raise(make):
    with pytest.raises(ValueError):
        make()


def test_invalid_values_raise():
    with pytest.raises(ValueError, match="support"):
        gd.Exponential(1.0).log_prob(t([-1.0]))
    with pytest.raises(ValueError, match="support"):
        gd.Categorical(probs=t([0.5, 0.5])).log_prob(gpugrad.tensor([2]))
    with pytest.raises(ValueError, match="support"):
        gd.Bernoulli(0.5).log_prob(t([0.5]))
    with pytest.raises(ValueError, match="support"):
        gd.OneHotCategorical(probs=t([0.5, 0.5])).log_prob(t([1.0, 1.0]))
    with pytest.raises(ValueError, match="must be a Tensor"):
        gd.Normal(0.0, 1.0).log_prob(1.0)
    with pytest.raises(ValueError, match="not broadcastable"):
        gd.Normal(t([0.0, 0.0]), 1.0).log_prob(t([0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="right-most size"):
        gd.OneHotCategorical(probs=t([0.5, 0.5])).log_prob(t([1.0, 0.0, 0.0]))


def test_validate_args_off():
    d = gd.Normal(0.0, -1.0, validate_args=False)  # no error
    assert np.isnan(d.log_prob(t(0.0)).item())
    gd.Exponential(1.0, validate_args=False).log_prob(t([-1.0]))
    gd.Distribution.set_default_validate_args(False)
    try:
        gd.Normal(0.0, -1.0)
        assert gd.Exponential(1.0).log_prob(t([-1.0])).item() == 1.0
        with pytest.raises(ValueError):
            gd.Normal(0.0, -1.0, validate_args=True)
    finally:
        gd.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        gd.Normal(0.0, -1.0)
    with pytest.raises(ValueError):
        gd.Distribution.set_default_validate_args(2)


def test_expand():
    d = gd.Normal(t([0.0, 1.0]), t([1.0, 2.0])).expand((3, 2))
    assert d.batch_shape == (3, 2) and d.sample((4,)).shape == (4, 3, 2)
    np.testing.assert_allclose(d.log_prob(t(0.5)).numpy()[2],
                               td.Normal(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 2.0]))
                               .log_prob(torch.tensor(0.5)).numpy())
    c = gd.Categorical(logits=t([0.0, 1.0, 2.0])).expand((5,))
    assert c.batch_shape == (5,) and c.sample().shape == (5,)
    o = gd.OneHotCategorical(logits=t([0.0, 1.0])).expand((3,))
    assert o.batch_shape == (3,) and o.event_shape == (2,)
    b = gd.Bernoulli(t([0.3])).expand((4,))
    assert b.sample().shape == (4,)
    with pytest.raises(RuntimeError):
        gd.Normal(t([0.0, 1.0]), 1.0).expand((3,))


def test_enumerate_support():
    c = gd.Categorical(logits=t(np.zeros((2, 3))))
    np.testing.assert_array_equal(c.enumerate_support().numpy(),
                                  td.Categorical(logits=torch.zeros(2, 3))
                                  .enumerate_support().numpy())
    assert c.enumerate_support(expand=False).shape == (3, 1)
    b = gd.Bernoulli(t([0.2, 0.3]))
    assert b.enumerate_support().shape == (2, 2) and b.enumerate_support().dtype == gpugrad.float64
    o = gd.OneHotCategorical(logits=t(np.zeros((2, 3))))
    np.testing.assert_array_equal(o.enumerate_support().numpy(),
                                  td.OneHotCategorical(logits=torch.zeros(2, 3))
                                  .enumerate_support().numpy())


def test_lazy_parameters():
    d = gd.Categorical(probs=t([0.2, 0.8]))
    assert "logits" not in d.__dict__
    np.testing.assert_allclose(d.logits.numpy(), np.log([0.2, 0.8]))
    logits = t([0.0, 1.0]).requires_grad_()
    d = gd.Categorical(logits=logits)
    d.probs[1].backward()
    assert logits.grad is not None


def test_constraints():
    assert bool(constraints.positive.check(t(1.0)))
    assert not bool(constraints.positive.check(t(0.0)))
    assert bool(constraints.nonnegative.check(t(0.0)))
    assert constraints.simplex.check(t([[0.5, 0.5], [0.9, 0.3]])).tolist() == [True, False]
    assert constraints.real_vector.check(t([[1.0, float("nan")], [0.0, 1.0]])).tolist() == [
        False, True]
    assert constraints.integer_interval(0, 2).check(t([0.0, 2.0, 3.0, 0.5])).tolist() == [
        True, True, False, False]
    assert constraints.one_hot.event_dim == 1 and constraints.boolean.is_discrete
    assert repr(constraints.positive) == repr(torch.distributions.constraints.positive)
    assert repr(constraints.real) == repr(torch.distributions.constraints.real)
    assert repr(constraints.interval(0.0, 1.0)) == repr(
        torch.distributions.constraints.interval(0.0, 1.0))
    assert constraints.is_dependent(gd.Uniform.arg_constraints["low"])
    assert isinstance(gd.Uniform(0.0, 1.0).support, type(constraints.interval(0.0, 1.0)))
    with pytest.raises(ValueError):
        constraints.dependent.check(t(1.0))
    assert constraints.lower_cholesky.check(t([[1.0, 0.0], [2.0, 1.0]])).item()
    assert not constraints.lower_cholesky.check(t([[1.0, 1.0], [2.0, 1.0]])).item()
    assert constraints.positive_definite.check(t([[2.0, 1.0], [1.0, 2.0]])).item()
    assert not constraints.positive_definite.check(t([[1.0, 2.0], [2.0, 1.0]])).item()
