"""The distance, divergence, likelihood and margin loss modules against PyTorch's (repr,
values, gradients), and the behaviours the registry cannot check: gradients through the
clamped variance of GaussianNLLLoss and the clamped norms of cosine_similarity, kl_div's
warning, module-level argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn._compare import assert_same_run, module_pair

import gpugrad

rng = np.random.default_rng(0)
A, B, C = (rng.standard_normal((4, 3)) for _ in range(3))
SIGNS = np.array([1.0, -1.0, -1.0, 1.0])
LABELS = np.array([0, 2, 1, 2])

CASES = [
    ("CosineSimilarity", {"dim": 0}, [A, B], None),
    ("PairwiseDistance", {"p": 1.0, "keepdim": True}, [A, B], None),
    ("KLDivLoss", {"reduction": "batchmean"}, [np.log(rng.dirichlet(np.ones(3), 4)),
                                                rng.dirichlet(np.ones(3), 4)], (0,)),
    ("KLDivLoss", {"reduction": "sum", "log_target": True}, [A, B], None),
    ("PoissonNLLLoss", {"full": True}, [A, rng.integers(0, 4, (4, 3)).astype(float)], (0,)),
    ("GaussianNLLLoss", {"full": True}, [A, B, rng.uniform(0.5, 2, (4, 1))], None),
    ("MarginRankingLoss", {"margin": 0.3}, [A[:, 0], B[:, 0], SIGNS], None),
    ("HingeEmbeddingLoss", {"margin": 2.0, "reduction": "sum"}, [np.abs(A), np.sign(B)], (0,)),
    ("SoftMarginLoss", {}, [A, np.sign(B)], (0,)),
    ("MultiLabelSoftMarginLoss", {}, [A, (B > 0).astype(float)], None),
    ("CosineEmbeddingLoss", {"margin": 0.1}, [A, B, SIGNS], (0, 1)),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}, [A, LABELS], None),
    ("MultiLabelMarginLoss", {"reduction": "none"}, [A, np.array([[0, -1, 1]] * 4)], None),
    ("TripletMarginLoss", {"margin": 2.0, "swap": True}, [A, B, C], None),
    ("TripletMarginWithDistanceLoss", {"margin": 2.0}, [A, B, C], None),
]


@pytest.mark.parametrize("name,kw,inputs,grads", CASES, ids=[c[0] for c in CASES])
def test_module_matches_torch(name, kw, inputs, grads):
    ours, theirs = module_pair(name, **kw)
    assert_same_run(ours, theirs, inputs, grads)


def test_weighted_modules_hold_their_weight_as_a_buffer():
    w = np.array([0.5, 1.0, 2.0])
    for name, args in (("MultiMarginLoss", [A, LABELS]),
                       ("MultiLabelSoftMarginLoss", [A, (B > 0).astype(float)])):
        theirs = getattr(torch.nn, name)(weight=torch.tensor(w))
        ours = getattr(gpugrad.nn, name)(weight=gpugrad.tensor(w))
        assert [n for n, _ in ours.named_buffers()] == ["weight"]
        assert_same_run(ours, theirs, args)


def test_gaussian_nll_gradient_passes_the_variance_clamp_as_torch():
    var = np.array([[1e-9], [0.5], [0.0], [2.0]])  # two entries clamped to eps
    ours, theirs = module_pair("GaussianNLLLoss", eps=1e-3)
    assert_same_run(ours, theirs, [A, B, var], atol=1e-7)
    loss = gpugrad.nn.functional.gaussian_nll_loss(gpugrad.tensor(A), gpugrad.tensor(B), 0.5)
    expected = torch.nn.functional.gaussian_nll_loss(torch.tensor(A), torch.tensor(B), 0.5)
    np.testing.assert_allclose(loss.item(), expected.item())


def test_cosine_similarity_of_zero_vectors_as_torch():
    x = np.zeros((3, 4))
    x[1] = 1e-9
    outs = []
    for m in (gpugrad, torch):
        a, b = m.tensor(x, requires_grad=True), m.tensor(A[:3].repeat(2, 1)[:, :4],
                                                          requires_grad=True)
        out = m.nn.functional.cosine_similarity(a, b)
        out.sum().backward()
        outs.append([out.detach().numpy(), a.grad.numpy(), b.grad.numpy()])
    for g, t in zip(*outs):
        np.testing.assert_allclose(g, t, rtol=1e-10)


def test_kl_div_mean_warns_as_torch():
    for m in (gpugrad, torch):
        with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
            m.nn.functional.kl_div(m.zeros(2, 3), m.ones(2, 3) / 3)


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_module_checks_as_torch(m):
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        m.nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="expected weight to be None or 1D tensor, got 2D"):
        m.nn.MultiMarginLoss(weight=m.ones(2, 2))
    with pytest.raises(ValueError, match="TripletMarginLoss: expected margin to be greater"):
        m.nn.TripletMarginLoss(margin=0)
    with pytest.raises(ValueError, match="TripletMarginWithDistanceLoss: expected margin"):
        m.nn.TripletMarginWithDistanceLoss(margin=-1.0)
    with pytest.raises(ValueError, match="var has negative entry"):
        m.nn.GaussianNLLLoss()(m.ones(2), m.ones(2), -1.0)
