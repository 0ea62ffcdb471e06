"""Islands see each call's own arguments: the value checks of the losses run on the new batch."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad
from gpugrad import nn


def test_out_of_range_target_in_a_later_batch_raises_at_its_replay():
    gpugrad.manual_seed(0)
    model, loss_fn = nn.Linear(3, 4), nn.CrossEntropyLoss()

    @gpugrad.compile
    def step(x, y):
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

    x = gpugrad.ones(2, 3)
    for y in ([0, 1], [1, 2], [2, 3]):
        step(x, gpugrad.tensor(y))
    assert step.stats.replays == 1
    with pytest.raises(IndexError, match="Target 7 is out of bounds"):
        step(x, gpugrad.tensor([0, 7]))


def test_binary_cross_entropy_checks_each_replayed_input():
    gpugrad.manual_seed(0)
    weight = gpugrad.ones(3, requires_grad=True)

    @gpugrad.compile
    def step(p, y):
        loss = nn.functional.binary_cross_entropy(p * weight, y)
        loss.backward()
        return loss

    y = gpugrad.tensor(np.array([0.0, 1.0, 1.0], np.float32))
    for v in (0.2, 0.5, 0.7):
        step(gpugrad.full((3,), v), y)
    assert step.stats.replays == 1
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        step(gpugrad.full((3,), 1.5), y)
