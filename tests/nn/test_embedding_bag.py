"""``nn.EmbeddingBag``/``F.embedding_bag`` against PyTorch's with the same weight: every mode,
offsets and 2-D input, per-sample weights, padding, ``include_last_offset``, ``max_norm``,
``scale_grad_by_freq``, float32, empty bags; the module's repr, init and ``from_pretrained``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

INDICES = np.array([1, 2, 2, 4, 0, 5, 2, 3, 3, 1], dtype=np.int64)
OFFSETS = np.array([0, 3, 3, 5, 10], dtype=np.int64)  # bags of 3, 0, 2, 5 and 0


def _pair(*args, dtype=np.float64, **kwargs):
    theirs = torch.nn.EmbeddingBag(*args, **kwargs).to(getattr(torch, np.dtype(dtype).name))
    ours = gpugrad.nn.EmbeddingBag(*args, **kwargs).to(getattr(gpugrad, np.dtype(dtype).name))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]
    ours.load_state_dict({"weight": gpugrad.tensor(theirs.weight.detach().numpy())})
    return ours, theirs


def _run(ours, theirs, *arrays, atol=1e-12, psw=None):
    def call(lib, module):
        args = [None if a is None else lib.tensor(a) for a in arrays]
        weights = None if psw is None else lib.tensor(psw, requires_grad=True)
        out = module(*args, per_sample_weights=weights)
        up = np.random.default_rng(2).standard_normal(tuple(out.shape))
        (out * lib.tensor(up).to(out.dtype)).sum().backward()
        return out.detach().numpy(), module.weight.grad.numpy(), \
            None if weights is None else weights.grad.numpy()

    for g, t in zip(call(gpugrad, ours), call(torch, theirs)):
        if t is None:
            assert g is None
        else:
            np.testing.assert_allclose(g, t, atol=atol, rtol=1e-5 if atol > 1e-8 else 1e-7)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
@pytest.mark.parametrize("extra", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                   {"include_last_offset": True}])
def test_module_matches_torch(mode, extra):
    torch.manual_seed(0)
    ours, theirs = _pair(6, 3, mode=mode, **extra)
    _run(ours, theirs, INDICES, OFFSETS)
    ours.zero_grad()
    theirs.zero_grad()
    if not extra.get("include_last_offset"):
        _run(ours, theirs, INDICES.reshape(5, 2))


@pytest.mark.parametrize("mode", ["sum", "mean"])
def test_scale_grad_by_freq_divides_by_each_index_count(mode):
    """Against PyTorch's ``embedding`` with ``scale_grad_by_freq``, reduced per bag by hand:
    PyTorch 2.13's CPU ``embedding_bag`` divides some rows by another index's count
    (pytorch/pytorch#190063)."""
    rng = np.random.default_rng(4)
    w = rng.standard_normal((6, 3))
    ours = gpugrad.tensor(w, requires_grad=True)
    out = gpugrad.nn.functional.embedding_bag(gpugrad.tensor(INDICES), ours,
                                              gpugrad.tensor(OFFSETS), mode=mode,
                                              scale_grad_by_freq=True)
    theirs = torch.tensor(w, requires_grad=True)
    rows = torch.nn.functional.embedding(torch.tensor(INDICES), theirs, scale_grad_by_freq=True)
    bags = [rows[a:b].sum(0) / (max(b - a, 1) if mode == "mean" else 1)
            for a, b in zip(OFFSETS, np.append(OFFSETS[1:], len(INDICES)))]
    expected = torch.stack(bags)
    up = rng.standard_normal(tuple(expected.shape))
    (out * gpugrad.tensor(up)).sum().backward()
    (expected * torch.tensor(up)).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


def test_per_sample_weights_float32_and_max_norm():
    torch.manual_seed(1)
    ours, theirs = _pair(6, 4, mode="sum", dtype=np.float32, padding_idx=0)
    psw = np.random.default_rng(3).standard_normal(INDICES.shape).astype(np.float32)
    _run(ours, theirs, INDICES, OFFSETS, psw=psw, atol=1e-5)
    ours, theirs = _pair(6, 4, mode="mean", max_norm=1.0, norm_type=1.5)
    _run(ours, theirs, INDICES, OFFSETS)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               atol=1e-12)  # the looked-up rows were renormalized in place
    assert not np.all(np.abs(ours.weight.detach().numpy()).sum(1) ** (1 / 1.5) <= 1.0)


def test_max_mode_empty_input_and_empty_bags():
    torch.manual_seed(2)
    ours, theirs = _pair(5, 2, mode="max")
    _run(ours, theirs, np.zeros(0, np.int64), np.array([0, 0, 0], np.int64))
    ours, theirs = _pair(5, 2, mode="mean", padding_idx=1)
    _run(ours, theirs, np.array([1, 1, 3], np.int64), np.array([0, 2], np.int64))


def test_init_from_pretrained_and_errors():
    bag = gpugrad.nn.EmbeddingBag(200, 50, padding_idx=3)
    w = bag.weight.detach().numpy()
    assert np.all(w[3] == 0) and abs(w.std() - 1) < 0.05 and bag.mode == "mean"
    pre = gpugrad.nn.EmbeddingBag.from_pretrained(gpugrad.ones(4, 2), mode="sum")
    assert not pre.weight.requires_grad and repr(pre) == "EmbeddingBag(4, 2, mode='sum')"
    out = pre(gpugrad.tensor([[0, 1], [2, 3]]))
    np.testing.assert_array_equal(out.numpy(), np.full((2, 2), 2.0))
    for lib in (gpugrad, torch):
        with pytest.raises(AssertionError, match="padding_idx must be within num_embeddings"):
            lib.nn.EmbeddingBag(4, 2, padding_idx=4)
        with pytest.raises(AssertionError, match="Shape of weight does not match"):
            lib.nn.EmbeddingBag(4, 2, _weight=lib.ones(3, 2))
        with pytest.raises(ValueError, match="max mode does not support scaling"):
            lib.nn.EmbeddingBag(4, 2, mode="max", scale_grad_by_freq=True)(
                lib.tensor([0, 1]), lib.tensor([0]))
        with pytest.raises(ValueError, match="input has to be 1D or 2D Tensor"):
            lib.nn.functional.embedding_bag(lib.zeros(1, 1, 1, dtype=lib.int64), lib.ones(2, 2))
        with pytest.raises(ValueError, match="weight has to be a 2D Tensor"):
            lib.nn.functional.embedding_bag(lib.tensor([0]), lib.ones(2), lib.tensor([0]))
    for lib in (torch, gpugrad):
        with pytest.raises(RuntimeError, match=r"Index 1 of input takes value 4 which is not in "
                                               r"the valid range \[0, 4\)"):
            lib.nn.functional.embedding_bag(lib.tensor([0, 4]), lib.ones(4, 2), lib.tensor([0]))
        with pytest.raises(IndexError, match="index out of range in self"):
            lib.nn.functional.embedding(lib.tensor([0, 4]), lib.ones(4, 2))


@pytest.mark.parametrize("mode", ["sum", "max"])
def test_short_last_offset_runs_to_the_input_end_as_torch(mode):
    torch.manual_seed(3)
    ours, theirs = _pair(6, 3, mode=mode, include_last_offset=True)
    _run(ours, theirs, INDICES, np.array([0, 3, 5], np.int64))
