"""Gradients of piecewise-linear activations taken with ``create_graph=True`` stay functions of
the input, as PyTorch's backward ops make them: they require grad, carry PyTorch's node, and
differentiating them again sends zeros (not nothing) to the input. A WGAN-GP critic's hidden
biases reach the gradient penalty only this way."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

ACTIVATIONS = {
    "relu": lambda m, x: m.nn.functional.relu(x),
    "relu_method": lambda m, x: x.relu(),
    "relu_module_inplace": lambda m, x: m.nn.ReLU(inplace=True)(x * 1.0),
    "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x, 0.2),
    "leaky_relu_module": lambda m, x: m.nn.LeakyReLU(0.1)(x),
    "hardtanh": lambda m, x: m.nn.functional.hardtanh(x, -0.7, 0.7),
    "relu6": lambda m, x: m.nn.functional.relu6(x),
    "relu6_inplace": lambda m, x: m.nn.functional.relu6(x * 1.0, inplace=True),
}
VALUES = [0.5, -1.0, 7.0, float("nan"), 0.7, 0.0, -0.7]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_gradient_taken_with_create_graph_depends_on_the_input_as_torch(name, dtype):
    results = []
    for m in (gpugrad, torch):
        x = m.tensor(VALUES, dtype=getattr(m, dtype), requires_grad=True)
        w = m.tensor(np.linspace(0.5, 2.0, len(VALUES)), dtype=getattr(m, dtype),
                     requires_grad=True)
        out = ACTIVATIONS[name](m, x)
        (g,) = m.autograd.grad((out * w).sum(), x, create_graph=True)
        (g * g).sum().backward()
        results.append((type(out.grad_fn).__name__, g.requires_grad, g.detach().numpy(),
                        x.grad.numpy(), w.grad.numpy()))
    ours, theirs = results
    assert ours[:2] == theirs[:2] and ours[1] is True
    for a, b in zip(ours[2:], theirs[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-6, equal_nan=True)
    assert not ours[3].any()  # zeros, not None, reach the input


def test_wgan_style_penalty_gives_zero_gradients_to_the_hidden_biases_as_torch():
    grads = []
    for m in (gpugrad, torch):
        m.manual_seed(0)
        critic = m.nn.Sequential(m.nn.Linear(2, 4), m.nn.LeakyReLU(0.2), m.nn.Linear(4, 1))
        x = m.tensor([[0.3, -0.2], [1.0, 0.5]], requires_grad=True)
        (g,) = m.autograd.grad(critic(x).sum(), x, create_graph=True)
        ((g.norm(2, dim=1) - 1) ** 2).mean().backward()
        grads.append({n: None if p.grad is None else p.grad.abs().sum().item()
                      for n, p in critic.named_parameters()})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[1]:
        assert (grads[0][name] is None) == (grads[1][name] is None), name
    assert grads[0]["0.bias"] == 0.0 and grads[0]["2.bias"] is None
