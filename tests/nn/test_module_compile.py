"""``nn.Module.compile()``: returns None, as PyTorch's, and later calls replay gpugrad.compile's
capture; values and gradients as the eager module's (and as PyTorch's)."""

from __future__ import annotations

import numpy as np
import torch

import gpugrad


def _pair():
    rng = np.random.default_rng(0)
    w1, b1, w2 = rng.standard_normal((4, 3)), rng.standard_normal(4), rng.standard_normal((1, 4))
    ours = gpugrad.nn.Sequential(gpugrad.nn.Linear(3, 4), gpugrad.nn.Tanh(),
                                 gpugrad.nn.Linear(4, 1, bias=False)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(),
                                 torch.nn.Linear(4, 1, bias=False)).double()
    for m, t in ((ours, gpugrad.tensor), (theirs, torch.tensor)):
        with (gpugrad.no_grad() if m is ours else torch.no_grad()):
            m[0].weight.copy_(t(w1))
            m[0].bias.copy_(t(b1))
            m[2].weight.copy_(t(w2))
    return ours, theirs


def test_compiled_module_trains_as_torch():
    ours, theirs = _pair()
    assert ours.compile() is None
    assert theirs.compile(backend="eager") is None
    opt = gpugrad.optim.SGD(ours.parameters(), lr=0.1)
    topt = torch.optim.SGD(theirs.parameters(), lr=0.1)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = rng.standard_normal((5, 3))
        loss = (ours(gpugrad.tensor(x)) ** 2).mean()
        tloss = (theirs(torch.tensor(x)) ** 2).mean()
        opt.zero_grad()
        topt.zero_grad()
        loss.backward()
        tloss.backward()
        opt.step()
        topt.step()
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-12)
    np.testing.assert_allclose(ours[0].weight.detach().numpy(),
                               theirs[0].weight.detach().numpy(), rtol=1e-12)
    assert ours.__dict__["_compiled_call"].stats.replays >= 2  # the calls replayed a capture
    assert list(ours.state_dict()) == list(theirs.state_dict())  # no "_orig_mod." keys
