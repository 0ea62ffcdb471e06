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


class _Trainer:
    """A training loop kept in an object, as Lightning-style code does: the step is a bound
    method; ``epoch`` is bookkeeping the step never reads, ``cfg.scale`` a number it reads two
    attributes deep."""

    def __init__(self, parts):
        self.parts = parts
        self.epoch = 0
        self.cfg = type("Config", (), {})()
        self.cfg.scale = 1.0

    def step(self, x, y):
        p = self.parts
        p.optimizer.zero_grad()
        loss = p.loss_fn(p.model(x) * self.cfg.scale, y)
        loss.backward()
        p.optimizer.step()
        return loss


def test_bookkeeping_the_step_does_not_read_does_not_capture_again():
    def between(i, parts):
        parts.trainer.epoch = i  # changes every call; the step never reads it

    def make(parts):
        parts.trainer = _Trainer(parts)
        return parts.trainer.step

    data = batches(STEPS, (8, 6), 4, seed=85)
    run = compare_runs(lambda: setup("mlp", "sgd"), make, data, between=between)
    assert run.fn.stats.captures == 1, run.fn.stats
    assert run.fn.stats.replays == STEPS - 2, run.fn.stats


def test_number_two_attributes_deep_changed_between_calls():
    def between(i, parts):
        parts.trainer.cfg.scale = 1.0 + i // 4

    def make(parts):
        parts.trainer = _Trainer(parts)
        return parts.trainer.step

    data = batches(STEPS, (8, 6), 4, seed=86)
    run = compare_runs(lambda: setup("mlp", "sgd"), make, data, between=between)
    assert run.fn.stats.captures == 3, run.fn.stats  # one per value of the scale


def test_step_that_counts_its_calls_runs_eagerly_with_a_warning():
    """``self.calls += 1`` inside the step: a replay would skip it, so the step runs eagerly
    (one warning naming the value) and the counter ends where eager's does."""

    class Counting(_Trainer):
        def step(self, x, y):
            self.calls = getattr(self, "calls", 0) + 1
            return super().step(x, y)

    def make(parts):
        parts.trainer = Counting(parts)
        parts.trainer.calls = 0
        return parts.trainer.step

    data = batches(STEPS, (8, 6), 4, seed=87)
    run = compare_runs(lambda: setup("mlp", "sgd"), make, data, allow_warnings=True)
    assert run.parts.trainer.calls == run.eager_parts.trainer.calls == STEPS
    assert run.fn.stats.replays == 0, run.fn.stats
    assert len(run.warnings) == 1 and "'calls'" in run.warnings[0], run.warnings
