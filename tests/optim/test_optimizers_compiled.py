"""The new optimizers and schedulers inside a compiled training step: their steps are islands
(host scalars such as NAdam's ``mu_product`` and ASGD's ``eta`` change every step), so each
compiled run equals the eager run bit for bit."""

from __future__ import annotations

import pytest
from compiler._helpers import batches, compare_runs, setup

import gpugrad

STEPS = 6

OPTIMIZERS = {
    "Adagrad": lambda ps: gpugrad.optim.Adagrad(ps, lr=0.05, lr_decay=0.01),
    "Adadelta": lambda ps: gpugrad.optim.Adadelta(ps, weight_decay=0.01),
    "Adamax": lambda ps: gpugrad.optim.Adamax(ps, lr=0.01),
    "NAdam": lambda ps: gpugrad.optim.NAdam(ps, lr=0.01, decoupled_weight_decay=True,
                                            weight_decay=0.1),
    "RAdam": lambda ps: gpugrad.optim.RAdam(ps, lr=0.01, betas=(0.5, 0.6)),
    "ASGD": lambda ps: gpugrad.optim.ASGD(ps, lr=0.05, t0=2),
    "Rprop": lambda ps: gpugrad.optim.Rprop(ps, lr=0.01),
    "Adafactor": lambda ps: gpugrad.optim.Adafactor(ps, lr=0.05, weight_decay=0.01),
    # Muon takes 2-D parameters only: the MLP's weights (its biases stay as they are)
    "Muon": lambda ps: gpugrad.optim.Muon([p for p in ps if p.dim() == 2], lr=0.02,
                                          adjust_lr_fn="match_rms_adamw"),
}

SCHEDULERS = {
    None: None,
    "OneCycleLR": lambda o: gpugrad.optim.lr_scheduler.OneCycleLR(o, max_lr=0.05,
                                                                  total_steps=STEPS),
    "SequentialLR": lambda o: gpugrad.optim.lr_scheduler.SequentialLR(
        o, [gpugrad.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=2),
            gpugrad.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2)], milestones=[3]),
}


@pytest.mark.parametrize("optimizer,scheduler", [(name, None) for name in OPTIMIZERS]
                         + [("NAdam", "OneCycleLR"), ("ASGD", "SequentialLR")])
def test_compiled_training_equals_eager(optimizer, scheduler):
    def build():
        parts = setup("mlp", "sgd")
        parts.optimizer = OPTIMIZERS[optimizer](list(parts.model.parameters()))
        if scheduler is not None:
            parts.scheduler = SCHEDULERS[scheduler](parts.optimizer)
        return parts

    def make(parts):
        def train_step(x, y):
            parts.optimizer.zero_grad()
            loss = parts.loss_fn(parts.model(x), y)
            loss.backward()
            parts.optimizer.step()
            if parts.scheduler is not None:
                parts.scheduler.step()
            return loss
        return train_step

    result = compare_runs(build, make, batches(STEPS, (8, 6), 4, seed=3))
    assert result.fn.stats.replays > 0
