"""Learning-rate schedulers against PyTorch's, epoch by epoch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad


def _opt(m, lrs=(0.1, 0.03)):
    groups = [{"params": [m.nn.Parameter(m.zeros(2))], "lr": lr} for lr in lrs]
    return m.optim.SGD(groups, lr=0.5, momentum=0.9)


SCHEDULERS = [
    ("StepLR", lambda m, opt: m.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)),
    ("CosineAnnealingLR", lambda m, opt: m.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=7)),
    ("CosineAnnealingLR_eta_min",
     lambda m, opt: m.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)),
    ("LambdaLR", lambda m, opt: m.optim.lr_scheduler.LambdaLR(opt, lambda e: 0.9 ** e)),
    ("LambdaLR_per_group", lambda m, opt: m.optim.lr_scheduler.LambdaLR(
        opt, [lambda e: 1 / (e + 1), lambda e: 0.5 * e])),
    ("MultiStepLR", lambda m, opt: m.optim.lr_scheduler.MultiStepLR(
        opt, milestones=[3, 7, 7, 12], gamma=0.5)),
    ("ExponentialLR", lambda m, opt: m.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9)),
    ("LinearLR", lambda m, opt: m.optim.lr_scheduler.LinearLR(opt, total_iters=6)),
    ("LinearLR_decay", lambda m, opt: m.optim.lr_scheduler.LinearLR(
        opt, start_factor=1.0, end_factor=0.2, total_iters=10)),
]


@pytest.mark.parametrize("name,make", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_schedule_matches_torch(name, make):
    history = []
    for m in (gpugrad, torch):
        opt = _opt(m)
        sched = make(m, opt)
        lrs = [sched.get_last_lr()]
        for _ in range(25):  # past T_max: cosine goes back up, as PyTorch's does
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        history.append(lrs)
        assert [g["lr"] for g in opt.param_groups] == lrs[-1]
    np.testing.assert_allclose(history[0], history[1], rtol=1e-12, atol=1e-15)


def test_state_dict_round_trip():
    opt = _opt(gpugrad)
    sched = gpugrad.optim.lr_scheduler.StepLR(opt, step_size=2)
    for _ in range(3):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3
    other = gpugrad.optim.lr_scheduler.StepLR(_opt(gpugrad), step_size=5)
    other.load_state_dict(state)
    assert other.step_size == 2 and other.get_last_lr() == sched.get_last_lr()


def test_warns_when_stepped_before_the_optimizer():
    opt = _opt(gpugrad)
    sched = gpugrad.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    opt2 = _opt(gpugrad)
    sched2 = gpugrad.optim.lr_scheduler.StepLR(opt2, step_size=2)
    opt2.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched2.step()


def test_requires_an_optimizer():
    with pytest.raises(TypeError, match="is not an Optimizer"):
        gpugrad.optim.lr_scheduler.StepLR(object(), step_size=1)


@pytest.mark.filterwarnings("ignore:The epoch parameter")
@pytest.mark.parametrize("name,make", SCHEDULERS[5:], ids=[n for n, _ in SCHEDULERS[5:]])
def test_closed_form_with_an_explicit_epoch_matches_torch(name, make):
    history = []
    for m in (gpugrad, torch):
        opt = _opt(m)
        sched = make(m, opt)
        opt.step()
        lrs = []
        for epoch in (4, 9, 2, 15):
            sched.step(epoch)
            lrs.append(sched.get_last_lr())
        history.append(lrs)
    np.testing.assert_allclose(history[0], history[1], rtol=1e-12)


PLATEAU = [
    {}, {"mode": "max", "patience": 2, "factor": 0.5},
    {"patience": 1, "cooldown": 2, "threshold_mode": "abs", "threshold": 0.05,
     "min_lr": [0.02, 0.001]},
]


@pytest.mark.parametrize("kw", PLATEAU)
def test_reduce_lr_on_plateau_matches_torch(kw):
    metrics = [1.0, 0.9, 0.95, 0.93, 0.92, 0.94, 0.96, 0.91, 0.97, 0.98, 0.99, 0.995, 0.9] * 3
    history = []
    for m in (gpugrad, torch):
        opt = _opt(m)
        sched = m.optim.lr_scheduler.ReduceLROnPlateau(opt, **{"patience": 3, **kw})
        lrs = []
        for value in metrics:
            opt.step()
            sched.step(m.tensor(value))
            lrs.append(sched.get_last_lr())
        history.append(lrs)
    np.testing.assert_allclose(history[0], history[1], rtol=1e-12)
    assert history[0][-1] != history[0][0]  # the schedule did move


def test_scheduler_argument_errors():
    sched = gpugrad.optim.lr_scheduler
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        sched.ReduceLROnPlateau(_opt(gpugrad), factor=1.0)
    with pytest.raises(ValueError, match="mode avg is unknown"):
        sched.ReduceLROnPlateau(_opt(gpugrad), mode="avg")
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        sched.LinearLR(_opt(gpugrad), start_factor=0)
