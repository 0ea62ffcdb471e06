"""Guards: a new signature (input shape, dtype, a non-tensor argument's value) captures again
and gives the right answer; a host sync inside the step (``.item()``, ``float(t)``, printing a
tensor, ``if`` on a tensor, ``.numpy()``, ``.tolist()``) makes that signature eager with ONE
``CompileWarning`` naming the reason and this file's line; more than 8 signatures run eagerly
with one warning. Never a silent wrong answer."""

from __future__ import annotations

import os

import numpy as np
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

HERE = os.path.basename(__file__)


def _line_of(marker: str) -> int:
    """The line of this file that carries the comment ``# <marker>``."""
    with open(__file__) as source:
        lines = [i for i, text in enumerate(source, 1) if text.rstrip().endswith(f"# {marker}")]
    assert len(lines) == 1, (marker, lines)
    return lines[0]


def _pure(x, w, scale):
    """No parameters, no gradients: only the signature decides what runs."""
    return (x @ w).tanh() * scale + x.sum(dim=1, keepdim=True)


def _tensor(shape, seed, dtype=np.float32):
    return gpugrad.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


def test_counting_warm_up_capture_replay():
    """Call 1 eager, call 2 captures, calls 3.. replay: the contract's counters."""
    w = _tensor((4, 3), 0)
    calls = [(_tensor((5, 4), i), w, 2.0) for i in range(7)]
    result = compare_runs(lambda: setup(), lambda parts: _pure, calls)
    assert (result.fn.stats.captures, result.fn.stats.replays) == (1, 5)
    assert result.fn.stats.fallbacks == []


def test_new_input_shape_captures_again():
    """Shape A, then B, then A again: two captures; coming back to A replays A's program."""
    w = _tensor((4, 3), 0)
    calls = ([(_tensor((5, 4), i), w, 2.0) for i in range(4)]
             + [(_tensor((2, 4), i), w, 2.0) for i in range(4, 8)]
             + [(_tensor((5, 4), i), w, 2.0) for i in range(8, 10)])
    result = compare_runs(lambda: setup(), lambda parts: _pure, calls)
    assert result.fn.stats.captures == 2
    assert result.fn.stats.replays == 6
    assert [tuple(out.shape) for out in result.outputs] == [(5, 3)] * 4 + [(2, 3)] * 4 + [
        (5, 3)] * 2


def test_training_step_with_a_smaller_last_batch():
    """A data loader's short last batch: a second signature, every step still eager's."""
    data = []
    for epoch in range(3):
        data += batches(3, (8, 6), 4, seed=20 + epoch) + batches(1, (3, 6), 4, seed=30 + epoch)
    result = compare_runs(lambda: setup("mlp", "adam"), train_step_of, data)
    assert result.fn.stats.captures >= 2
    assert result.fn.stats.replays > 0


def test_other_dtype_captures_again():
    calls = []
    for dtype in (np.float32, np.float64, np.float32, np.float64):
        w = _tensor((4, 3), 0, dtype)
        calls += [(_tensor((5, 4), len(calls) + i, dtype), w, 2.0) for i in range(3)]
    result = compare_runs(lambda: setup(), lambda parts: _pure, calls)
    assert result.fn.stats.captures == 2
    assert result.fn.stats.replays > 0
    assert [out.dtype for out in result.outputs[:6]] == [gpugrad.float32] * 3 + [
        gpugrad.float64] * 3


def test_non_tensor_argument_value_is_part_of_the_signature():
    """A Python float is a constant of the program: another value is another capture, never the
    first value replayed."""
    w = _tensor((4, 3), 0)
    calls = [(_tensor((5, 4), i), w, scale) for i, scale in
             enumerate([2.0, 2.0, 2.0, 3.0, 3.0, 3.0, 2.0, 3.0])]
    result = compare_runs(lambda: setup(), lambda parts: _pure, calls)
    assert result.fn.stats.captures == 2
    assert result.fn.stats.replays == 4


def test_input_changed_in_place_between_calls():
    """The same input tensor object, refilled in place between calls: each replay reads the
    current values."""
    w = _tensor((4, 3), 0)
    x = _tensor((5, 4), 1)
    fills = [_tensor((5, 4), 10 + i).numpy() for i in range(6)]

    def between(i, parts):
        with gpugrad.no_grad():
            x.copy_(gpugrad.tensor(fills[i]))

    result = compare_runs(lambda: setup(), lambda parts: _pure, [(x, w, 2.0)] * 6,
                          between=between)
    assert result.fn.stats.replays == 4
    assert len({out.numpy().tobytes() for out in result.outputs}) == 6


def test_grad_mode_is_part_of_the_signature():
    """The same function called with and without grad mode (it backpropagates only with): one
    capture for each mode, each right."""
    runs = []
    for compiled in (False, True):
        gpugrad.manual_seed(0)
        parts = setup("mlp", "adam")

        def step(x, y, parts=parts):
            loss = parts.loss_fn(parts.model(x), y)
            if gpugrad.is_grad_enabled():
                parts.optimizer.zero_grad()
                loss.backward()
                parts.optimizer.step()
            return loss.detach()

        fn = gpugrad.compile(step) if compiled else step
        outputs = []
        for i, (x, y) in enumerate(batches(12, (8, 6), 4, seed=42)):
            with gpugrad.set_grad_enabled(i % 2 == 0):
                outputs.append(fn(x, y))
        runs.append((to_numpy(outputs), state_of(parts), fn))
    assert_identical(runs[0][0], runs[1][0], "outputs")
    assert_identical(runs[0][1], runs[1][1], "state")
    assert runs[1][2].stats.captures == 2
    assert runs[1][2].stats.replays == 8


def test_keyword_arguments():
    w = _tensor((4, 3), 0)
    inputs = [_tensor((5, 4), i) for i in range(6)]
    compiled = gpugrad.compile(_pure)
    got = [compiled(x, w=w, scale=1.5) for x in inputs]
    assert_identical([to_numpy(_pure(x, w, 1.5)) for x in inputs], to_numpy(got), "outputs")
    assert compiled.stats.replays == len(inputs) - 2


# --- host syncs: each step reads a tensor's value on the host ---------------------------------


def _step_with_item(parts, x, y):
    loss = train_step_of(parts)(x, y)
    parts.seen.append(loss.item())  # sync: item
    return loss


def _step_with_float(parts, x, y):
    loss = train_step_of(parts)(x, y)
    parts.seen.append(float(loss))  # sync: float
    return loss


def _step_with_print(parts, x, y):
    loss = train_step_of(parts)(x, y)
    print("loss", loss)  # sync: print
    return loss


def _step_with_if(parts, x, y):
    # the data below make the branch go both ways: a replay of one branch would be wrong
    if (x.sum() > 0):  # sync: if
        x = x * 2
    return train_step_of(parts)(x, y)


def _step_with_numpy(parts, x, y):
    loss = train_step_of(parts)(x, y)
    parts.seen.append(loss.detach().numpy())  # sync: numpy
    return loss


def _step_with_tolist(parts, x, y):
    loss = train_step_of(parts)(x, y)
    parts.seen.append(loss.tolist())  # sync: tolist
    return loss


SYNCS = {
    "item": (_step_with_item, ("item",)),
    "float": (_step_with_float, ("float", "item")),
    "print": (_step_with_print, ("print", "str", "repr", "format")),
    "if": (_step_with_if, ("bool", "branch", "condition", "control flow")),
    "numpy": (_step_with_numpy, ("numpy",)),
    "tolist": (_step_with_tolist, ("tolist",)),
}


@pytest.mark.parametrize("name", sorted(SYNCS))
def test_host_sync_falls_back_with_one_warning(name, capsys):
    step, reasons = SYNCS[name]

    def build():
        parts = setup("mlp", "adam")
        parts.seen = []
        return parts

    data = batches(8, (8, 6), 4, seed=40)
    for i, (x, y) in enumerate(data):  # x.sum() > 0 on every other call
        sign = 1.0 if i % 2 else -1.0
        data[i] = (x.abs() * sign, y)
    result = compare_runs(build, lambda parts: lambda x, y: step(parts, x, y), data,
                          allow_warnings=True)
    assert len(result.warnings) == 1, result.warnings
    message = result.warnings[0]
    assert any(reason in message.lower() for reason in reasons), message
    assert f"{HERE}:{_line_of('sync: ' + name)}" in message, message
    assert len(result.fn.stats.fallbacks) == 1, result.fn.stats.fallbacks
    assert result.fn.stats.replays == 0
    assert_identical(to_numpy(result.eager_parts.seen), to_numpy(result.parts.seen), "seen")
    if name == "print":
        printed = capsys.readouterr().out.splitlines()
        assert len(printed) == 2 * len(data)  # every call printed, in both runs
        assert printed[:len(data)] == printed[len(data):]


def test_more_than_eight_signatures_run_eagerly_with_one_warning():
    w = _tensor((4, 3), 0)
    calls = [(_tensor((n, 4), 100 * r + n), w, 2.0) for r in range(3) for n in range(1, 11)]
    result = compare_runs(lambda: setup(), lambda parts: _pure, calls, allow_warnings=True)
    assert len(result.warnings) == 1, result.warnings
    assert result.fn.stats.captures == 8
    assert result.fn.stats.replays == 8


def test_unsupported_construct_falls_back_with_one_warning():
    """Boolean-mask indexing (a shape that depends on values) cannot be replayed: eager, one
    warning naming it and this line, the same numbers."""

    def make(parts):
        def train_step(x, y):
            parts.optimizer.zero_grad()
            logits = parts.model(x)
            loss = parts.loss_fn(logits, y) + logits[logits > 0].sum() * 1e-3  # mask
            loss.backward()
            parts.optimizer.step()
            return loss
        return train_step

    data = batches(8, (8, 6), 4, seed=41)
    result = compare_runs(lambda: setup("mlp", "adam"), make, data, allow_warnings=True)
    assert len(result.warnings) == 1, result.warnings
    assert "mask" in result.warnings[0] and f"{HERE}:{_line_of('mask')}" in result.warnings[0]
    assert result.fn.stats.replays == 0
