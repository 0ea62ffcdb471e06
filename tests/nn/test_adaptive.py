"""``AdaptiveLogSoftmaxWithLoss`` against PyTorch's: structure and repr, ``forward``'s output and
loss with every parameter's gradient (float64 and float32), batched and unbatched, targets in
the shortlist only or in every cluster; ``log_prob``, ``predict``; finite differences; errors."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import gpugrad

CONFIGS = [
    # in_features, n_classes, cutoffs, div_value, head_bias
    (8, 10, [3, 6], 2.0, False),
    (16, 20, [5], 4.0, True),
    (6, 12, (2, 5, 9), 1.5, True),
]


def pair(config, dtype="float64"):
    """gpugrad's and torch's module with the same (torch's) parameters."""
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(*config).to(getattr(torch, dtype))
    ours = gpugrad.nn.AdaptiveLogSoftmaxWithLoss(*config).to(getattr(gpugrad, dtype))
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    ours.load_state_dict({k: gpugrad.tensor(v.detach().numpy())
                          for k, v in theirs.state_dict().items()})
    return ours, theirs


def targets_for(config, rng, n, shortlist_only=False):
    high = config[2][0] if shortlist_only else config[1]
    t = rng.integers(0, high, n)
    if not shortlist_only:
        t[:len(config[2]) + 1] = [0, *config[2]]  # one in each cluster, at its first class
    return t


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shortlist_only", [False, True])
@pytest.mark.parametrize("config", CONFIGS, ids=[str(c[2]) for c in CONFIGS])
def test_forward_and_gradients_match_torch(config, shortlist_only, dtype):
    rng = np.random.default_rng(len(config[2]))
    ours, theirs = pair(config, dtype)
    x = rng.standard_normal((7, config[0])).astype(dtype)
    t = targets_for(config, rng, 7, shortlist_only)
    results = []
    for m, module in ((gpugrad, ours), (torch, theirs)):
        inp = m.tensor(x, requires_grad=True)
        out = module(inp, m.tensor(t))
        assert type(out).__name__ == "_ASMoutput" and out._fields == ("output", "loss")
        up = np.random.default_rng(3).standard_normal(7).astype(dtype)
        (out.loss * 2 + (out.output * m.tensor(up)).sum()).backward()
        results.append([out.output.detach().numpy(), out.loss.detach().numpy(),
                        inp.grad.numpy()] + [p.grad.numpy() if p.grad is not None else
                                             np.zeros(tuple(p.shape), dtype)
                                             for p in module.parameters()])
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-4, "atol": 1e-5}
    for a, b in zip(*results, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, **tol)


def test_unbatched_log_prob_and_predict_match_torch():
    config = CONFIGS[2]
    rng = np.random.default_rng(5)
    ours, theirs = pair(config)
    x = rng.standard_normal((9, config[0])) * 3
    for m, module in ((gpugrad, ours), (torch, theirs)):
        module.x = m.tensor(x, requires_grad=True)
    for i, target in enumerate((0, 3, 11)):
        out = [module(module.x[i], m.tensor(target)) for m, module in ((gpugrad, ours),
                                                                      (torch, theirs))]
        assert out[0].output.dim() == 0 and out[0].loss.dim() == 0
        np.testing.assert_allclose(out[0].output.item(), out[1].output.item(), rtol=1e-10)
    lp = [module.log_prob(module.x) for module in (ours, theirs)]
    np.testing.assert_allclose(lp[0].detach().numpy(), lp[1].detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(np.exp(lp[0].detach().numpy()).sum(1), 1.0)
    for module in (ours, theirs):
        module.log_prob(module.x).logsumexp(1).sum().backward()
    np.testing.assert_allclose(ours.x.grad.numpy(), theirs.x.grad.numpy(), atol=1e-10)
    short = config[2][0]
    with torch.no_grad(), gpugrad.no_grad():
        for case in ("all in the shortlist", "some", "none"):
            for module in (ours, theirs):
                weight, bias = module.head.weight, module.head.bias
                weight.zero_()
                bias.zero_()
                if case == "all in the shortlist":
                    bias[0] = 1.0
                elif case == "some":  # a cluster where the sum of the inputs is positive
                    weight[short:] = 10.0
                else:
                    bias[short:] = 100.0
                    weight[short + 1] = 1.0
            got, want = ours.predict(ours.x), theirs.predict(theirs.x)
            assert got.dtype == gpugrad.int64
            in_shortlist = got.numpy() < short
            assert {"all in the shortlist": in_shortlist.all(), "none": not in_shortlist.any(),
                    "some": 0 < in_shortlist.sum() < len(x)}[case]
            np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_gradcheck():
    rng = np.random.default_rng(0)
    module = gpugrad.nn.AdaptiveLogSoftmaxWithLoss(4, 7, [2, 4], div_value=1.0).double()
    x = gpugrad.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    t = gpugrad.tensor([0, 2, 4, 6, 1])
    assert gpugrad.autograd.gradcheck(lambda z: module(z, t), (x,))
    assert gpugrad.autograd.gradcheck(module.log_prob, (x,))


def test_signature_and_errors_as_torch():
    sig = [(p.name, p.default) for p in
           inspect.signature(gpugrad.nn.AdaptiveLogSoftmaxWithLoss).parameters.values()]
    assert sig == [(p.name, p.default) for p in
                   inspect.signature(torch.nn.AdaptiveLogSoftmaxWithLoss).parameters.values()]
    for cutoffs in ([], [3, 2], [0, 2], [2, 10], [2, 2], [2.5]):
        caught = []
        for m in (gpugrad, torch):
            with pytest.raises(ValueError) as info:
                m.nn.AdaptiveLogSoftmaxWithLoss(4, 10, cutoffs)
            caught.append(str(info.value))
        assert caught[0] == caught[1]
    ours, theirs = pair(CONFIGS[0])
    x = np.zeros((3, 8))
    for args in ((x, np.array([0, 1])), (x[0], np.array([1])), (x, np.zeros((3, 1), int)),
                 (x[None], np.array([1, 2, 3])[None, None]), (x, np.array([0, 10, -1]))):
        caught = []
        for m, module in ((gpugrad, ours), (torch, theirs)):
            with pytest.raises(RuntimeError) as info:
                module(m.tensor(args[0]), m.tensor(args[1]))
            caught.append(str(info.value).replace("torch.", "gpugrad."))
        assert caught[0] == caught[1]
