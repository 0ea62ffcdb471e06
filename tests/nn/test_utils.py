"""``nn.utils``: gradient clipping and parameter vectors against ``torch.nn.utils``."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gpugrad


def _pair_with_grads(scale: float, dtype=np.float32, seed=0):
    """Three parameters per library with the same gradients (one without a gradient)."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    values = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [rng.standard_normal(s).astype(dtype) * scale for s in shapes[:2]]
    ours = [gpugrad.nn.Parameter(gpugrad.tensor(v)) for v in values]
    theirs = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    for p, q, g in zip(ours, theirs, grads):
        p.grad, q.grad = gpugrad.tensor(g), torch.tensor(g)
    return ours, theirs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, math.inf, "inf"])
@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_grad_norm_matches_torch(scale, norm_type, dtype):
    ours, theirs = _pair_with_grads(scale, dtype)
    total = gpugrad.nn.utils.clip_grad_norm_(iter(ours), max_norm=1.5, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(iter(theirs), max_norm=1.5, norm_type=norm_type)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    assert total.shape == () and str(total.dtype).split(".")[1] == str(expected.dtype).split(".")[1]
    np.testing.assert_allclose(total.item(), expected.item(), rtol=tol)
    for p, q in zip(ours, theirs):
        if q.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_clip_grad_norm_of_mixed_dtypes_and_empty_gradients_matches_torch(norm_type):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5),
              np.zeros((0, 2), np.float32), rng.standard_normal(2).astype(np.float32) * 4]
    results = []
    for m in (gpugrad, torch):
        params = [m.nn.Parameter(m.tensor(a)) for a in arrays]
        for p, a in zip(params, arrays):
            p.grad = m.tensor(a * 3)
        try:
            total = m.nn.utils.clip_grad_norm_(params, max_norm=1.0, norm_type=norm_type)
        except RuntimeError as e:
            results.append(str(e).split(":")[0][:40])
            continue
        results.append((str(total.dtype).split(".")[1], round(total.item(), 5),
                        [np.round(p.grad.numpy(), 5).tolist() for p in params]))
    assert results[0] == results[1]


def test_clip_grad_norm_edge_cases():
    # One tensor instead of an iterable; nothing to clip gives 0.
    p = gpugrad.nn.Parameter(gpugrad.ones(4))
    assert gpugrad.nn.utils.clip_grad_norm_(p, 1.0).item() == 0.0
    p.grad = gpugrad.full((4,), 3.0)
    assert gpugrad.nn.utils.clip_grad_norm_(p, 1.0).item() == pytest.approx(6.0)
    np.testing.assert_allclose(p.grad.numpy(), 0.5, rtol=1e-5)
    # A non-finite norm raises only when asked, and leaves the gradient alone then.
    p.grad = gpugrad.tensor([1.0, math.inf, 0.0, 0.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        gpugrad.nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert p.grad.tolist() == [1.0, math.inf, 0.0, 0.0]
    assert math.isinf(gpugrad.nn.utils.clip_grad_norm_(p, 1.0).item())


def test_clip_grad_value_matches_torch():
    ours, theirs = _pair_with_grads(3.0)
    assert gpugrad.nn.utils.clip_grad_value_(ours, 0.5) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.5)
    for p, q in zip(ours[:2], theirs[:2]):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_clipping_inside_a_training_step_is_not_recorded():
    model = gpugrad.nn.Linear(3, 2)
    loss = model(gpugrad.randn(5, 3)).pow(2).sum()
    loss.backward()
    total = gpugrad.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
    assert total.grad_fn is None and not total.requires_grad
    assert model.weight.grad.grad_fn is None


def test_parameters_to_vector_and_back_match_torch():
    ours, theirs = _pair_with_grads(1.0)
    vec = gpugrad.nn.utils.parameters_to_vector(ours)
    expected = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(vec.detach().numpy(), expected.detach().numpy())
    vec.sum().backward()  # differentiable, as in PyTorch
    assert all(p.grad is not None for p in ours)
    new = gpugrad.arange(vec.numel(), dtype=gpugrad.float32)
    gpugrad.nn.utils.vector_to_parameters(new, ours)
    torch.nn.utils.vector_to_parameters(torch.arange(expected.numel(), dtype=torch.float32),
                                        theirs)
    for p, q in zip(ours, theirs):
        assert p.shape == q.shape
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    for lib, params in ((gpugrad, ours), (torch, theirs)):  # as PyTorch: too short fails,
        with pytest.raises(RuntimeError, match="is invalid for input of size 5"):
            lib.nn.utils.vector_to_parameters(lib.zeros(5), params)
        with pytest.raises(TypeError, match="expected torch.Tensor"):
            lib.nn.utils.vector_to_parameters([1.0], params)
        lib.nn.utils.vector_to_parameters(lib.ones(30), params)  # longer: the rest unread
        assert all(bool((p == 1).all()) for p in params)
