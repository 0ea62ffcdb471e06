"""Sparse COO tensors on each device against the same program on the CPU: construction with
an uncoalesced coordinate list, coalescing, the products on both sides, sums, softmax, and the
gradients that reach the values and the dense operands (CuPy's ``unique``, ``nonzero`` and
``scatter_add`` on the GPU).

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
