"""Sparse COO tensors on each device against the same program on the CPU: construction with
an uncoalesced coordinate list, coalescing, the products on both sides, sums, softmax, and the
gradients that reach the values and the dense operands (CuPy's ``unique``, ``nonzero`` and
``scatter_add`` on the GPU); and a sparse embedding trained by each optimizer that takes sparse
gradients.

The CPU case checks the case itself in CI; the CUDA case runs where CuPy sees a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad

DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]  # gpu: skipped without one


def _run(device: str) -> dict:
    rng = np.random.default_rng(0)
    indices = np.array([[0, 2, 1, 0, 3, 2], [1, 0, 3, 1, 2, 2]])  # (0, 1) listed twice
    values = gpugrad.tensor(rng.standard_normal(6), device=device, requires_grad=True)
    x = gpugrad.tensor(rng.standard_normal((4, 3)), device=device, requires_grad=True)
    s = gpugrad.sparse_coo_tensor(gpugrad.tensor(indices, device=device), values, (4, 4))
    c = s.coalesce()
    out = gpugrad.sparse.mm(s, x) + (x.t() @ s).t() + (s.t() @ x[:, 0]).unsqueeze(1)
    loss = out.pow(2).sum() + gpugrad.sparse.softmax(c, 1).to_dense().square().sum()
    loss = loss + gpugrad.sparse.sum(s, 0).to_dense().sum()
    loss = loss + (x @ x.t()).to_sparse().to_dense().sum()
    loss.backward()
    return {"out": out, "dense": c.to_dense(), "indices": c.indices(), "values.grad": values.grad,
            "x.grad": x.grad, "device": s.device.type}


@pytest.mark.parametrize("device", DEVICES)
def test_sparse_matches_the_cpu(device):
    ours, cpu = _run(device), _run("cpu")
    assert ours["device"] == device
    for key in ("out", "dense", "indices", "values.grad", "x.grad"):
        np.testing.assert_allclose(ours[key].detach().cpu().numpy(), cpu[key].detach().numpy(),
                                   rtol=1e-10, atol=1e-12, err_msg=key)


def _train_sparse_embedding(device: str, optimizer: str) -> dict:
    rng = np.random.default_rng(1)
    e = gpugrad.nn.Embedding(9, 4, sparse=True, padding_idx=0).to(device).double()
    e.weight.data = gpugrad.tensor(rng.standard_normal((9, 4)), device=device)
    head = gpugrad.tensor(rng.standard_normal(4), device=device)
    opt = getattr(gpugrad.optim, optimizer)(e.parameters(), lr=0.1)
    for _ in range(3):
        idx = gpugrad.tensor(rng.integers(0, 9, (2, 5)), device=device)
        opt.zero_grad()
        ((e(idx) * head).sum(-1) - 1).pow(2).mean().backward()
        assert e.weight.grad.is_sparse and e.weight.grad.device.type == device
        opt.step()
    return {"weight": e.weight.detach()}


@pytest.mark.parametrize("optimizer", ["SparseAdam", "SGD", "Adagrad"])
@pytest.mark.parametrize("device", DEVICES)
def test_sparse_embedding_training_matches_the_cpu(device, optimizer):
    ours, cpu = _train_sparse_embedding(device, optimizer), _train_sparse_embedding("cpu",
                                                                                   optimizer)
    np.testing.assert_allclose(ours["weight"].cpu().numpy(), cpu["weight"].numpy(), rtol=1e-10,
                               atol=1e-12)
