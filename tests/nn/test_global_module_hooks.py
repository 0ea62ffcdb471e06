"""``nn.modules.module.register_module_forward_pre_hook`` / ``register_module_forward_hook``
(global hooks on every module) against PyTorch's: call order, replaced args and outputs,
with_kwargs, always_call, removal."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


def _linear(nn, tensor):
    """A Linear(3, 2) with the same weights in either library."""
    lin = nn.Linear(3, 2)
    with (torch.no_grad() if nn is torch.nn else gpugrad.no_grad()):
        lin.weight.copy_(tensor(np.arange(6.0).reshape(2, 3) / 10))
        lin.bias.copy_(tensor([0.5, -0.5]))
    return lin


def _run(nn, tensor, mod):
    calls = []
    model = nn.Sequential(_linear(nn, tensor), nn.ReLU())
    model[0].register_forward_hook(lambda m, a, o: calls.append(("own", type(m).__name__)))
    pre = mod.register_module_forward_pre_hook(
        lambda m, a: calls.append(("pre", type(m).__name__)) or (
            (a[0] * 2,) if isinstance(m, nn.Linear) else None))
    post = mod.register_module_forward_hook(
        lambda m, a, kw, o: calls.append(("post", type(m).__name__, sorted(kw))) or (
            o + 1 if isinstance(m, nn.ReLU) else None), with_kwargs=True)
    out = model(tensor([[1.0, -2.0, 3.0]]))
    pre.remove()
    post.remove()
    calls.append("removed")
    out2 = model(tensor([[1.0, -2.0, 3.0]]))
    return calls, out.detach().numpy(), out2.detach().numpy()


def test_global_forward_hooks_match_torch():
    theirs = _run(torch.nn, lambda v: torch.tensor(v, dtype=torch.float32),
                  torch.nn.modules.module)
    ours = _run(gpugrad.nn, lambda v: gpugrad.tensor(v, dtype=gpugrad.float32),
                gpugrad.nn.modules.module)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


def test_always_call_global_hook_runs_when_forward_raises():
    for nn, mod in ((torch.nn, torch.nn.modules.module),
                    (gpugrad.nn, gpugrad.nn.modules.module)):
        seen = []
        h = mod.register_module_forward_hook(lambda m, a, o, _s=seen: _s.append(o),
                                             always_call=True)
        try:
            with pytest.raises(RuntimeError):
                nn.Linear(3, 2)((torch if nn is torch.nn else gpugrad).ones(2, 4))
        finally:
            h.remove()
        assert seen == [None], nn


def _run_backward(nn, tensor, mod):
    calls = []
    model = nn.Sequential(_linear(nn, tensor), nn.Tanh())
    model[0].register_full_backward_hook(
        lambda m, gi, go: calls.append(("own", type(m).__name__)))
    pre = mod.register_module_full_backward_pre_hook(
        lambda m, go: calls.append(("pre", type(m).__name__)) or (
            (go[0] * 2,) if isinstance(m, nn.Tanh) else None))
    post = mod.register_module_full_backward_hook(
        lambda m, gi, go: calls.append(("post", type(m).__name__, [g is None for g in gi])))
    x = tensor([[1.0, -2.0, 3.0]]).requires_grad_()
    model(x).sum().backward()
    first = x.grad.numpy().copy()
    pre.remove()
    post.remove()
    calls.append("removed")
    x.grad = None
    model(x).sum().backward()
    return calls, first, x.grad.numpy()


def test_global_full_backward_hooks_match_torch():
    ours = _run_backward(gpugrad.nn, gpugrad.tensor, gpugrad.nn.modules.module)
    theirs = _run_backward(torch.nn, torch.tensor, torch.nn.modules.module)
    assert ours[0] == theirs[0]
    for a, b in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
