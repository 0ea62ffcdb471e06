"""``GradScaler`` step by step against PyTorch's (device "cpu") on the same gradients: the scaled
loss, the unscaled gradients, skipped steps, the scale's growth and backoff, the state dict."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


def _loop(m, steps, bad_steps, weight, data, **scaler_kw):
    """A linear model trained with a scaler; at ``bad_steps`` one gradient holds inf or nan."""
    w = m.tensor(weight, requires_grad=True)
    opt = m.optim.SGD([w], lr=0.1, momentum=0.9)
    scaler = m.amp.GradScaler("cpu", **scaler_kw)
    trace = []
    for step in range(steps):
        opt.zero_grad()
        x = m.tensor(data[step % len(data)])
        loss = ((x @ w) ** 2).mean()
        scaled = scaler.scale(loss)
        scaled.backward()
        if step in bad_steps:
            with m.no_grad():
                w.grad[0, 0] = bad_steps[step]
        scaler.unscale_(opt)
        grad = w.grad.detach().numpy().copy()
        scaler.step(opt)
        scaler.update()
        trace.append((scaled.item(), grad, w.detach().numpy().copy(), scaler.get_scale(),
                      scaler._get_growth_tracker()))
    return trace, scaler


def test_matches_torch_step_by_step():
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((5, 3)).astype(np.float32)
    data = [rng.standard_normal((4, 5)).astype(np.float32) for _ in range(3)]
    bad = {2: float("inf"), 6: float("nan"), 7: float("-inf")}
    kw = {"init_scale": 2.0**10, "growth_interval": 3, "growth_factor": 4.0,
          "backoff_factor": 0.25}
    ours, g_scaler = _loop(gpugrad, 14, bad, weight, data, **kw)
    theirs, t_scaler = _loop(torch, 14, bad, weight, data, **kw)
    for step, (g, t) in enumerate(zip(ours, theirs)):
        assert g[0] == pytest.approx(t[0], rel=1e-6), step
        np.testing.assert_allclose(g[1], t[1], rtol=1e-5, atol=1e-6,
                                   err_msg=f"unscaled grad {step}")
        np.testing.assert_allclose(g[2], t[2], rtol=1e-5, atol=1e-6, err_msg=f"weights {step}")
        assert g[3:] == t[3:], step  # scale and growth tracker
    assert g_scaler.state_dict() == t_scaler.state_dict()


def test_state_dict_round_trip_and_disabled_scaler():
    scaler = gpugrad.amp.GradScaler("cpu", init_scale=8.0, growth_interval=5)
    state = {"scale": 32.0, "growth_factor": 3.0, "backoff_factor": 0.125,
             "growth_interval": 7, "_growth_tracker": 2}
    scaler.load_state_dict(state)
    assert scaler.state_dict() == state and scaler.get_scale() == 32.0
    loss = gpugrad.tensor(2.0, requires_grad=True)
    assert scaler.scale(loss).item() == 64.0
    assert [t.item() for t in scaler.scale([loss, loss])] == [64.0, 64.0]
    off = gpugrad.amp.GradScaler("cpu", enabled=False)
    assert not off.is_enabled() and off.scale(loss) is loss and off.state_dict() == {}
    assert off.get_scale() == 1.0
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        scaler.load_state_dict({})
    if not gpugrad.cuda.is_available():
        with pytest.warns(UserWarning, match="CUDA is not available"):
            assert not gpugrad.amp.GradScaler().is_enabled()


def test_misuse_raises_as_torch():
    w = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    opt = gpugrad.optim.SGD([w], lr=0.1)
    scaler = gpugrad.amp.GradScaler("cpu")
    with pytest.raises(AssertionError, match="_scale is None"):
        scaler.step(opt)
    scaler.scale((w * w).sum()).backward()
    scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="unscale_\\(\\) is being called after step"):
        scaler.unscale_(opt)
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: 0)
    scaler.update(16.0)
    assert scaler.get_scale() == 16.0
    half = gpugrad.tensor([1.0], dtype=gpugrad.float16, requires_grad=True)
    half_opt = gpugrad.optim.SGD([half], lr=0.1)
    scaler.scale(half.sum()).backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients"):
        scaler.unscale_(half_opt)
    with pytest.raises(AssertionError, match="growth factor must be > 1.0"):
        gpugrad.amp.GradScaler("cpu", growth_factor=1.0)
