"""BatchNorm1d/2d/3d and ``F.batch_norm`` against PyTorch: outputs, gradients, running
statistics over several training steps, evaluation mode, options, errors; float64 gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_oracle import as_oracle_prints, norm_module

import gpugrad

CASES = [("BatchNorm1d", (8, 3)), ("BatchNorm1d", (6, 3, 5)), ("BatchNorm2d", (4, 3, 5, 2)),
         ("BatchNorm3d", (2, 3, 2, 2, 3))]


def _pair(name, shape, **kw):
    ours = getattr(gpugrad.nn, name)(shape[1], **kw)
    theirs = norm_module(getattr(torch.nn, name), shape[1], **kw)
    rng = np.random.default_rng(1)  # distinct affine parameters, the same in both
    for name in ("weight", "bias"):
        if getattr(ours, name) is not None:
            v = rng.uniform(0.5, 1.5, shape[1]).astype(np.float32)
            getattr(ours, name).data = gpugrad.tensor(v)
            getattr(theirs, name).data = torch.tensor(v)
    return ours, theirs


def _step(module, lib, x, seed):
    xt = lib.tensor(x, requires_grad=True)
    out = module(xt)
    upstream = np.random.default_rng(seed).standard_normal(out.shape).astype(np.float32)
    (out * lib.tensor(upstream)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
@pytest.mark.parametrize("name,shape", CASES)
def test_training_steps_then_eval_match_torch(name, shape, momentum):
    ours, theirs = _pair(name, shape, momentum=momentum)
    rng = np.random.default_rng(0)
    for step in range(3):
        x = (rng.standard_normal(shape) * 2 + step).astype(np.float32)
        for a, b in zip(_step(ours, gpugrad, x, step), _step(theirs, torch, x, step)):
            _close(a, b)
        _close(ours.running_mean.numpy(), theirs.running_mean.numpy())
        _close(ours.running_var.numpy(), theirs.running_var.numpy())
        assert ours.num_batches_tracked.item() == theirs.num_batches_tracked.item() == step + 1
    for p, q in zip(ours.parameters(), theirs.parameters()):
        _close(p.grad.numpy(), q.grad.numpy())
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    for a, b in zip(_step(ours, gpugrad, x, 9), _step(theirs, torch, x, 9)):
        _close(a, b)


@pytest.mark.parametrize("kw", [{"affine": False}, {"track_running_stats": False},
                                {"bias": False}])
def test_options_match_torch(kw):
    ours, theirs = _pair("BatchNorm1d", (8, 3), **kw)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert as_oracle_prints(repr(ours)) == repr(theirs)
    x = np.random.default_rng(2).standard_normal((8, 3)).astype(np.float32)
    for mode in ("train", "eval"):
        getattr(ours, mode)(), getattr(theirs, mode)()
        for a, b in zip(_step(ours, gpugrad, x, 3), _step(theirs, torch, x, 3)):
            _close(a, b)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        _close(p.grad.numpy(), q.grad.numpy())


def test_state_dict_round_trip_and_reset():
    ours, _ = _pair("BatchNorm2d", (4, 3, 2, 2))
    ours(gpugrad.randn(4, 3, 2, 2))
    copy = gpugrad.nn.BatchNorm2d(3)
    copy.load_state_dict(ours.state_dict())
    np.testing.assert_array_equal(copy.running_var.numpy(), ours.running_var.numpy())
    assert copy.num_batches_tracked.dtype == gpugrad.int64
    ours.reset_running_stats()
    assert ours.running_mean.tolist() == [0.0] * 3 and ours.running_var.tolist() == [1.0] * 3
    assert ours.num_batches_tracked.item() == 0


def test_errors_match_torch():
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        gpugrad.nn.BatchNorm1d(3)(gpugrad.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="expected 4D input"):
        gpugrad.nn.BatchNorm2d(3)(gpugrad.randn(2, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        gpugrad.nn.BatchNorm1d(3)(gpugrad.randn(1, 3))
    # the size as PyTorch prints it: its Size type, not a list
    with pytest.raises(ValueError) as theirs:
        torch.nn.BatchNorm1d(3)(torch.randn(1, 3, 1))
    with pytest.raises(ValueError) as ours:
        gpugrad.nn.BatchNorm1d(3)(gpugrad.randn(1, 3, 1))
    assert str(ours.value) == str(theirs.value).replace("torch.", "gpugrad.")
    with pytest.raises(RuntimeError, match="running_mean should contain 4 elements not 3"):
        gpugrad.nn.BatchNorm1d(3)(gpugrad.randn(5, 4))
    bn = gpugrad.nn.BatchNorm1d(3).eval()
    assert bn(gpugrad.randn(1, 3)).shape == (1, 3)  # one sample is fine outside training


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck_float64(training):
    rng = np.random.default_rng(4)
    x = gpugrad.tensor(rng.standard_normal((5, 3, 2)), requires_grad=True)
    w = gpugrad.tensor(rng.uniform(0.5, 1.5, 3), requires_grad=True)
    b = gpugrad.tensor(rng.standard_normal(3), requires_grad=True)
    mean, var = gpugrad.tensor(rng.standard_normal(3)), gpugrad.tensor(rng.uniform(0.5, 2, 3))

    def fn(x, w, b):
        return gpugrad.nn.functional.batch_norm(x, mean.clone(), var.clone(), w, b,
                                                training=training)

    assert gpugrad.autograd.gradcheck(fn, (x, w, b))
    assert gpugrad.autograd.gradgradcheck(fn, (x, w, b))
