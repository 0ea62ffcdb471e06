"""A whole training step compiled (``zero_grad``, forward, loss, ``backward``, ``step``) gives
the eager run's losses, parameters, gradients and optimizer state bit for bit, for each kind
of model and each optimizer, over enough steps that most calls are replays."""

from __future__ import annotations

import pytest
from compiler._helpers import (
    OPTIMIZERS,
    batches,
    compare_runs,
    setup,
    train_step_of,
)

import gpugrad

STEPS = 8

# every model with one or two optimizers, and every optimizer on the MLP (below): 16 runs
# instead of the 30 of the full product
MODEL_OPTIMIZER = [
    ("cnn", "sgd_nesterov_wd"), ("cnn", "adam"),
    ("lstm", "rmsprop"), ("lstm", "adamw"),
    ("gru", "sgd"), ("gru", "adam_amsgrad_wd"),
    ("transformer", "adamw"), ("transformer", "sgd_nesterov_wd"),
]


def _run(model_name, optimizer_name, steps=STEPS, **kwargs):
    probe = setup(model_name, optimizer_name)
    data = batches(steps, probe.x_shape, probe.classes, seed=1)
    return compare_runs(lambda: setup(model_name, optimizer_name), train_step_of, data, **kwargs)


@pytest.mark.parametrize("optimizer_name", sorted(OPTIMIZERS))
def test_mlp_step_with_each_optimizer(optimizer_name):
    result = _run("mlp", optimizer_name)
    assert result.fn.stats.replays > 0
    assert result.fn.stats.fallbacks == []


@pytest.mark.parametrize("model_name,optimizer_name", MODEL_OPTIMIZER)
def test_step_of_each_model(model_name, optimizer_name):
    result = _run(model_name, optimizer_name)
    assert result.fn.stats.replays > 0
    assert result.fn.stats.fallbacks == []


def test_the_parameters_move_and_the_loss_falls():
    """The comparison above is not of two frozen runs: the replays do train."""
    gpugrad.manual_seed(0)
    parts = setup("mlp", "adam")
    step = gpugrad.compile(train_step_of(parts))
    x, y = batches(1, parts.x_shape, parts.classes, seed=3)[0]
    before = [p.detach().numpy().copy() for p in parts.model.parameters()]
    losses = [float(step(x, y)) for _ in range(12)]
    assert step.stats.replays >= 8
    assert losses[-1] < 0.7 * losses[0], losses
    after = [p.detach().numpy() for p in parts.model.parameters()]
    assert all((a != b).any() for a, b in zip(after, before))


def test_zero_grad_at_the_end_of_the_step():
    """``zero_grad`` after ``step`` (the other common order): ``.grad`` is None between calls."""

    def make(parts):
        def train_step(x, y):
            loss = parts.loss_fn(parts.model(x), y)
            loss.backward()
            parts.optimizer.step()
            parts.optimizer.zero_grad()
            return loss
        return train_step

    data = batches(STEPS, (8, 6), 4, seed=2)
    result = compare_runs(lambda: setup("mlp", "adam"), make, data)
    assert result.fn.stats.replays > 0
    assert all(p.grad is None for p in result.parts.model.parameters())


def test_zero_grad_set_to_zero_and_module_zero_grad():
    """``optimizer.zero_grad(set_to_none=False)`` and ``model.zero_grad()`` as islands."""

    def make(parts):
        def train_step(x, y):
            parts.optimizer.zero_grad(set_to_none=False)
            parts.model.zero_grad()
            out = parts.model(x)
            loss = parts.loss_fn(out, y)
            loss.backward()
            parts.optimizer.step()
            return loss, out.detach()
        return train_step

    data = batches(STEPS, (8, 6), 4, seed=4)
    result = compare_runs(lambda: setup("mlp", "sgd_nesterov_wd"), make, data)
    assert result.fn.stats.replays > 0


def test_step_returning_several_values():
    """A tuple of outputs: the loss, the logits and the accuracy, all equal to eager."""

    def make(parts):
        def train_step(x, y):
            parts.optimizer.zero_grad()
            logits = parts.model(x)
            loss = parts.loss_fn(logits, y)
            loss.backward()
            parts.optimizer.step()
            correct = (logits.argmax(dim=1) == y).sum()
            return loss, logits, correct
        return train_step

    data = batches(STEPS, (8, 6), 4, seed=5)
    result = compare_runs(lambda: setup("mlp", "rmsprop"), make, data)
    assert result.fn.stats.replays > 0
    assert isinstance(result.outputs[-1], tuple) and len(result.outputs[-1]) == 3


def test_float64_model():
    def build():
        parts = setup("mlp", "adam")
        parts.model.double()
        return parts

    data = batches(STEPS, (8, 6), 4, seed=6, dtype="float64")
    result = compare_runs(build, train_step_of, data)
    assert result.fn.stats.replays > 0
    assert result.outputs[-1].dtype == gpugrad.float64
