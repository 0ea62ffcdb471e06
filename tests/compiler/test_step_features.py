"""What real training steps carry besides forward and backward: gradient clipping, learning-rate
schedulers, Dropout, gradient accumulation, train/eval switching, a ``no_grad`` evaluation.
Each compiled run equals the eager run of the same code bit for bit."""

from __future__ import annotations

import pytest
from compiler._helpers import (
    assert_identical,
    batches,
    compare_runs,
    setup,
    state_of,
    to_numpy,
    train_step_of,
)

import gpugrad
from gpugrad import nn

STEPS = 8


def test_clip_grad_norm_inside_the_step():
    def make(parts):
        def train_step(x, y):
            parts.optimizer.zero_grad()
            loss = parts.loss_fn(parts.model(x), y)
            loss.backward()
            # small enough that every step clips: the scale depends on this step's gradients
            norm = nn.utils.clip_grad_norm_(parts.model.parameters(), max_norm=0.05)
            parts.optimizer.step()
            return loss, norm
        return train_step

    data = batches(STEPS, (8, 6), 4, seed=10)
    result = compare_runs(lambda: setup("mlp", "sgd_nesterov_wd"), make, data)
    assert result.fn.stats.replays > 0
    norms = [float(norm) for _, norm in result.outputs]
    assert all(n > 0.05 for n in norms) and len(set(norms)) == STEPS, norms


def _with_scheduler(kind):
    def build():
        parts = setup("mlp", "sgd_nesterov_wd")
        if kind == "step":
            parts.scheduler = gpugrad.optim.lr_scheduler.StepLR(parts.optimizer, step_size=2,
                                                                gamma=0.5)
        else:
            parts.scheduler = gpugrad.optim.lr_scheduler.ExponentialLR(parts.optimizer,
                                                                       gamma=0.8)
        return parts
    return build


@pytest.mark.parametrize("kind", ["step", "exponential"])
def test_scheduler_stepping_inside_the_step(kind):
    """``scheduler.step()`` inside: the learning rate of every replay is the current one."""

    def make(parts):
        def train_step(x, y):
            parts.optimizer.zero_grad()
            loss = parts.loss_fn(parts.model(x), y)
            loss.backward()
            parts.optimizer.step()
            parts.scheduler.step()
            return loss
        return train_step

    data = batches(STEPS, (8, 6), 4, seed=11)
    result = compare_runs(_with_scheduler(kind), make, data)
    assert result.fn.stats.replays > 0
    lr = result.parts.optimizer.param_groups[0]["lr"]
    assert lr < 0.05 * 0.8 ** 3, lr  # it did decay


@pytest.mark.parametrize("kind", ["step", "exponential"])
def test_scheduler_stepping_between_the_steps(kind):
    """``scheduler.step()`` outside, after each call: the replays read the changed lr."""

    def between(i, parts):
        if i > 0:
            parts.scheduler.step()

    data = batches(STEPS, (8, 6), 4, seed=12)
    result = compare_runs(_with_scheduler(kind), train_step_of, data, between=between)
    assert result.fn.stats.replays > 0


def test_dropout_draws_fresh_masks_like_eager():
    """Same seed before both runs: the compiled run draws eager's masks, a new one each call.
    One fixed batch, so only the masks (and the parameters) change the loss from call to call."""
    data = batches(1, (8, 6), 4, seed=13) * STEPS
    build = lambda: setup("mlp", "sgd", dropout=0.5)  # noqa: E731
    result = compare_runs(build, train_step_of, data)
    assert result.fn.stats.replays > 0

    # with the learning rate at zero the parameters stay put: the losses still differ
    def frozen(parts):
        parts.optimizer.param_groups[0]["lr"] = 0.0
        return train_step_of(parts)

    result = compare_runs(build, frozen, data)
    losses = [float(loss) for loss in result.outputs]
    assert len(set(losses)) == STEPS, losses


def test_cnn_layers_step_with_channel_and_alpha_dropout():
    """ConvTranspose2d, Dropout2d, AlphaDropout and adaptive pooling in a compiled step: the
    masks are drawn fresh at each replay, as eager draws them."""
    data = batches(STEPS, (4, 2, 8, 8), 3, seed=15)
    result = compare_runs(lambda: setup("cnn_layers", "sgd"), train_step_of, data)
    assert result.fn.stats.replays > 0


def test_transformer_dropout_step():
    """Dropout inside attention and the feed-forward block, with Adam."""
    parts = setup("transformer", "adam")
    data = batches(STEPS, parts.x_shape, parts.classes, seed=14)
    result = compare_runs(lambda: setup("transformer", "adam"), train_step_of, data, seed=5)
    assert result.fn.stats.replays > 0


def test_gradient_accumulation_over_several_calls():
    """Backward only inside; ``step`` and ``zero_grad`` every ``k`` calls outside, so the calls
    see ``.grad`` absent (the first of each round) or holding the previous calls' sum."""
    k = 3

    def make(parts):
        def accumulate(x, y):
            loss = parts.loss_fn(parts.model(x), y) / k
            loss.backward()
            return loss
        return accumulate

    def between(i, parts):
        if i > 0 and i % k == 0:
            parts.optimizer.step()
            parts.optimizer.zero_grad()

    data = batches(5 * k + 1, (8, 6), 4, seed=15)
    result = compare_runs(lambda: setup("mlp", "adam"), make, data, between=between)
    assert result.fn.stats.replays > 0
    assert all(p.grad is not None for p in result.parts.model.parameters())


def _bn_model():
    model = nn.Sequential(nn.Linear(6, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.3),
                          nn.Linear(16, 4))
    parts = setup("mlp", "adam")
    parts.model, parts.optimizer = model, gpugrad.optim.Adam(model.parameters(), lr=1e-2)
    return parts


def test_train_and_eval_switching_between_calls():
    """One compiled function called in train mode and in eval mode (BatchNorm's batch statistics
    and running averages, Dropout on and off): each mode its own capture, both right."""

    def make(parts):
        def loss_and_backward(x, y):
            parts.optimizer.zero_grad()
            loss = parts.loss_fn(parts.model(x), y)
            loss.backward()
            parts.optimizer.step()
            return loss
        return loss_and_backward

    def between(i, parts):
        parts.model.train(i % 3 != 2)

    data = batches(3 * STEPS, (8, 6), 4, seed=16)
    result = compare_runs(_bn_model, make, data, between=between)
    assert result.fn.stats.replays > 0
    assert result.fn.stats.captures >= 2


def _evaluate_of(parts):
    @gpugrad.no_grad()
    def evaluate(x, y):
        logits = parts.model(x)
        return parts.loss_fn(logits, y), (logits.argmax(dim=1) == y).sum()
    return evaluate


def test_no_grad_evaluation_compiled():
    def between(i, parts):
        parts.model.eval()

    data = batches(STEPS, (8, 6), 4, seed=17)
    result = compare_runs(_bn_model, _evaluate_of, data, between=between)
    assert result.fn.stats.replays > 0
    loss, correct = result.outputs[-1]
    assert loss.requires_grad is False and correct.dtype == gpugrad.int64


def test_no_grad_evaluation_alternating_with_training():
    """A compiled training step and a compiled ``no_grad`` evaluation of the same model,
    alternating, the evaluation in eval mode: every evaluation sees the trained parameters and
    the running statistics of that moment."""
    held_out = batches(1, (8, 6), 4, seed=18)[0]
    runs = []
    for compiled in (False, True):
        gpugrad.manual_seed(0)
        parts = _bn_model()
        train_step, evaluate = train_step_of(parts), _evaluate_of(parts)
        if compiled:
            train_step, evaluate = gpugrad.compile(train_step), gpugrad.compile(evaluate)
        outputs = []
        for x, y in batches(STEPS, (8, 6), 4, seed=19):
            parts.model.train()
            outputs.append(train_step(x, y))
            parts.model.eval()
            outputs.append(evaluate(*held_out))
        runs.append((outputs, parts, train_step, evaluate))
    assert_identical(to_numpy(runs[0][0]), to_numpy(runs[1][0]), "outputs")
    assert_identical(state_of(runs[0][1]), state_of(runs[1][1]), "state")
    assert runs[1][2].stats.replays > 0 and runs[1][3].stats.replays > 0
    evaluation_losses = [float(loss) for loss, _ in runs[1][0][1::2]]
    assert len(set(evaluation_losses)) == STEPS, evaluation_losses


def test_autocast_inside_the_step():
    """Mixed precision (bfloat16 autocast on the CPU) around the forward: replayed, with eager's
    numbers (the bfloat16 logits too)."""

    def make(parts):
        def train_step(x, y):
            parts.optimizer.zero_grad()
            with gpugrad.autocast("cpu", dtype=gpugrad.bfloat16):
                logits = parts.model(x)
            loss = parts.loss_fn(logits.float(), y)
            loss.backward()
            parts.optimizer.step()
            return loss, logits
        return train_step

    data = batches(STEPS, (8, 6), 4, seed=20)
    result = compare_runs(lambda: setup("mlp", "adamw"), make, data)
    assert result.outputs[-1][1].dtype == gpugrad.bfloat16
    assert result.fn.stats.replays > 0


def test_grad_scaler_with_an_overflow_step():
    """``GradScaler`` (float16-style loss scaling on the CPU): scale, backward, ``scaler.step``
    and ``scaler.update`` inside the step. One call's input holds an inf: that step is skipped
    and the scale backs off, exactly as eager; the growth interval of 3 makes it grow too."""

    def make(parts):
        parts.scaler = gpugrad.amp.GradScaler("cpu", init_scale=2.0 ** 10, growth_interval=3)

        def train_step(x, y):
            parts.optimizer.zero_grad()
            loss = parts.loss_fn(parts.model(x), y)
            parts.scaler.scale(loss).backward()
            parts.scaler.step(parts.optimizer)
            parts.scaler.update()
            return loss
        return train_step

    data = batches(2 * STEPS, (8, 6), 4, seed=21)
    x, y = data[9]
    bad = x.numpy().copy()
    bad[0, 0] = float("inf")
    data[9] = (gpugrad.tensor(bad), y)

    def between(i, parts):
        if i == 0:
            parts.scales = []
        parts.scales.append(parts.scaler.get_scale())

    result = compare_runs(lambda: setup("mlp", "adam"), make, data, between=between)
    assert result.fn.stats.replays > 0
    scales = result.eager_parts.scales + [result.eager_parts.scaler.get_scale()]
    assert result.parts.scales + [result.parts.scaler.get_scale()] == scales
    assert scales[10] == scales[9] / 2 and max(scales) > scales[0], scales  # backed off, grew


def test_bad_target_raises_at_the_replay_that_meets_it():
    """A class index out of range in one batch: the replay raises eager's IndexError, nothing is
    updated, and training goes on with the next batches exactly as eager's does."""
    data = batches(STEPS, (8, 6), 4, seed=22)
    x, y = data[5]
    bad_y = y.numpy().copy()
    bad_y[3] = 7
    data[5] = (x, gpugrad.tensor(bad_y))
    runs = []
    for compiled in (False, True):
        gpugrad.manual_seed(0)
        parts = setup("mlp", "sgd_nesterov_wd")
        step = gpugrad.compile(train_step_of(parts)) if compiled else train_step_of(parts)
        outputs = []
        for i, (x, y) in enumerate(data):
            if i == 5:
                with pytest.raises(IndexError, match="out of bounds"):
                    step(x, y)
                continue
            outputs.append(step(x, y))
        runs.append((to_numpy(outputs), state_of(parts), step))
    assert_identical(runs[0][0], runs[1][0], "outputs")
    assert_identical(runs[0][1], runs[1][1], "state")
    assert runs[1][2].stats.replays > 0
