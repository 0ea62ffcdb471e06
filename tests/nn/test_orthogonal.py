"""``nn.utils.parametrizations.orthogonal`` against PyTorch's from the same initial weights:
values, assignment (right_inverse), training keeps W orthogonal, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.nn.utils.parametrizations import orthogonal


def _pair(shape, seed=0):
    w = np.random.default_rng(seed).standard_normal(shape)
    ours = gpugrad.nn.Linear(shape[1], shape[0]).double()
    theirs = torch.nn.Linear(shape[1], shape[0]).double()
    b = np.linspace(-0.5, 0.5, shape[0])
    with gpugrad.no_grad():
        ours.weight.copy_(gpugrad.tensor(w))
        ours.bias.copy_(gpugrad.tensor(b))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
        theirs.bias.copy_(torch.tensor(b))
    return ours, theirs


@pytest.mark.parametrize("shape,orth_map", [((4, 4), "matrix_exp"), ((4, 4), "cayley"),
                                            ((5, 3), "cayley"), ((3, 5), "matrix_exp")])
def test_values_and_training_as_torch(shape, orth_map):
    ours, theirs = _pair(shape)
    orthogonal(ours, orthogonal_map=orth_map)
    torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orth_map)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               atol=1e-12)
    opt = gpugrad.optim.SGD(ours.parameters(), lr=0.2)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.2)
    x = np.random.default_rng(1).standard_normal((6, shape[1]))
    for _ in range(3):
        loss = ours(gpugrad.tensor(x)).pow(2).sum()
        tloss = theirs(torch.tensor(x)).pow(2).sum()
        opt.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
    w = ours.weight.detach().numpy()
    small = min(shape)
    gram = w @ w.T if shape[0] < shape[1] else w.T @ w
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)  # still orthogonal
    if shape[0] == shape[1]:  # (non-square: PyTorch completes the base with random columns)
        np.testing.assert_allclose(w, theirs.weight.detach().numpy(), atol=1e-10)


def test_assigning_sets_an_orthogonal_matrix_as_torch():
    ours, theirs = _pair((4, 4))
    orthogonal(ours)
    torch.nn.utils.parametrizations.orthogonal(theirs)
    w = np.random.default_rng(2).standard_normal((4, 4))
    ours.weight = gpugrad.tensor(w)
    theirs.weight = torch.tensor(w)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               atol=1e-12)
    q = np.linalg.qr(w)[0]  # an orthogonal matrix is kept as it is
    ours.weight = gpugrad.tensor(q)
    np.testing.assert_allclose(ours.weight.detach().numpy(), q, atol=1e-12)


def test_refusals():
    with pytest.raises(NotImplementedError, match="householder_product"):
        orthogonal(gpugrad.nn.Linear(3, 5))  # non-square: PyTorch's default is householder
    with pytest.raises(ValueError, match='orthogonal_map has to be one of'):
        orthogonal(gpugrad.nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match="Expected a matrix"):
        orthogonal(gpugrad.nn.Linear(3, 3), "bias")
    m = orthogonal(gpugrad.nn.Linear(3, 3), use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m.weight = gpugrad.eye(3)
