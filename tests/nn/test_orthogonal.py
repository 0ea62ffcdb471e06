"""``nn.utils.parametrizations.orthogonal`` against PyTorch's from the same initial weights:
values, assignment (right_inverse), training (gradients and steps) keeps W orthogonal, each map
("matrix_exp", "cayley", "householder"), with and without the trivialization, refusals."""

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


def _train_alike(ours, theirs, in_features, dtype=np.float64, atol=1e-10):
    """Three SGD steps on both; the gradients of every parameter and the weights must agree."""
    opt = gpugrad.optim.SGD(ours.parameters(), lr=0.2)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.2)
    x = np.random.default_rng(1).standard_normal((6, in_features)).astype(dtype)
    for _ in range(3):
        loss = ours(gpugrad.tensor(x)).pow(2).sum()
        tloss = theirs(torch.tensor(x)).pow(2).sum()
        opt.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        for (name, p), (_, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), atol=atol, err_msg=name)
        opt.step()
        topt.step()
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               atol=atol)


def _share_base(ours, theirs):
    """PyTorch completes the base of a non-square weight with random columns: ours takes its
    base so that the two train alike."""
    with gpugrad.no_grad():
        ours.parametrizations.weight[0].base.copy_(
            gpugrad.tensor(theirs.parametrizations.weight[0].base.numpy()))


MAPS = [((4, 4), "matrix_exp"), ((4, 4), "cayley"), ((5, 3), "cayley"), ((3, 5), "matrix_exp"),
        ((4, 4), "householder"), ((5, 3), "householder"), ((3, 5), "householder"),
        ((5, 3), None), ((3, 5), None)]  # (None: PyTorch's default, householder when not square)


@pytest.mark.parametrize("shape,orth_map", MAPS)
def test_values_and_training_as_torch(shape, orth_map):
    ours, theirs = _pair(shape)
    orthogonal(ours, orthogonal_map=orth_map)
    torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orth_map)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               atol=1e-12)
    assert ours.parametrizations.weight[0].orthogonal_map == \
        theirs.parametrizations.weight[0].orthogonal_map.name
    _share_base(ours, theirs)
    _train_alike(ours, theirs, shape[1])
    w = ours.weight.detach().numpy()
    small = min(shape)
    gram = w @ w.T if shape[0] < shape[1] else w.T @ w
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-12)  # still orthogonal


@pytest.mark.parametrize("shape", [(5, 3), (3, 5), (4, 4)])
def test_householder_without_trivialization_as_torch(shape):
    # No base: the weight's own QR (geqrf) makes the original, and assigning goes through it.
    ours, theirs = _pair(shape)
    orthogonal(ours, orthogonal_map="householder", use_trivialization=False)
    torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map="householder",
                                               use_trivialization=False)
    for get in (lambda m: m.weight, lambda m: m.parametrizations.weight.original):
        np.testing.assert_allclose(get(ours).detach().numpy(), get(theirs).detach().numpy(),
                                   atol=1e-12)
    w = np.random.default_rng(3).standard_normal(shape)
    ours.weight = gpugrad.tensor(w)
    theirs.weight = torch.tensor(w)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               atol=1e-12)
    _train_alike(ours, theirs, shape[1])


def _batched(lib, w):
    """A module whose weight is a batch of matrices (one product per matrix)."""

    class Batched(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = lib.nn.Parameter(lib.tensor(w))

        def forward(self, x):
            return x @ self.weight

    m = Batched()
    lib.nn.utils.parametrizations.orthogonal(m)  # (householder: not square)
    return m


def test_householder_float32_and_batched_weights_as_torch():
    w = np.random.default_rng(4).standard_normal((2, 5, 3)).astype(np.float32)
    ours, theirs = _batched(gpugrad, w), _batched(torch, w)
    assert ours.parametrizations.weight[0].orthogonal_map == "householder"
    _share_base(ours, theirs)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               atol=1e-5)
    _train_alike(ours, theirs, 5, np.float32, atol=1e-4)


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
    with pytest.raises(ValueError, match='orthogonal_map has to be one of'):
        orthogonal(gpugrad.nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match="Expected a matrix"):
        orthogonal(gpugrad.nn.Linear(3, 3), "bias")
    m = orthogonal(gpugrad.nn.Linear(3, 3), use_trivialization=False)
    with pytest.raises(NotImplementedError, match="use_trivialization=False"):
        m.weight = gpugrad.eye(3)
