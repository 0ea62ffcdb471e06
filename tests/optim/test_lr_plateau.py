"""ReduceLROnPlateau against PyTorch's where training scripts lean on it: its state dict's
keys (so a checkpoint from either library loads into the other), a param group added to the
optimizer later (fine-tuning that unfreezes a block), the epoch argument's warning, and its
type."""

from __future__ import annotations

import pytest
import torch

import gpugrad


def _plateau(m, **kw):
    opt = m.optim.SGD([m.nn.Parameter(m.ones(2))], lr=1.0)
    return opt, m.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, **kw)


@pytest.mark.parametrize("kw", [{}, {"min_lr": 0.05, "mode": "max"}, {"min_lr": [0.2]}])
def test_state_dict_has_torch_keys_and_round_trips(kw):
    (_, ours), (their_opt, theirs) = _plateau(gpugrad, **kw), _plateau(torch, **kw)
    for metric in (3.0, 2.0, 2.5, 2.6):
        ours.step(metric)
        theirs.step(metric)
    assert ours.state_dict() == theirs.state_dict()
    # PyTorch's checkpoint loads into gpugrad's scheduler and carries on the same way.
    fresh_opt, fresh = _plateau(gpugrad, **kw)
    fresh.load_state_dict(theirs.state_dict())
    fresh_opt.param_groups[0]["lr"] = their_opt.param_groups[0]["lr"]  # (the optimizer's)
    for metric in (2.7, 1.0, 1.5):
        fresh.step(metric)
        theirs.step(metric)
    assert fresh.state_dict() == theirs.state_dict()
    assert fresh.get_last_lr() == pytest.approx(theirs.get_last_lr())


def test_param_group_added_later_is_reduced_too():
    lrs = []
    for m in (gpugrad, torch):
        opt, sched = _plateau(m, min_lr=0.02)
        sched.step(1.0)
        opt.add_param_group({"params": [m.nn.Parameter(m.ones(1))], "lr": 0.1})
        for metric in (2.0, 3.0, 4.0):
            sched.step(metric)
        lrs.append(([g["lr"] for g in opt.param_groups], sched.min_lrs))
    assert lrs[0][1] == lrs[1][1] == [0.02, 0.02]
    assert lrs[0][0] == pytest.approx(lrs[1][0])
    assert lrs[0][0] == pytest.approx([0.02, 0.02])


def test_param_group_added_later_with_min_lr_list_raises_as_torch():
    messages = []
    for m in (gpugrad, torch):
        opt, sched = _plateau(m, min_lr=[0.0])
        sched.step(1.0)
        opt.add_param_group({"params": [m.nn.Parameter(m.ones(1))]})
        with pytest.raises(RuntimeError) as info:
            sched.step(2.0)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_epoch_argument_warns_and_type_is_lr_scheduler():
    for m in (gpugrad, torch):
        _, sched = _plateau(m)
        with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)`"):
            sched.step(1.0, 5)
        assert sched.last_epoch == 5
        assert isinstance(sched, m.optim.lr_scheduler.LRScheduler)
        assert not sched.in_cooldown
