"""A tensor learning rate (``lr=torch.tensor(0.01)``, as the compiled-optimizer recipes pass
it): every optimizer steps as with the float, and the schedulers write into the tensor (it
stays the object the optimizer was given) and report PyTorch's learning rates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam", "Adamax",
              "Adadelta", "ASGD", "Rprop", "Adafactor"]


def _train(m, name, lr):
    m.manual_seed(0)
    p = m.nn.Parameter(m.tensor([1.0, -2.0, 0.5]))
    kw = {"momentum": 0.9} if name == "SGD" else {}
    opt = getattr(m.optim, name)([p], lr=lr(m), **kw)
    for i in range(4):
        opt.zero_grad()
        ((p - i) ** 2).sum().backward()
        opt.step()
    return p.detach().numpy().copy(), opt


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizers_take_a_tensor_lr(name):
    with_tensor, opt = _train(gpugrad, name, lambda m: m.tensor(0.05))
    with_float, _ = _train(gpugrad, name, lambda m: 0.05)
    theirs, _ = _train(torch, name, lambda m: m.tensor(0.05))
    np.testing.assert_allclose(with_tensor, with_float, rtol=1e-6)
    np.testing.assert_allclose(with_tensor, theirs, rtol=1e-5, atol=1e-6)
    assert isinstance(opt.param_groups[0]["lr"], gpugrad.Tensor)


def _sched(m):
    return m.optim.lr_scheduler


SCHEDULERS = {
    "StepLR": lambda m, o: _sched(m).StepLR(o, 2, 0.5),
    "CosineAnnealingLR": lambda m, o: _sched(m).CosineAnnealingLR(o, 5, 1e-4),
    "LambdaLR": lambda m, o: _sched(m).LambdaLR(o, lambda e: 1 / (e + 1)),
    "LinearLR": lambda m, o: _sched(m).LinearLR(o, 0.1, total_iters=3),
    "OneCycleLR": lambda m, o: _sched(m).OneCycleLR(o, 0.1, total_steps=8),
    "CyclicLR": lambda m, o: _sched(m).CyclicLR(o, 0.001, 0.1, 2, cycle_momentum=False),
    "CosineAnnealingWarmRestarts": lambda m, o: _sched(m).CosineAnnealingWarmRestarts(o, 3),
    "ReduceLROnPlateau": lambda m, o: _sched(m).ReduceLROnPlateau(o, patience=0),
    "SequentialLR": lambda m, o: _sched(m).SequentialLR(
        o, [_sched(m).LinearLR(o, 0.5, total_iters=2), _sched(m).ExponentialLR(o, 0.9)], [2]),
    "ChainedScheduler": lambda m, o: _sched(m).ChainedScheduler(
        [_sched(m).ConstantLR(o, 0.5, total_iters=2), _sched(m).ExponentialLR(o, 0.9)]),
    "PolynomialLR": lambda m, o: _sched(m).PolynomialLR(o, 4),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_schedulers_write_into_a_tensor_lr(name):
    runs = []
    for m in (gpugrad, torch):
        p = m.nn.Parameter(m.ones(2))
        opt = m.optim.Adam([p], lr=m.tensor(0.01), betas=(0.9, 0.99))
        lr = opt.param_groups[0]["lr"]
        sched = SCHEDULERS[name](m, opt)
        lrs = []
        for i in range(6):
            p.grad = m.ones(2)
            opt.step()
            if name == "ReduceLROnPlateau":
                sched.step(1.0 + i)
            else:
                sched.step()
            last = sched.get_last_lr()[0]
            assert isinstance(last, m.Tensor) and last is not opt.param_groups[0]["lr"]
            lrs.append(float(last))
        assert opt.param_groups[0]["lr"] is lr  # written into, not replaced
        initial = opt.param_groups[0].get("initial_lr")
        assert initial is not lr
        runs.append((lrs, p.detach().numpy().copy()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-6)
    np.testing.assert_allclose(runs[0][1], runs[1][1], rtol=1e-6)
