"""Islands see each call's own arguments: the value checks of the losses run on the new batch."""

from __future__ import annotations

import types

import numpy as np
import pytest
from compiler._helpers import compare_runs

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


class _TokenModel(nn.Module):
    """Embedding lookups and a gather of data-dependent positions: index checks on the host."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(20, 6)
        self.head = nn.Linear(6, 5)

    def forward(self, tokens, picks):
        h = self.embedding(tokens)  # (N, T, 6)
        scores = self.head(h).mean(1)  # (N, 5)
        return scores.gather(1, picks) + scores.index_select(1, picks[0])


def test_index_checks_replay_for_new_batches_and_raise_at_a_bad_one():
    """Embedding, gather and index_select check each new batch's indices (islands): a replay
    must not compare the first batch's minimum and maximum with the next one's."""

    def make(parts):
        def step(tokens, picks, y):
            parts.optimizer.zero_grad()
            loss = parts.loss_fn(parts.model(tokens, picks), y)
            loss.backward()
            parts.optimizer.step()
            return loss
        return step

    rng = np.random.default_rng(6)
    calls = [(gpugrad.tensor(rng.integers(0, 20, (4, 7))),
              gpugrad.tensor(rng.integers(0, 5, (4, 5))),
              gpugrad.tensor(rng.integers(0, 5, 4))) for _ in range(6)]

    def build():
        model = _TokenModel()
        return types.SimpleNamespace(model=model, loss_fn=nn.CrossEntropyLoss(),
                                     optimizer=gpugrad.optim.SGD(model.parameters(), lr=0.1))

    run = compare_runs(build, make, calls)
    assert run.fn.stats.replays == 4, run.fn.stats
    bad_tokens = calls[0][0].clone()
    bad_tokens[1, 2] = 23
    with pytest.raises(IndexError, match="index out of range in self"):  # (the new index)
        run.fn(bad_tokens, *calls[0][1:])


def test_a_check_that_diverges_after_zero_grad_runs_the_step_eagerly():
    """``zero_grad`` and the value checks can run twice, so a replay that diverges after them
    (here: cross-entropy's path for batches with ignored targets, met after the capture) starts
    the step over eagerly instead of failing; results equal eager's."""

    def make(parts):
        def step(x, y):
            parts.optimizer.zero_grad()
            loss = nn.functional.cross_entropy(parts.model(x), y, ignore_index=0)
            loss.backward()
            parts.optimizer.step()
            return loss
        return step

    rng = np.random.default_rng(8)
    calls = []
    for i in range(6):
        y = rng.integers(1, 4, 5)
        if i >= 3:
            y[0] = 0  # ignored from the fourth batch on
        calls.append((gpugrad.tensor(rng.standard_normal((5, 3)).astype(np.float32)),
                      gpugrad.tensor(y)))

    def build():
        model = nn.Linear(3, 4)
        return types.SimpleNamespace(model=model, loss_fn=None,
                                     optimizer=gpugrad.optim.SGD(model.parameters(), lr=0.1))

    run = compare_runs(build, make, calls, allow_warnings=True)
    assert run.fn.stats.eager_calls >= 3, run.fn.stats
