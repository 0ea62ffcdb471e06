"""``utils.checkpoint``: the same values and gradients as running the segment plainly (and as
PyTorch's checkpoint), with the segment's intermediate results freed after its forward."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

import gpugrad


def _model(m, seed=0):
    m.manual_seed(seed)
    rng = np.random.default_rng(seed)
    nn = m.nn
    net = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))
    with m.no_grad():
        for p in net.parameters():
            p.copy_(m.tensor(rng.standard_normal(tuple(p.shape)) * 0.5, dtype=p.dtype))
    return net


X = np.random.default_rng(1).standard_normal((5, 4))


def _grads(m, use_reentrant, how):
    net = _model(m)
    x = m.tensor(X, dtype=m.float32, requires_grad=True)
    ckpt = m.utils.checkpoint
    if how == "plain":
        out = net(x)
    elif how == "module":
        out = ckpt.checkpoint(net, x, use_reentrant=use_reentrant)
    elif how == "closure":
        def body(h):
            return net[2](net[1](net[0](h)))
        out = net[4](net[3](ckpt.checkpoint(body, x, use_reentrant=use_reentrant)))
    else:
        out = ckpt.checkpoint_sequential(net, 2, x, use_reentrant=use_reentrant)
    (out ** 2).sum().backward()
    return [out.detach().numpy(), x.grad.numpy()] + [p.grad.numpy() for p in net.parameters()]


@pytest.mark.parametrize("use_reentrant", [True, False])
@pytest.mark.parametrize("how", ["module", "closure", "sequential"])
def test_gradients_equal_the_plain_run_and_pytorch(use_reentrant, how):
    plain = _grads(gpugrad, use_reentrant, "plain")
    ours = _grads(gpugrad, use_reentrant, how)
    theirs = _grads(torch, use_reentrant, how)
    for a, b, c in zip(ours, plain, theirs):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-6)


def test_intermediate_results_are_freed_after_the_forward():
    kept = []

    def segment(h):
        inner = (h * 2).exp()
        kept.append(weakref.ref(inner))
        return inner.sum(dim=1)

    x = gpugrad.randn(3, 4, requires_grad=True)
    out = gpugrad.utils.checkpoint.checkpoint(segment, x, use_reentrant=False)
    gc.collect()
    assert kept[0]() is None  # the graph was dropped: nothing holds the intermediate
    assert type(out.grad_fn).__name__ == "CheckpointFunctionBackward"
    out.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), (2 * (x.detach() * 2).exp()).numpy(), rtol=1e-6)


def test_non_reentrant_reaches_parameters_without_input_grad_and_works_with_grad():
    for m in (gpugrad, torch):
        lin = m.nn.Linear(3, 2)
        x = m.randn(4, 3)
        out = m.utils.checkpoint.checkpoint(lin, x, use_reentrant=False)
        assert out.requires_grad
        (gw,) = m.autograd.grad(out.sum(), [lin.weight])
        np.testing.assert_allclose(gw.numpy(), x.sum(0).expand(2, 3).numpy(), rtol=1e-6)


def test_reentrant_without_input_grad_warns_and_gives_no_graph():
    for m in (gpugrad, torch):
        lin = m.nn.Linear(3, 2)
        with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
            out = m.utils.checkpoint.checkpoint(lin, m.randn(4, 3), use_reentrant=True)
        assert not out.requires_grad


def test_dropout_draws_the_same_mask_when_recomputed():
    gpugrad.manual_seed(3)
    x = gpugrad.randn(50, requires_grad=True)

    def segment(h):
        return gpugrad.nn.functional.dropout(h, 0.5, training=True) * 3

    out = gpugrad.utils.checkpoint.checkpoint(segment, x, use_reentrant=False)
    after = gpugrad.rand(3)  # the caller's stream continues as if the segment ran once
    out.sum().backward()
    mask = out.detach() != 0
    np.testing.assert_array_equal(x.grad.numpy(), np.where(mask.numpy(), 6.0, 0.0))
    gpugrad.manual_seed(3)
    gpugrad.randn(50)
    gpugrad.nn.functional.dropout(gpugrad.ones(50), 0.5, training=True)
    assert gpugrad.rand(3).tolist() == after.tolist()


def test_double_backward_through_a_checkpoint():
    def run(m):
        x = m.tensor([0.3, -0.7, 1.1], dtype=m.float64, requires_grad=True)
        y = m.utils.checkpoint.checkpoint(lambda h: (h ** 3).sin(), x, use_reentrant=False)
        (g,) = m.autograd.grad(y.sum(), x, create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), x)
        return g.detach().numpy(), gg.numpy()
    for a, b in zip(run(gpugrad), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_kwargs_and_argument_errors_as_pytorch():
    for m in (gpugrad, torch):
        ckpt = m.utils.checkpoint.checkpoint
        x = m.randn(2, 3, requires_grad=True)
        out = ckpt(lambda a, b=1: a * b, x, b=3, use_reentrant=False)
        assert out.shape == (2, 3)
        with pytest.raises(ValueError, match="Unexpected keyword arguments: b"):
            ckpt(lambda a, b=1: a * b, x, b=3, use_reentrant=True)
        with pytest.raises(ValueError, match="determinism_check should be one of"):
            ckpt(lambda a: a, x, use_reentrant=False, determinism_check="bogus")
        with pytest.warns(UserWarning, match="use_reentrant parameter should be passed"):
            ckpt(lambda a: a * 2, x)


def test_a_segment_reaching_an_outside_intermediate_keeps_its_graph():
    x = gpugrad.randn(3, requires_grad=True)
    hidden = x.exp()  # made outside the segment, not an argument

    out = gpugrad.utils.checkpoint.checkpoint(lambda h: h * hidden, x, use_reentrant=False)
    out.sum().backward()
    expected = (hidden + x * hidden).detach()
    np.testing.assert_allclose(x.grad.numpy(), expected.numpy(), rtol=1e-6)
