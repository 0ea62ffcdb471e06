"""The fused losses (ops/losses.py, ops/cross_entropy.py) hand their forward's gradient buffer
on: no copy into ``.grad``, no scaling after ``loss.backward()``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


@pytest.mark.parametrize("name,primitive,target", [
    ("cross_entropy", "cross_entropy", lambda: gpugrad.tensor([0, 1, 2, 1])),
    ("mse_loss", "mse", lambda: gpugrad.randn(4, 3)),
    # (a float64 target: PyTorch gives this loss its target's dtype)
    ("binary_cross_entropy_with_logits", "bce_with_logits",
     lambda: gpugrad.rand(4, 3, dtype=gpugrad.float64)),
])
@pytest.mark.parametrize("grad_output", [None, 1.0, 2.5])
def test_loss_hands_its_fused_gradient_on(monkeypatch, name, primitive, target, grad_output):
    """The gradient buffer the forward computed becomes ``.grad`` itself (no copy); after
    ``loss.backward()`` (the engine's all-ones seed) it is not scaled at all, and with a given
    upstream gradient, even 1, it is scaled once. Values are PyTorch's either way."""
    from gpugrad.backend import cpu_backend

    backend_type = type(cpu_backend())
    buffers, scaled = [], []
    original, original_scale = getattr(backend_type, primitive), backend_type.scale_loss_grad

    def spy(self, *args):
        loss, grad = original(self, *args)
        buffers.append(grad)
        return loss, grad

    def scale_spy(self, grad_input, grad_output):
        scaled.append(grad_output)
        return original_scale(self, grad_input, grad_output)

    monkeypatch.setattr(backend_type, primitive, spy)
    monkeypatch.setattr(backend_type, "scale_loss_grad", scale_spy)
    x_np = np.random.default_rng(3).standard_normal((4, 3))
    t = target()
    x = gpugrad.tensor(x_np, requires_grad=True)
    loss = getattr(gpugrad.nn.functional, name)(x, t)
    loss.backward(None if grad_output is None else gpugrad.tensor(grad_output,
                                                                   dtype=gpugrad.float64))
    assert x.grad._data is buffers[0]
    assert len(scaled) == (0 if grad_output is None else 1)
    tx = torch.tensor(x_np, requires_grad=True)
    tt = torch.from_numpy(t.numpy().copy())
    t_loss = getattr(torch.nn.functional, name)(tx, tt)
    t_loss.backward(None if grad_output is None else torch.tensor(grad_output, dtype=torch.float64))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_unit_seed_is_recognized_by_identity_only():
    """A backward that passes the seed on unchanged (sum of a 0-d loss) still hands the buffer
    on; a hook on the loss may rewrite its gradient, so the seed is then not trusted."""
    x = gpugrad.randn(4, 3, requires_grad=True)
    t = gpugrad.tensor([0, 1, 2, 1])
    gpugrad.nn.functional.cross_entropy(x, t).sum().backward()
    expected = x.grad.numpy().copy()
    x.grad = None
    loss = gpugrad.nn.functional.cross_entropy(x, t)
    loss.register_hook(lambda g: g.mul_(3))
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * expected, rtol=1e-6)
