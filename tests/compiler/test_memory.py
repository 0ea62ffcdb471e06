"""Buffer sharing (gpugrad/compiler/memory.py): a replayed step keeps less memory than the
arrays its capture made, gives eager's numbers bit for bit, and reports what it keeps in
``compiled.stats.buffer_bytes``."""

from __future__ import annotations

import types

import pytest
from compiler._helpers import batches, compare_runs, setup, train_step_of

from gpugrad.compiler import memory
from gpugrad.compiler.session import Session

STEPS = 8


def _unshared(monkeypatch):
    monkeypatch.setattr(memory, "share", lambda steps, *a, **k: (steps, 0))


@pytest.mark.parametrize("model", ["mlp", "cnn", "lstm", "transformer"])
def test_shared_buffers_keep_less_and_agree_with_eager(model, monkeypatch):
    build = lambda: setup(model, "adam")  # noqa: E731
    parts = build()
    data = batches(STEPS, parts.x_shape, parts.classes, seed=3)
    shared = compare_runs(build, train_step_of, data).fn.stats.buffer_bytes
    _unshared(monkeypatch)
    unshared = compare_runs(build, train_step_of, data).fn.stats.buffer_bytes
    assert 0 < shared < 0.8 * unshared, (shared, unshared)


def test_gradients_lend_their_memory_until_written(monkeypatch):
    """With ``zero_grad()`` in the step, activations of the forward live in the memory of the
    gradients the backward writes last (here a 64-128-128-10 MLP, batch 32: each activation is
    16 KiB, the first weight's gradient 32 KiB)."""
    from gpugrad import nn, optim

    def build():
        model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                              nn.Linear(128, 10))
        return types.SimpleNamespace(model=model, optimizer=optim.SGD(
            model.parameters(), lr=0.1), loss_fn=nn.CrossEntropyLoss())

    data = batches(STEPS, (32, 64), 10, seed=4)
    hosted = compare_runs(build, train_step_of, data).fn.stats.buffer_bytes
    monkeypatch.setattr(Session, "_fresh_grads", lambda self: {})
    alone = compare_runs(build, train_step_of, data).fn.stats.buffer_bytes
    assert hosted <= alone - 2 * 32 * 128 * 4, (hosted, alone)


def test_accumulation_across_calls_keeps_its_gradients():
    """Without ``zero_grad()`` in the step the old gradients are read (summed into): nothing
    may live in their memory. Two calls accumulate, then the optimizer steps outside."""
    parts_holder = {}

    def make(parts):
        parts_holder["p"] = parts

        def step(x, y):
            loss = parts.loss_fn(parts.model(x), y)
            loss.backward()
            return loss
        return step

    def between(i, parts):
        if i % 2 == 0:
            parts.optimizer.step()
            parts.optimizer.zero_grad()

    data = batches(STEPS, (8, 6), 4, seed=5)
    compare_runs(lambda: setup("mlp", "sgd"), make, data, between=between)
