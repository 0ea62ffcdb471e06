"""``gpugrad.compile``'s surface: torch.compile's signature and decorator forms, arguments it
cannot honour (one ``CompileWarning`` each, then ignored), ``disable=True``, outputs that are
ordinary tensors which later replays leave alone, ``reset()`` and ``is_compiling()``."""

from __future__ import annotations

import warnings

import pytest
from compiler._helpers import (
    assert_identical,
    batches,
    compare_runs,
    setup,
    to_numpy,
    train_step_of,
)

import gpugrad

STEPS = 6


def _data():
    return batches(STEPS, (8, 6), 4, seed=60)


@pytest.mark.parametrize("kwargs", [
    {"mode": "reduce-overhead"},
    {"fullgraph": True},
    {"dynamic": False},
    {"backend": "inductor"},
    {"backend": "eager"},
    {"mode": "reduce-overhead", "fullgraph": True, "dynamic": False, "backend": "inductor"},
], ids=lambda kwargs: ",".join(kwargs))
def test_supported_arguments_are_accepted_silently(kwargs):
    result = compare_runs(lambda: setup("mlp", "adam"), train_step_of, _data(),
                          compile_kwargs=kwargs)
    assert result.fn.stats.replays > 0


@pytest.mark.parametrize("kwargs", [
    {"dynamic": True},
    {"options": {"triton.cudagraphs": True}},
    {"backend": lambda graph_module, example_inputs: graph_module},
], ids=["dynamic", "options", "backend-callable"])
def test_unsupported_arguments_warn_once_and_are_ignored(kwargs):
    result = compare_runs(lambda: setup("mlp", "adam"), train_step_of, _data(),
                          compile_kwargs=kwargs, allow_warnings=True)
    assert len(result.warnings) == 1, result.warnings
    assert result.fn.stats.replays > 0


def test_torch_argument_errors():
    with pytest.raises(RuntimeError):
        gpugrad.compile(train_step_of, mode="reduce-overhead", options={"a": 1})
    with pytest.raises(RuntimeError):
        gpugrad.compile(train_step_of, mode="fastest-please")
    with pytest.raises((TypeError, RuntimeError)):
        gpugrad.compile(42)


def test_disable_returns_the_function_unchanged():
    def step(x):
        return x * 2

    assert gpugrad.compile(step, disable=True) is step
    assert gpugrad.compile(disable=True)(step) is step


def test_decorator_forms():
    gpugrad.manual_seed(0)
    parts = setup("mlp", "sgd")

    @gpugrad.compile
    def plain(x):
        return parts.model(x).relu().sum(dim=1)

    @gpugrad.compile(mode="reduce-overhead")
    def with_options(x):
        return parts.model(x).relu().sum(dim=1)

    with gpugrad.no_grad():
        for x, _ in _data():
            expected = parts.model(x).relu().sum(dim=1)
            assert_identical(to_numpy(expected), to_numpy(plain(x)))
            assert_identical(to_numpy(expected), to_numpy(with_options(x)))
    assert plain.stats.replays == with_options.stats.replays == STEPS - 2


def test_compiled_method():
    """A compiled function used as a method binds ``self`` like the function would."""

    class Trainer:
        def __init__(self, parts):
            self.parts = parts

        @gpugrad.compile
        def step(self, x, y):
            return train_step_of(self.parts)(x, y)

    trainers = []
    for _ in range(2):
        gpugrad.manual_seed(0)
        trainers.append(Trainer(setup("mlp", "adam")))
    data = _data()
    eager = [train_step_of(trainers[0].parts)(x, y) for x, y in data]
    compiled = [trainers[1].step(x, y) for x, y in data]
    assert_identical(to_numpy(eager), to_numpy(compiled))
    assert Trainer.step.stats.replays > 0


def test_outputs_are_ordinary_tensors_that_later_replays_leave_alone():
    gpugrad.manual_seed(0)
    parts = setup("mlp", "adam")
    step = gpugrad.compile(train_step_of(parts))
    losses = []
    for x, y in _data():
        losses.append(step(x, y))
    assert step.stats.replays > 0
    replayed = losses[2:]
    assert all(type(loss) is gpugrad.Tensor for loss in losses)
    assert all(not loss.requires_grad and loss.grad_fn is None for loss in replayed)
    assert len({loss.numpy().tobytes() for loss in replayed}) == len(replayed)
    # one output changed in place changes nothing else: not the next replay, not the others
    before = to_numpy(losses)
    losses[3].add_(100.0)
    x, y = _data()[0]
    step(x, y)
    assert (losses[3].numpy() == before[3] + 100.0).all()
    assert all((to_numpy(losses[i]) == before[i]).all() for i in range(len(losses)) if i != 3)


def test_pure_function_outputs_kept_across_replays():
    """Outputs of a function without parameters: each call's result survives the replays
    after it (a replay writing into the buffer it returned last time would overwrite it)."""
    fn = gpugrad.compile(lambda x: (x * 3).exp())
    inputs = [x for x, _ in _data()]
    outputs = [fn(x) for x in inputs]
    assert fn.stats.replays == STEPS - 2
    for x, out in zip(inputs, outputs):
        assert_identical(to_numpy((x * 3).exp()), to_numpy(out))


def test_reset_forgets_the_captures():
    w = gpugrad.ones(6, 3)
    fn = gpugrad.compile(lambda x: (x @ w).sin())
    inputs = [x for x, _ in _data()]
    outputs = [fn(x) for x in inputs]
    assert (fn.stats.captures, fn.stats.replays) == (1, STEPS - 2)
    gpugrad.compiler.reset()
    outputs += [fn(x) for x in inputs]
    assert (fn.stats.captures, fn.stats.replays) == (2, 2 * (STEPS - 2))
    assert_identical(to_numpy([(x @ w).sin() for x in inputs * 2]), to_numpy(outputs))


def test_is_compiling_only_while_a_capture_records():
    seen = []

    def fn(x):
        seen.append(gpugrad.compiler.is_compiling())
        return x + 1

    compiled = gpugrad.compile(fn)
    for x, _ in _data():
        compiled(x)
    assert gpugrad.compiler.is_compiling() is False
    assert seen == [False, True]  # warm-up, capture; the replays do not run Python


def test_import_gpugrad_as_torch():
    import gpugrad as torch

    assert torch.compile is gpugrad.compile
    assert issubclass(torch.compiler.CompileWarning, UserWarning)


def test_replays_raise_no_warnings():
    """A replay is silent: under ``-W error`` (as many test suites run) it must not fail where
    the eager step would not. ReLU, max pooling and clipping replay np.maximum/np.minimum."""
    gpugrad.manual_seed(0)
    parts = setup("cnn", "adam")

    def train_step(x, y):
        parts.optimizer.zero_grad()
        loss = parts.loss_fn(parts.model(x), y)
        loss.backward()
        gpugrad.nn.utils.clip_grad_norm_(parts.model.parameters(), 0.5)
        parts.optimizer.step()
        return loss

    step = gpugrad.compile(train_step)
    data = batches(STEPS, parts.x_shape, parts.classes, seed=61)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for x, y in data:
            step(x, y)
    assert step.stats.replays > 0
