"""Sparse gradients, as PyTorch makes and uses them: ``nn.Embedding(sparse=True)``'s weight
gradient (one entry per looked-up index, ``padding_idx`` left out, ``scale_grad_by_freq``),
its accumulation (two backward passes, two lookups in one pass, a dense use of the same
weight, a dense or emptied ``.grad``), hooks and ``autograd.grad``; and the optimizers that take
them (``SparseAdam``, ``SGD`` with and without momentum, ``Adagrad``) trained from the same
weights as PyTorch, in float64 and float32, with the errors of those that refuse them."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad

LIBS = (gpugrad, torch)


def _embedding(m, dtype="float64", **kwargs):
    e = m.nn.Embedding(7, 3, sparse=True, **kwargs)
    e.weight.data = m.tensor(np.arange(21.0).reshape(7, 3) / 10, dtype=getattr(m, dtype))
    return e


def _entries(g):
    """A sparse gradient as PyTorch lays it out, entry by entry."""
    assert g.is_sparse and g.layout == (gpugrad.sparse_coo if isinstance(g, gpugrad.Tensor)
                                        else torch.sparse_coo)
    return (g.shape[0], g.shape[1], g.sparse_dim(), g.dense_dim(), g.is_coalesced(),
            g._indices().tolist(), np.round(g._values().numpy(), 12).tolist())


def test_scale_grad_by_freq_refuses_sparse_gradients_as_torch():
    for m in LIBS:
        e = _embedding(m, scale_grad_by_freq=True)
        with pytest.raises(RuntimeError, match="scale_grad_by_freq not supported with sparse"):
            e(m.tensor([0, 2, 2])).sum().backward()


@pytest.mark.parametrize("options", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                     {"max_norm": 1.0}])
def test_embedding_gradient_as_torch(options):
    got = []
    for m in LIBS:
        e = _embedding(m, **options)
        idx = m.tensor([[0, 2, 2, 5], [6, 0, 2, 1]])
        w = m.tensor(np.linspace(-1, 1, 24).reshape(2, 4, 3))
        (e(idx) * w).sum().backward()
        got.append((_entries(e.weight.grad), np.round(e.weight.detach().numpy(), 12).tolist()))
    assert got[0] == got[1]


SCENARIOS = {
    "two_backwards": lambda m, e: [e(m.tensor([0, 2, 2])).sum().backward(),
                                   e(m.tensor([1, 2])).sum().backward()],
    "two_lookups_one_pass": lambda m, e: (e(m.tensor([0, 2])).sum()
                                          + e(m.tensor([5])).sum() * 2).backward(),
    "with_a_dense_use": lambda m, e: (e(m.tensor([0, 2])).sum()
                                      + (e.weight * 3).sum()).backward(),
    "onto_a_dense_grad": lambda m, e: [setattr(e.weight, "grad", m.ones(7, 3, dtype=m.float64)),
                                       e(m.tensor([0, 2, 2])).sum().backward()],
    "after_zero_grad_keeping_it": lambda m, e: [
        e(m.tensor([4])).sum().backward(),
        m.optim.SGD(e.parameters(), lr=0.1).zero_grad(set_to_none=False),
        e(m.tensor([0, 2])).sum().backward()],
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_accumulation_as_torch(name):
    got = []
    for m in LIBS:
        e = _embedding(m)
        SCENARIOS[name](m, e)
        g = e.weight.grad
        got.append((g.is_sparse, np.round((g.to_dense() if g.is_sparse else g).numpy(),
                                          12).tolist()))
    assert got[0] == got[1]


def test_zero_grad_keeping_it_empties_the_sparse_gradient():
    for m in LIBS:
        e = _embedding(m)
        e(m.tensor([0, 2])).sum().backward()
        m.optim.SGD(e.parameters(), lr=0.1).zero_grad(set_to_none=False)
        g = e.weight.grad
        assert g.is_sparse and g._nnz() == 0 and tuple(g.shape) == (7, 3)


def test_hooks_and_autograd_grad_see_the_sparse_gradient():
    for m in LIBS:
        e = _embedding(m)
        seen = []
        handle = e.weight.register_hook(lambda g, seen=seen: seen.append(g.is_sparse))
        e(m.tensor([1, 3])).sum().backward()
        handle.remove()
        (g,) = m.autograd.grad(e(m.tensor([1, 3, 3])).sum(), e.weight)
        assert seen == [True] and g.is_sparse and g._nnz() == 3
        assert g.to_dense()[3].tolist() == [2.0, 2.0, 2.0]


def test_a_computed_weight_and_create_graph_get_dense_gradients():
    """Only a leaf weight gets a sparse gradient here (PyTorch sends sparse gradients on
    through the ops that take them); the values are PyTorch's."""
    w = gpugrad.tensor(np.arange(21.0).reshape(7, 3), requires_grad=True)
    out = gpugrad.nn.functional.embedding(gpugrad.tensor([0, 2, 2]), w * 2, sparse=True)
    out.sum().backward()
    assert not w.grad.is_sparse and w.grad[:, 0].tolist() == [2.0, 0, 4.0, 0, 0, 0, 0]
    e = _embedding(gpugrad)
    (g,) = gpugrad.autograd.grad(e(gpugrad.tensor([1, 1])).sum(), e.weight, create_graph=True)
    assert not g.is_sparse and g[1].tolist() == [2.0, 2.0, 2.0]


OPTIMIZERS = {
    "SparseAdam": {"lr": 0.1},
    "SparseAdam_options": {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6, "maximize": True},
    "SGD": {"lr": 0.1},
    "SGD_maximize": {"lr": 0.1, "maximize": True},
    "SGD_momentum": {"lr": 0.1, "momentum": 0.9},
    "SGD_nesterov": {"lr": 0.1, "momentum": 0.9, "nesterov": True, "dampening": 0.0},
    "Adagrad": {"lr": 0.1},
    "Adagrad_options": {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1,
                        "maximize": True},
}


def _train(m, name, dtype, steps=6):
    rng = np.random.default_rng(0)
    e = m.nn.Embedding(10, 4, sparse=True).to(getattr(m, dtype))
    e.weight.data = m.tensor(rng.standard_normal((10, 4)), dtype=getattr(m, dtype))
    head = m.tensor(rng.standard_normal(4), dtype=getattr(m, dtype))
    opt = getattr(m.optim, name.split("_")[0])(e.parameters(), **OPTIMIZERS[name])
    losses = []
    for _ in range(steps):
        idx = m.tensor(rng.integers(0, 10, (3, 5)))
        opt.zero_grad()
        loss = ((e(idx) * head).sum(-1) - 1.0).pow(2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    state = {k: (v if isinstance(v, (int, float)) else
                 (v.to_dense() if v.is_sparse else v).numpy())
             for k, v in opt.state_dict()["state"].get(0, {}).items()}
    return np.array(losses), e.weight.detach().numpy(), state


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_trains_as_torch(name, dtype):
    (losses, weight, state), (t_losses, t_weight, t_state) = (_train(m, name, dtype)
                                                               for m in LIBS)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(losses, t_losses, **tol)
    np.testing.assert_allclose(weight, t_weight, **tol)
    assert state.keys() == t_state.keys()
    for key, value in state.items():
        # (PyTorch keeps the momentum buffer sparse, gpugrad dense: compared densely)
        np.testing.assert_allclose(np.asarray(value, dtype=float),
                                   np.asarray(t_state[key], dtype=float), **tol)


REFUSALS = {
    "Adam": ({}, "Adam does not support sparse gradients, please consider SparseAdam instead"),
    "AdamW": ({}, "Adam does not support sparse gradients, please consider SparseAdam instead"),
    "RMSprop": ({}, "RMSprop does not support sparse gradients"),
    "SGD": ({"weight_decay": 0.1}, r"add\(sparse, dense\) is not supported"),
    "Adagrad": ({"weight_decay": 0.1}, "weight_decay option is not compatible with sparse"),
}


@pytest.mark.parametrize("name", REFUSALS)
def test_optimizers_refuse_sparse_gradients_as_torch(name):
    kwargs, message = REFUSALS[name]
    for m in LIBS:
        e = _embedding(m)
        opt = getattr(m.optim, name)(e.parameters(), lr=0.1, **kwargs)
        e(m.tensor([0, 1])).sum().backward()
        with pytest.raises(RuntimeError, match=message):
            opt.step()


def test_sparse_adam_refuses_dense_gradients_before_any_update():
    for m in LIBS:
        sparse, dense = _embedding(m), m.nn.Linear(3, 1).double()
        opt = m.optim.SparseAdam(list(sparse.parameters()) + list(dense.parameters()))
        (sparse(m.tensor([0, 1])).sum() + dense(m.ones(3, dtype=m.float64)).sum()).backward()
        before = sparse.weight.detach().clone()
        with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients"):
            opt.step()
        assert bool((sparse.weight == before).all())


def test_sparse_adam_counts_a_step_without_entries():
    """As PyTorch: an empty sparse gradient (every index the padding row) counts a step."""
    steps = []
    for m in LIBS:
        e = _embedding(m, padding_idx=0)
        opt = m.optim.SparseAdam(e.parameters(), lr=0.1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            e(m.tensor([0, 0])).sum().backward()
            opt.step()
        steps.append(opt.state[e.weight]["step"])
        assert bool((e.weight[1:] == _embedding(m).weight[1:]).all())
    assert steps[0] == steps[1] == 1


@pytest.mark.parametrize("mode, weighted", [("sum", False), ("sum", True), ("mean", False)])
def test_embedding_bag_gradient_as_torch(mode, weighted):
    got = []
    for m in LIBS:
        bag = m.nn.EmbeddingBag(7, 3, mode=mode, sparse=True, padding_idx=2)
        bag.weight.data = m.tensor(np.arange(21.0).reshape(7, 3) / 10)
        weights = m.tensor(np.linspace(0.5, 2, 7)) if weighted else None
        out = bag(m.tensor([0, 2, 5, 5, 1, 2, 6]), m.tensor([0, 3, 5]),
                  per_sample_weights=weights)
        (out * m.tensor(np.linspace(-1, 1, 9).reshape(3, 3))).sum().backward()
        got.append(_entries(bag.weight.grad))
    assert got[0] == got[1]
