"""ConstantLR, MultiplicativeLR, PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR,
OneCycleLR, SequentialLR, ChainedScheduler and SWALR against PyTorch's: the lr (and momentum
or beta1) of every group at every step, state dicts (their keys, and PyTorch's loaded into
gpugrad mid-run), warnings and argument errors."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import gpugrad

STEPS = 30


def _opt(m, kind="SGD"):
    groups = [{"params": [m.zeros(2, requires_grad=True)], "lr": 0.1},
              {"params": [m.zeros(3, requires_grad=True)], "lr": 0.03}]
    if kind == "Adam":
        return m.optim.Adam(groups, lr=0.5, betas=(0.9, 0.99))
    return m.optim.SGD(groups, lr=0.5, momentum=0.9)


class _Halving:
    """A callable object: its attributes travel in the state dict."""

    def __init__(self):
        self.base = 0.9

    def __call__(self, x):
        return self.base ** x


def _sched(m):
    return m.optim.lr_scheduler


SCHEDULERS = [
    ("ConstantLR", "SGD", lambda m, o: _sched(m).ConstantLR(o, factor=0.5, total_iters=4)),
    ("MultiplicativeLR", "SGD",
     lambda m, o: _sched(m).MultiplicativeLR(o, lambda e: 0.95)),
    ("MultiplicativeLR_groups", "SGD",
     lambda m, o: _sched(m).MultiplicativeLR(o, [lambda e: 0.9, lambda e: 1.0 + 0.01 * e])),
    ("PolynomialLR", "SGD", lambda m, o: _sched(m).PolynomialLR(o, total_iters=8, power=2.0)),
    ("PolynomialLR_default", "SGD", lambda m, o: _sched(m).PolynomialLR(o)),
    ("WarmRestarts", "SGD",
     lambda m, o: _sched(m).CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001)),
    ("WarmRestarts_mult1", "SGD",
     lambda m, o: _sched(m).CosineAnnealingWarmRestarts(o, T_0=4)),
    ("CyclicLR", "SGD", lambda m, o: _sched(m).CyclicLR(o, 0.01, 0.1, step_size_up=4)),
    ("CyclicLR_triangular2", "SGD", lambda m, o: _sched(m).CyclicLR(
        o, [0.01, 0.001], [0.1, 0.05], step_size_up=3, step_size_down=5, mode="triangular2",
        base_momentum=[0.8, 0.7], max_momentum=0.95)),
    ("CyclicLR_exp_range_adam", "Adam", lambda m, o: _sched(m).CyclicLR(
        o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.97)),
    ("CyclicLR_scale_fn", "SGD", lambda m, o: _sched(m).CyclicLR(
        o, 0.01, 0.1, step_size_up=2, scale_fn=_Halving(), scale_mode="iterations",
        cycle_momentum=False)),
    ("OneCycleLR", "SGD", lambda m, o: _sched(m).OneCycleLR(o, max_lr=1.0, total_steps=STEPS)),
    ("OneCycleLR_linear_adam", "Adam", lambda m, o: _sched(m).OneCycleLR(
        o, max_lr=[0.5, 0.2], epochs=3, steps_per_epoch=10, anneal_strategy="linear",
        pct_start=0.25, div_factor=10.0, final_div_factor=100.0)),
    ("OneCycleLR_three_phase", "SGD", lambda m, o: _sched(m).OneCycleLR(
        o, max_lr=0.4, total_steps=STEPS + 2, three_phase=True, base_momentum=0.8,
        max_momentum=[0.9, 0.99])),
    ("OneCycleLR_no_momentum", "SGD", lambda m, o: _sched(m).OneCycleLR(
        o, max_lr=0.4, total_steps=STEPS, cycle_momentum=False)),
    ("SequentialLR", "SGD", lambda m, o: _sched(m).SequentialLR(
        o, [_sched(m).LinearLR(o, start_factor=0.1, total_iters=4),
            _sched(m).CosineAnnealingLR(o, T_max=10)], milestones=[5])),
    ("SequentialLR_three", "SGD", lambda m, o: _sched(m).SequentialLR(
        o, [_sched(m).ConstantLR(o, factor=0.2, total_iters=3),
            _sched(m).ExponentialLR(o, gamma=0.9), _sched(m).StepLR(o, step_size=4)],
        milestones=[4, 12])),
    ("ChainedScheduler", "SGD", lambda m, o: _sched(m).ChainedScheduler(
        [_sched(m).ConstantLR(o, factor=0.5, total_iters=5),
         _sched(m).ExponentialLR(o, gamma=0.95)])),
    ("ChainedScheduler_poly", "SGD", lambda m, o: _sched(m).ChainedScheduler(
        [_sched(m).LinearLR(o, start_factor=0.2, total_iters=6),
         _sched(m).PolynomialLR(o, total_iters=20, power=0.5)], optimizer=o)),
    ("SWALR", "SGD", lambda m, o: m.optim.swa_utils.SWALR(o, swa_lr=0.05, anneal_epochs=5)),
    ("SWALR_linear", "SGD", lambda m, o: m.optim.swa_utils.SWALR(
        o, swa_lr=[0.01, 0.2], anneal_epochs=3, anneal_strategy="linear")),
    ("SWALR_no_anneal", "SGD",
     lambda m, o: m.optim.swa_utils.SWALR(o, swa_lr=0.02, anneal_epochs=0)),
]
IDS = [name for name, _, _ in SCHEDULERS]


def _record(opt):
    out = []
    for g in opt.param_groups:
        out.append(g["lr"])
        out.append(g["betas"][0] if "betas" in g else g["momentum"])
    return out


def _run(m, kind, make, steps, resume_at=None, torch_state=None):
    """``steps`` optimizer/scheduler steps; with ``resume_at``, a fresh optimizer and
    scheduler take over there from state dicts (PyTorch's when ``torch_state`` is given)."""
    opt = _opt(m, kind)
    sched = make(m, opt)
    history = [sched.get_last_lr() + _record(opt)]
    for step in range(steps):
        if step == resume_at:
            saved = torch_state or (opt.state_dict(), sched.state_dict())
            opt = _opt(m, kind)
            sched = make(m, opt)
            opt.load_state_dict(copy.deepcopy(saved[0]))
            sched.load_state_dict(copy.deepcopy(saved[1]))
        opt.step()
        sched.step()
        history.append(sched.get_last_lr() + _record(opt))
    return history, opt, sched


@pytest.mark.parametrize("name,kind,make", SCHEDULERS, ids=IDS)
def test_schedule_matches_torch(name, kind, make):
    g_hist, g_opt, g_sched = _run(gpugrad, kind, make, STEPS)
    t_hist, t_opt, t_sched = _run(torch, kind, make, STEPS)
    np.testing.assert_allclose(g_hist, t_hist, rtol=1e-12, atol=1e-15)
    assert any(h[:2] != [0.1, 0.03] for h in t_hist)  # the schedule moved the lrs
    assert sorted(g_sched.state_dict()) == sorted(t_sched.state_dict())
    assert g_opt.state_dict()["param_groups"] == t_opt.state_dict()["param_groups"]


@pytest.mark.parametrize("name,kind,make", SCHEDULERS, ids=IDS)
def test_resume_from_state_dicts_matches_torch(name, kind, make):
    """Resumed at step 7 from gpugrad's own state dicts, and from PyTorch's (their numbers
    and Python values, loaded into gpugrad), the schedule goes on as PyTorch's uninterrupted."""
    t_hist, t_opt, t_sched = _run(torch, kind, make, 7)
    torch_state = (t_opt.state_dict(), t_sched.state_dict())
    t_full, _, _ = _run(torch, kind, make, STEPS)
    g_own, _, _ = _run(gpugrad, kind, make, STEPS, resume_at=7)
    g_torch, _, _ = _run(gpugrad, kind, make, STEPS, resume_at=7, torch_state=torch_state)
    np.testing.assert_allclose(g_own, t_full, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(g_torch, t_full, rtol=1e-12, atol=1e-15)


@pytest.mark.filterwarnings("ignore:The epoch parameter")
@pytest.mark.parametrize("epochs", [[4, 9, 2, 15], [0.5, 1.25, 3.75, 11.5]])
def test_warm_restarts_explicit_epochs_match_torch(epochs):
    history = []
    for m in (gpugrad, torch):
        opt = _opt(m)
        sched = m.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3)
        lrs = []
        for epoch in epochs:
            sched.step(epoch)
            lrs.append(sched.get_last_lr() + [sched.T_cur, sched.T_i])
        history.append(lrs)
    np.testing.assert_allclose(history[0], history[1], rtol=1e-12)


@pytest.mark.filterwarnings("ignore:The epoch parameter")
@pytest.mark.parametrize("name", ["ConstantLR", "PolynomialLR"])
def test_closed_forms_match_torch(name):
    history = []
    for m in (gpugrad, torch):
        opt = _opt(m)
        sched = getattr(m.optim.lr_scheduler, name)(opt, total_iters=6)
        opt.step()
        lrs = []
        for epoch in (4, 9, 2, 6, 0):
            sched.step(epoch)
            lrs.append(sched.get_last_lr())
        history.append(lrs)
    np.testing.assert_allclose(history[0], history[1], rtol=1e-12)


def test_get_lr_outside_step_warns_as_torch():
    for m in (gpugrad, torch):
        opt = _opt(m)
        for sched in (m.optim.lr_scheduler.PolynomialLR(opt),
                      m.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1),
                      m.optim.lr_scheduler.StepLR(opt, step_size=2)):
            with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
                sched.get_lr()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            opt.step()
            sched.step()


def test_one_cycle_past_total_steps_raises_as_torch():
    messages = []
    for m in (gpugrad, torch):
        opt = _opt(m)
        sched = m.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=3)
        for _ in range(3):
            opt.step()
            sched.step()
        with pytest.raises(ValueError) as info:
            sched.step()
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "Tried to step 4 times" in messages[0]


def _adagrad(m):
    return m.optim.Adagrad([m.zeros(2, requires_grad=True)])


BAD = [
    ("ConstantLR", lambda m, o: _sched(m).ConstantLR(o, factor=1.5)),
    ("MultiplicativeLR", lambda m, o: _sched(m).MultiplicativeLR(o, 0.9)),
    ("MultiplicativeLR_len", lambda m, o: _sched(m).MultiplicativeLR(o, [lambda e: 1.0])),
    ("WarmRestarts_T0", lambda m, o: _sched(m).CosineAnnealingWarmRestarts(o, T_0=0)),
    ("WarmRestarts_Tmult", lambda m, o: _sched(m).CosineAnnealingWarmRestarts(o, 2, 1.5)),
    ("WarmRestarts_eta", lambda m, o: _sched(m).CosineAnnealingWarmRestarts(o, 2, eta_min="0")),
    ("CyclicLR_mode", lambda m, o: _sched(m).CyclicLR(o, 0.1, 1.0, mode="sawtooth")),
    ("CyclicLR_len", lambda m, o: _sched(m).CyclicLR(o, [0.1], 1.0)),
    ("CyclicLR_momentum", lambda m, o: _sched(m).CyclicLR(_adagrad(m), 0.1, 1.0)),
    ("CyclicLR_not_optimizer", lambda m, o: _sched(m).CyclicLR(object(), 0.1, 1.0)),
    ("OneCycleLR_steps", lambda m, o: _sched(m).OneCycleLR(o, 1.0)),
    ("OneCycleLR_total", lambda m, o: _sched(m).OneCycleLR(o, 1.0, total_steps=0)),
    ("OneCycleLR_epochs", lambda m, o: _sched(m).OneCycleLR(o, 1.0, epochs=-1,
                                                            steps_per_epoch=2)),
    ("OneCycleLR_pct", lambda m, o: _sched(m).OneCycleLR(o, 1.0, 10, pct_start=1)),
    ("OneCycleLR_anneal", lambda m, o: _sched(m).OneCycleLR(o, 1.0, 10, anneal_strategy="x")),
    ("OneCycleLR_momentum", lambda m, o: _sched(m).OneCycleLR(_adagrad(m), 1.0, 10)),
    ("SequentialLR_empty", lambda m, o: _sched(m).SequentialLR(o, [], [])),
    ("SequentialLR_milestones", lambda m, o: _sched(m).SequentialLR(
        o, [_sched(m).ConstantLR(o), _sched(m).ConstantLR(o)], [1, 2])),
    ("SequentialLR_other_optimizer", lambda m, o: _sched(m).SequentialLR(
        o, [_sched(m).ConstantLR(_adagrad(m))], [])),
    ("SequentialLR_plateau", lambda m, o: _sched(m).SequentialLR(
        o, [_sched(m).ReduceLROnPlateau(o)], [])),
    ("ChainedScheduler_empty", lambda m, o: _sched(m).ChainedScheduler([])),
    ("ChainedScheduler_plateau", lambda m, o: _sched(m).ChainedScheduler(
        [_sched(m).ConstantLR(o), _sched(m).ReduceLROnPlateau(o)])),
    ("SWALR_strategy", lambda m, o: m.optim.swa_utils.SWALR(o, 0.1, anneal_strategy="x")),
    ("SWALR_epochs", lambda m, o: m.optim.swa_utils.SWALR(o, 0.1, anneal_epochs=-1)),
    ("SWALR_len", lambda m, o: m.optim.swa_utils.SWALR(o, [0.1, 0.2, 0.3])),
]


@pytest.mark.parametrize("name,make", BAD, ids=[n for n, _ in BAD])
def test_argument_errors_match_torch(name, make):
    raised = []
    for m in (gpugrad, torch):
        with pytest.raises(Exception) as info:
            make(m, _opt(m))
        raised.append(info.value)
    assert type(raised[0]) is type(raised[1])
    # messages naming an object print its repr, which differs between the libraries
    if "other_optimizer" not in name:
        assert str(raised[0]) == str(raised[1])


def test_overridden_optimizer_step_warns_as_torch():
    for m in (gpugrad, torch):
        opt = _opt(m)
        sched = m.optim.lr_scheduler.PolynomialLR(opt)
        opt.step = lambda closure=None: None  # replaced after the scheduler wrapped it
        with pytest.warns(UserWarning, match="has been overridden after learning rate"):
            sched.step()


@pytest.mark.parametrize("name,kwargs", [("ExponentialLR", {"gamma": 0.5}),
                                         ("LinearLR", {"total_iters": 8}),
                                         ("PolynomialLR", {"total_iters": 8}),
                                         ("MultiplicativeLR", {"lr_lambda": lambda e: 0.5})])
def test_constructed_with_a_last_epoch_keeps_the_lr_as_torch(name, kwargs):
    """A scheduler made with ``last_epoch`` (resuming) leaves the lrs as they are, then goes on
    from that epoch."""
    history = []
    for m in (gpugrad, torch):
        opt = _opt(m)
        for group in opt.param_groups:
            group["initial_lr"] = group["lr"] * 2
        sched = getattr(m.optim.lr_scheduler, name)(opt, last_epoch=3, **kwargs)
        lrs = [sched.get_last_lr()]
        for _ in range(6):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        history.append(lrs)
    np.testing.assert_allclose(history[0], history[1], rtol=1e-12)
    assert history[0][0] == [0.1, 0.03]
