"""``gpugrad.compile`` on CUDA: steps captured into CUDA graphs (CuPy stream capture) and replayed
give eager's numbers; the guards and the fallbacks work there; the replays really launch graphs
(the step's Python does not run); the programs' memory goes back when they go. Skipped without a
GPU (tests/compiler/test_cuda_graph_logic.py checks the host side on a simulated device).

The same kernels run in the same order in both runs, so the numbers should agree bit for bit;
the comparison allows float32 rounding (a library may pick another algorithm for another
address) but nothing a wrong replay would give (a stale parameter, a skipped step, a reused
dropout mask are off by far more)."""

from __future__ import annotations

import gc
import types
import warnings

import numpy as np
import pytest
from compiler._helpers import batches, compare_runs, setup, state_of, to_numpy, train_step_of

import gpugrad
from gpugrad import nn

pytestmark = pytest.mark.gpu

STEPS = 8
RTOL, ATOL = 1e-5, 1e-6


@pytest.fixture(autouse=True)
def on_cuda():
    """Models, batches and factories on the GPU; the default device restored after."""
    previous = gpugrad.get_default_device()
    gpugrad.set_default_device("cuda")
    yield
    gpugrad.set_default_device(previous)


def assert_close(expected, actual, where: str = "") -> None:
    """``compare_runs``' check on CUDA: same structure, dtypes and shapes; values within float32
    rounding."""
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), (where, type(actual))
        assert actual.dtype == expected.dtype and actual.shape == expected.shape, (
            where, actual.dtype, actual.shape, expected.dtype, expected.shape)
        if expected.dtype.kind in "biu":
            np.testing.assert_array_equal(actual, expected, err_msg=where)
        else:
            np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=ATOL, equal_nan=True,
                                       err_msg=f"{where}: compiled differs from eager")
    elif isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for key in expected:
            assert_close(expected[key], actual[key], f"{where} {key}".strip())
    elif isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_close(e, a, f"{where}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=RTOL, abs=ATOL), (where, actual, expected)
    else:
        assert actual == expected, (where, actual, expected)


def compare(build, make_fn, calls, **kwargs):
    return compare_runs(build, make_fn, calls, check=assert_close, **kwargs)


def assert_replayed_graphs(fn, replays: int) -> None:
    """Every call after the warm-up and the capture replayed CUDA graphs."""
    stats = fn.stats
    assert stats.fallbacks == [] and stats.replays == replays, stats
    programs = [p for ps in fn._programs.values() for p in ps]
    assert programs and all(p.reason is None for p in programs)
    for p in programs:
        pool, graphs, stream = p.keep
        assert graphs and pool.total_bytes() > 0, (graphs, pool.total_bytes())


def _data(count=STEPS, seed=0, x_shape=(8, 6), classes=4):
    return batches(count, x_shape, classes, seed=seed)


# ------------------------------------------------------------------------ training steps
@pytest.mark.parametrize("optimizer", ["sgd", "sgd_nesterov_wd", "adam", "adamw"])
def test_training_step_equals_eager(optimizer):
    result = compare(lambda: setup("mlp", optimizer), train_step_of, _data(seed=1))
    assert_replayed_graphs(result.fn, STEPS - 2)
    assert all(p.is_cuda for p in result.parts.model.parameters())


def test_replays_do_not_run_the_step_python():
    """Call 1 (warm-up) and call 2 (capture) run the function's body; replays launch graphs."""
    ran = []

    def make(parts):
        step = train_step_of(parts)

        def counted(x, y):
            ran.append(1)
            return step(x, y)
        return counted

    result = compare(lambda: setup("mlp", "adam"), make, _data(seed=2))
    assert len(ran) == STEPS + 2  # eager run: every call; compiled run: two
    assert_replayed_graphs(result.fn, STEPS - 2)
    losses = [float(loss) for loss in result.outputs]
    assert len(set(losses)) == STEPS  # each replay computed its own batch's loss


def test_dropout_draws_fresh_masks_like_eager():
    data = _data(1, seed=3) * STEPS  # one batch, lr 0: only the masks change the loss

    def frozen(parts):
        parts.optimizer.param_groups[0]["lr"] = 0.0
        return train_step_of(parts)

    result = compare(lambda: setup("mlp", "sgd", dropout=0.5), frozen, data)
    assert_replayed_graphs(result.fn, STEPS - 2)
    losses = [float(loss) for loss in result.outputs]
    assert len(set(losses)) == STEPS, losses
    result = compare(lambda: setup("mlp", "adam", dropout=0.5), train_step_of, _data(seed=4))
    assert_replayed_graphs(result.fn, STEPS - 2)


def test_scheduler_and_clipping_inside_the_step():
    def build():
        parts = setup("mlp", "sgd_nesterov_wd")
        parts.scheduler = gpugrad.optim.lr_scheduler.StepLR(parts.optimizer, step_size=2,
                                                            gamma=0.5)
        return parts

    def make(parts):
        def train_step(x, y):
            parts.optimizer.zero_grad()
            loss = parts.loss_fn(parts.model(x), y)
            loss.backward()
            norm = nn.utils.clip_grad_norm_(parts.model.parameters(), max_norm=0.05)
            parts.optimizer.step()
            parts.scheduler.step()
            return loss, norm
        return train_step

    result = compare(build, make, _data(seed=5))
    assert_replayed_graphs(result.fn, STEPS - 2)
    assert result.parts.optimizer.param_groups[0]["lr"] == pytest.approx(0.05 * 0.5 ** 4)
    norms = [float(norm) for _, norm in result.outputs]
    assert all(n > 0.05 for n in norms) and len(set(norms)) == STEPS, norms


def test_gradient_accumulation_over_several_calls():
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

    result = compare(lambda: setup("mlp", "adam"), make, _data(5 * k + 1, seed=6),
                     between=between)
    assert result.fn.stats.replays > 0 and result.fn.stats.fallbacks == []
    assert all(p.grad is not None for p in result.parts.model.parameters())


# ---------------------------------------------------------------------------- module mode
def test_compiled_module_for_training_runs_eagerly_and_equals_eager():
    """Compiling a module for training on CUDA is not implemented: eager, with one warning that
    says so, and eager's numbers."""
    runs = []
    for compiled in (False, True):
        gpugrad.manual_seed(0)
        parts = setup("mlp", "adam")
        model = gpugrad.compile(parts.model) if compiled else parts.model
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            losses = []
            for x, y in _data(seed=7):
                parts.optimizer.zero_grad()
                loss = parts.loss_fn(model(x), y)
                loss.backward()
                parts.optimizer.step()
                losses.append(loss)
        messages = [str(w.message) for w in caught
                    if issubclass(w.category, gpugrad.compiler.CompileWarning)]
        runs.append((to_numpy(losses), state_of(parts), messages, model))
    (e_losses, e_state, e_messages, _), (losses, state, messages, cmodel) = runs
    assert e_messages == [] and len(messages) == 1 and "on CUDA" in messages[0], messages
    assert_close(e_losses, losses, "losses")
    assert_close(e_state, state, "state")
    assert cmodel.stats.replays == 0 and len(cmodel.stats.fallbacks) == 1, cmodel.stats


def test_compiled_module_evaluation_replays():
    """Without grad mode the module's forward is captured as a plain function: graphs."""
    outputs = []
    for compiled in (False, True):
        gpugrad.manual_seed(0)
        model = setup("mlp").model.eval()
        cmodel = gpugrad.compile(model) if compiled else model
        with gpugrad.no_grad():
            outputs.append([cmodel(x) for x, _ in _data(seed=8)])
    assert_close(to_numpy(outputs[0]), to_numpy(outputs[1]), "logits")
    assert_replayed_graphs(cmodel._compiled, STEPS - 2)


# --------------------------------------------------------------------- guards, fallbacks
def test_a_new_shape_captures_again():
    data = _data(5, seed=9) + _data(5, seed=10, x_shape=(5, 6)) + _data(2, seed=11)
    result = compare(lambda: setup("mlp", "sgd"), train_step_of, data)
    stats = result.fn.stats
    assert stats.captures == 2 and stats.eager_calls == 2 and stats.replays == 8, stats
    assert stats.fallbacks == []


def test_item_in_the_step_falls_back_with_one_warning():
    def build():
        parts = setup("mlp", "adam")
        parts.seen = []
        return parts

    def make(parts):
        step = train_step_of(parts)

        def train_step(x, y):
            loss = step(x, y)
            parts.seen.append(loss.item())
            return loss
        return train_step

    result = compare(build, make, _data(seed=12), allow_warnings=True)
    assert len(result.warnings) == 1, result.warnings
    assert "on the host" in result.warnings[0] and __file__ in result.warnings[0], (
        result.warnings[0])
    assert result.fn.stats.replays == 0 and len(result.fn.stats.fallbacks) == 1
    assert_close(result.eager_parts.seen, result.parts.seen, "seen")


# -------------------------------------------------------------------------------- memory
def _free_device_bytes() -> int:
    import cupy

    gc.collect()
    cupy.cuda.runtime.deviceSynchronize()
    cupy.get_default_memory_pool().free_all_blocks()
    return int(cupy.cuda.runtime.memGetInfo()[0])


def _parts(model, optimizer):
    return types.SimpleNamespace(model=model, optimizer=optimizer, loss_fn=nn.CrossEntropyLoss())


def test_memory_is_steady_over_replays_and_released_with_the_program():
    import cupy

    pool = cupy.get_default_memory_pool()

    def build():
        gpugrad.manual_seed(0)
        model = nn.Sequential(nn.Linear(1024, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(),
                              nn.Linear(2048, 10))
        return model, gpugrad.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    x = gpugrad.randn(1024, 1024)
    y = gpugrad.randint(0, 10, (1024,))
    model, opt = build()  # the kernels loaded, the generator's state made: not counted
    train_step_of(_parts(model, opt))(x, y)
    del model, opt
    free_before = _free_device_bytes()
    used_before = pool.used_bytes()

    model, opt = build()
    parts = _parts(model, opt)
    step = gpugrad.compile(train_step_of(parts))
    for _ in range(3):
        step(x, y)
    program = [p for ps in step._programs.values() for p in ps][0]
    kept = program.keep[0].total_bytes()
    assert kept > 8 * 1024 * 2048  # the activations and gradients live in the program's pool
    used_steady = pool.used_bytes()
    for _ in range(20):
        step(x, y)
    assert pool.used_bytes() <= used_steady + 4096  # replays allocate nothing that stays
    assert step.stats.replays == 21
    free_during = _free_device_bytes()
    assert free_during <= free_before - kept  # the program's pool is device memory

    del step, program, parts, model, opt
    free_after = _free_device_bytes()
    assert pool.used_bytes() <= used_before + (64 << 10)  # optimizer kernels' address tables
    # (Compared with the memory while the program lived, not with free_before: a first capture
    # may leave one-time driver or library allocations behind, which are not the program's.)
    assert free_after - free_during >= kept, (free_after - free_during, kept)

