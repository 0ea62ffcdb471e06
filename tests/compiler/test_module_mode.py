"""Module mode: ``cmodel = gpugrad.compile(model)`` is an ``nn.Module`` wrapping ``_orig_mod``
whose forward replays; the loss, ``backward()`` and ``optimizer.step()`` stay in eager code
outside, and the whole run equals the eager model's bit for bit (losses, parameters, their
``.grad``, optimizer state), in train mode, in eval mode and under ``no_grad``."""

from __future__ import annotations

import pytest
from compiler._helpers import (
    assert_identical,
    batches,
    setup,
    state_of,
    to_numpy,
)

import gpugrad
from gpugrad import nn

STEPS = 8


def _train(model_name, optimizer_name, compiled, steps=STEPS, seed=0, **model_kwargs):
    """PyTorch's usual loop around a (compiled) model; the losses, the parts and the model."""
    gpugrad.manual_seed(seed)
    parts = setup(model_name, optimizer_name, **model_kwargs)
    model = gpugrad.compile(parts.model) if compiled else parts.model
    losses = []
    for x, y in batches(steps, parts.x_shape, parts.classes, seed=50):
        parts.optimizer.zero_grad()
        loss = parts.loss_fn(model(x), y)
        loss.backward()
        parts.optimizer.step()
        losses.append(loss)
    return losses, parts, model


def test_compiled_module_wraps_the_original():
    gpugrad.manual_seed(0)
    model = setup("mlp").model
    cmodel = gpugrad.compile(model)
    assert isinstance(cmodel, nn.Module)
    assert type(cmodel).__name__ == "OptimizedModule"
    assert cmodel._orig_mod is model
    assert [id(p) for p in cmodel.parameters()] == [id(p) for p in model.parameters()]


@pytest.mark.parametrize("model_name,optimizer_name", [
    ("mlp", "sgd_nesterov_wd"), ("mlp", "adam"), ("cnn", "adamw"), ("lstm", "rmsprop"),
    ("transformer", "adam"),
])
def test_module_training_loop_equals_eager(model_name, optimizer_name):
    eager_losses, eager_parts, _ = _train(model_name, optimizer_name, compiled=False)
    losses, parts, cmodel = _train(model_name, optimizer_name, compiled=True)
    assert all(loss.grad_fn is not None for loss in losses)  # backward outside works on it
    assert_identical(to_numpy(eager_losses), to_numpy(losses), "losses")
    assert_identical(state_of(eager_parts), state_of(parts), "state")
    assert cmodel.stats.replays > 0


def test_module_with_dropout_equals_eager():
    eager_losses, eager_parts, _ = _train("mlp", "adam", compiled=False, dropout=0.5)
    losses, parts, cmodel = _train("mlp", "adam", compiled=True, dropout=0.5)
    assert_identical(to_numpy(eager_losses), to_numpy(losses), "losses")
    assert_identical(state_of(eager_parts), state_of(parts), "state")
    assert cmodel.stats.replays > 0


def test_module_gradient_reaches_the_input():
    """The replayed forward is a node of the eager tape: gradients flow to a leaf input too."""
    gpugrad.manual_seed(0)
    model = setup("mlp").model
    cmodel = gpugrad.compile(model)
    data = batches(6, (8, 6), 4, seed=51)
    for x, _ in data:
        grads = []
        for m in (model, cmodel):
            x_leaf = x.clone().requires_grad_()
            m(x_leaf).square().sum().backward()
            grads.append(to_numpy([x_leaf.grad] + [p.grad for p in model.parameters()]))
            model.zero_grad()
        assert_identical(grads[0], grads[1], "input and parameter grads")
    assert cmodel.stats.replays > 0


def test_module_eval_mode_and_no_grad_forward():
    """Train a little, then ``cmodel.eval()`` and forward under ``no_grad``: BatchNorm's running
    statistics and Dropout off, as the eager model; then back to ``train()``."""

    def run(compiled):
        gpugrad.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                              nn.Linear(16, 4))
        cmodel = gpugrad.compile(model) if compiled else model
        optimizer = gpugrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        outputs = []
        data = batches(3 * STEPS, (8, 6), 4, seed=52)
        for i, (x, y) in enumerate(data):
            if i % 3 == 2:
                cmodel.eval()
                assert not model.training and not model[1].training
                with gpugrad.no_grad():
                    logits = cmodel(x)
                assert logits.requires_grad is False
                outputs.append(logits)
                cmodel.train()
                assert model.training and model[3].training
            else:
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(cmodel(x), y)
                loss.backward()
                optimizer.step()
                outputs.append(loss)
        return outputs, model, optimizer, cmodel

    e_out, e_model, e_opt, _ = run(False)
    c_out, c_model, c_opt, cmodel = run(True)
    assert_identical(to_numpy(e_out), to_numpy(c_out), "outputs")
    e_state = state_of(type("P", (), {"model": e_model, "optimizer": e_opt})())
    c_state = state_of(type("P", (), {"model": c_model, "optimizer": c_opt})())
    assert_identical(e_state, c_state, "state")
    assert cmodel.stats.replays > 0


def test_module_outputs_are_not_overwritten_by_later_calls():
    gpugrad.manual_seed(0)
    model = setup("mlp").model.eval()
    cmodel = gpugrad.compile(model)
    data = batches(6, (8, 6), 4, seed=53)
    with gpugrad.no_grad():
        outputs = [cmodel(x) for x, _ in data]
        expected = [model(x) for x, _ in data]
    assert_identical(to_numpy(expected), to_numpy(outputs), "outputs")
    assert cmodel.stats.replays > 0
