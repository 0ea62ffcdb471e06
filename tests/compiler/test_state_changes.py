"""Training state changed by eager code between calls of a compiled step: the next replay must
see it, exactly as the eager step would. Freezing a layer, setting the learning rate by hand,
and resuming from a checkpoint (``load_state_dict`` of the model and of the optimizer, whose
state tensors are new objects afterwards)."""

from __future__ import annotations

import copy

from compiler._helpers import batches, compare_runs, setup, train_step_of

import gpugrad

STEPS = 10


def test_freezing_a_layer_between_calls():
    """``requires_grad_(False)`` on the first layer after four steps: from then on it gets no
    gradient and stays put (and SGD with momentum stops moving it)."""

    def between(i, parts):
        if i == 4:
            for p in parts.model[0].parameters():
                p.requires_grad_(False)

    data = batches(STEPS, (8, 6), 4, seed=80)
    result = compare_runs(lambda: setup("mlp", "sgd_nesterov_wd"), train_step_of, data,
                          between=between)
    assert result.fn.stats.replays > 0
    assert all(p.grad is None for p in result.parts.model[0].parameters())


def test_learning_rate_set_by_hand_between_calls():
    def between(i, parts):
        for group in parts.optimizer.param_groups:
            group["lr"] = 0.1 / (1 + i)

    data = batches(STEPS, (8, 6), 4, seed=81)
    result = compare_runs(lambda: setup("mlp", "adam"), train_step_of, data, between=between)
    assert result.fn.stats.replays > 0


def test_resuming_from_a_checkpoint_between_calls():
    """After step 3 both state dicts are saved; after step 7 they are loaded back (new optimizer
    state tensors, parameters overwritten in place) and training goes on."""

    def between(i, parts):
        if i == 3:
            parts.saved = (copy.deepcopy(parts.model.state_dict()),
                           copy.deepcopy(parts.optimizer.state_dict()))
        if i == 7:
            parts.model.load_state_dict(parts.saved[0])
            parts.optimizer.load_state_dict(parts.saved[1])

    data = batches(STEPS, (8, 6), 4, seed=82)
    result = compare_runs(lambda: setup("mlp", "adam"), train_step_of, data, between=between)
    assert result.fn.stats.replays > 0


def test_parameters_overwritten_in_place_between_calls():
    """A layer re-initialised in place mid-run (as a user resets a classifier head)."""

    def between(i, parts):
        if i == 5:
            with gpugrad.no_grad():
                parts.model[-1].weight.mul_(0.0).add_(0.01)
                parts.model[-1].bias.zero_()

    data = batches(STEPS, (8, 6), 4, seed=83)
    result = compare_runs(lambda: setup("mlp", "sgd"), train_step_of, data, between=between)
    assert result.fn.stats.replays > 0


def test_python_number_read_from_an_attribute_changed_between_calls():
    """A temperature (or a KL weight, a label-smoothing factor...) kept as a plain Python float on
    an object and annealed between calls, as training scripts do: the replays must use the new
    value, or re-capture, or fall back; never the captured one."""

    def make(parts):
        parts.temperature = 1.0

        def train_step(x, y):
            parts.optimizer.zero_grad()
            loss = parts.loss_fn(parts.model(x) / parts.temperature, y)
            loss.backward()
            parts.optimizer.step()
            return loss
        return train_step

    def between(i, parts):
        parts.temperature = 1.0 + i // 4

    data = batches(STEPS, (8, 6), 4, seed=84)
    compare_runs(lambda: setup("mlp", "sgd"), make, data, between=between, allow_warnings=True)
