"""``nn.Bilinear`` against PyTorch's (outputs and gradients in float64 and float32, repr,
init); ``F.gumbel_softmax``: its samples' structure and statistics (the random streams differ
from PyTorch's) and the straight-through gradient of ``hard=True``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.nn import functional as F


@pytest.mark.parametrize("dtype,atol", [("float64", 1e-12), ("float32", 1e-5)])
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_module_matches_torch(dtype, atol, bias):
    torch.manual_seed(0)
    theirs = torch.nn.Bilinear(3, 4, 5, bias=bias).to(getattr(torch, dtype))
    ours = gpugrad.nn.Bilinear(3, 4, 5, bias=bias).to(getattr(gpugrad, dtype))
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict({k: gpugrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(1)
    x1, x2 = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 4))
    g1, g2 = (gpugrad.tensor(a, dtype=getattr(gpugrad, dtype), requires_grad=True)
              for a in (x1, x2))
    t1, t2 = (torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True)
              for a in (x1, x2))
    out_g, out_t = ours(g1, g2), theirs(t1, t2)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=atol)
    (out_g ** 2).sum().backward()
    (out_t ** 2).sum().backward()
    for a, b in ((g1, t1), (g2, t2), *zip(ours.parameters(), theirs.parameters())):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol * 10,
                                   rtol=1e-5)


def test_bilinear_init():
    layer = gpugrad.nn.Bilinear(16, 3, 40)
    bound = 1 / math.sqrt(16)
    for p in (layer.weight, layer.bias):
        values = p.detach().numpy()
        assert np.abs(values).max() <= bound and np.abs(values).max() > 0.8 * bound


def test_gumbel_softmax_soft_samples():
    gpugrad.manual_seed(0)
    logits = gpugrad.tensor(np.log([0.1, 0.2, 0.7]))
    samples = F.gumbel_softmax(logits.expand(20000, 3), tau=0.5).numpy()
    np.testing.assert_allclose(samples.sum(1), 1.0, atol=1e-12)
    assert np.all(samples > 0)
    # argmax of logits + Gumbel noise is a sample of softmax(logits) (the Gumbel-max trick)
    freq = np.bincount(samples.argmax(1), minlength=3) / len(samples)
    np.testing.assert_allclose(freq, [0.1, 0.2, 0.7], atol=0.015)
    # a small temperature gives nearly one-hot samples, a large one nearly uniform
    cold = F.gumbel_softmax(logits.expand(2000, 3), tau=0.01).numpy()
    assert np.mean(cold.max(1) > 0.99) > 0.95
    hot = F.gumbel_softmax(logits.expand(2000, 3), tau=100.0).numpy()
    np.testing.assert_allclose(hot, 1 / 3, atol=0.05)


def test_gumbel_softmax_hard_straight_through():
    gpugrad.manual_seed(1)
    logits = gpugrad.tensor(np.random.default_rng(0).standard_normal((4, 5, 3)),
                            requires_grad=True)
    y = F.gumbel_softmax(logits, tau=0.7, hard=True, dim=1)
    values = y.detach().numpy()
    assert set(np.unique(values)) == {0.0, 1.0}
    np.testing.assert_array_equal(values.sum(1), 1.0)
    weights = gpugrad.tensor(np.random.default_rng(1).standard_normal((4, 5, 3)))
    (y * weights).sum().backward()
    # the gradient is the soft sample's: the Jacobian of softmax(z / tau) at the same z,
    # rebuilt from the soft values, which y - y.detach() carries through.
    assert logits.grad is not None and np.abs(logits.grad.numpy()).sum() > 0
    np.testing.assert_allclose(logits.grad.numpy().sum(1), 0.0, atol=1e-12)  # softmax's rows


def test_gumbel_softmax_gradient_is_the_soft_samples():
    gpugrad.manual_seed(5)
    logits = gpugrad.tensor(np.random.default_rng(2).standard_normal((3, 4)), requires_grad=True)
    gpugrad.manual_seed(7)
    hard = F.gumbel_softmax(logits, tau=0.5, hard=True)
    w = gpugrad.tensor(np.random.default_rng(3).standard_normal((3, 4)))
    (hard * w).sum().backward()
    grad_hard = logits.grad.numpy().copy()
    logits.grad = None
    gpugrad.manual_seed(7)  # the same noise
    soft = F.gumbel_softmax(logits, tau=0.5)
    (soft * w).sum().backward()
    np.testing.assert_allclose(grad_hard, logits.grad.numpy(), atol=1e-12)
    np.testing.assert_array_equal(hard.detach().numpy().argmax(1), soft.detach().numpy().argmax(1))
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated"):
        F.gumbel_softmax(logits, eps=1e-3)
    with pytest.raises(TypeError, match="must be Tensor"):
        F.gumbel_softmax([1.0, 2.0])
