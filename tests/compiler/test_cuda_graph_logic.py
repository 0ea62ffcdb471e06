"""The host side of the CUDA capture (gpugrad/compiler/cuda_graphs.py), on a simulated device.

No GPU here: a stand-in for CuPy's stream capture records which segments were captured and
launched, and a NumPy backend named "cuda" stands in for the device. Work "captured" in the
stand-in runs at once, so the capture call computes its result as on a GPU; the stand-in's
graphs replay nothing, so these tests check the program's structure and the host logic (islands,
.grad assignments, the warm-up probe, aborts), not numbers. tests/cuda/test_cuda_compile.py
checks the numbers on a real GPU.
"""

from __future__ import annotations

import sys
import types
import warnings

import numpy as np
import pytest

import gpugrad
from gpugrad import nn
from gpugrad.backend.numpy_backend import NumpyBackend
from gpugrad.compiler import CompileWarning


class _Graph:
    def __init__(self, log, index):
        self.log, self.index = log, index

    def launch(self, stream=None):
        self.log.append(("launch", self.index))


class _Stream:
    def __init__(self, log):
        self.log, self.capturing, self.graphs = log, False, 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def begin_capture(self):
        assert not self.capturing
        self.capturing = True

    def end_capture(self):
        assert self.capturing
        self.capturing = False
        self.graphs += 1
        return _Graph(self.log, self.graphs)

    def is_capturing(self):
        return self.capturing

    def synchronize(self):
        pass


@pytest.fixture
def device(monkeypatch):
    """A fake ``cupy`` module and a NumPy backend named "cuda"."""
    log = []
    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(
        Stream=lambda non_blocking=False: _Stream(log),
        MemoryPool=lambda: types.SimpleNamespace(malloc=None),
        get_allocator=lambda: None, set_allocator=lambda allocator: None,
        get_current_stream=lambda: _Stream(log))
    fake.asnumpy = np.asarray
    monkeypatch.setitem(sys.modules, "cupy", fake)

    class FakeCuda(NumpyBackend):
        name = "cuda"

    backend = FakeCuda()
    return types.SimpleNamespace(backend=backend, log=log)


def _on(device, *tensors):
    for t in tensors:
        t._backend = device.backend
    return tensors


def _setup(device):
    gpugrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    _on(device, *model.parameters())
    optimizer = gpugrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    steps = []
    original = optimizer.step

    def counted_step(*args, **kwargs):  # (an instance attribute: the class method is the island)
        steps.append(1)
        return original(*args, **kwargs)

    return model, optimizer, steps, counted_step


def _batch(device, seed):
    rng = np.random.default_rng(seed)
    x = gpugrad.tensor(rng.standard_normal((5, 4)).astype(np.float32))
    y = gpugrad.tensor(rng.integers(0, 3, 5))
    return _on(device, x, y)


def test_replay_launches_segments_and_calls_islands_in_order(device):
    model, optimizer, _, _ = _setup(device)
    loss_fn = nn.CrossEntropyLoss()

    @gpugrad.compile
    def step(x, y):
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    for i in range(4):
        step(*_batch(device, i))
    assert step.stats.captures == 1 and step.stats.replays == 2
    program = next(iter(step._programs.values()))[0]
    kinds = [getattr(s.func, "__name__", "") for s in program.steps]
    # Islands that do not touch the device (zero_grad to None, the target check) run at once;
    # the segments around them (empty, the forward up to the check, the rest with backward)
    # launch before the optimizer step, which reads their gradients; then the empty end.
    assert kinds == ["zero_grad", "_check_targets_in_range", "set_grad", "set_grad", "set_grad",
                     "set_grad", "_launch", "_launch", "_launch", "step", "_launch"]
    assert [p.grad for p in model.parameters()] == [s.args[1] for s in program.steps[2:6]]
    device.log.clear()
    step(*_batch(device, 9))
    assert device.log == [("launch", 1), ("launch", 2), ("launch", 3), ("launch", 4)]


def test_host_read_seen_in_warm_up_runs_eagerly_without_capture(device):
    model, optimizer, _, _ = _setup(device)

    @gpugrad.compile
    def step(x, y):
        loss = model(x).square().mean()
        loss.backward()
        return loss.item()

    with pytest.warns(CompileWarning, match=r"\.item\(\).*test_cuda_graph_logic.py:\d+"):
        step(*_batch(device, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        step(*_batch(device, 1))
    assert step.stats.captures == 0 and step.stats.eager_calls == 2


def test_host_read_only_in_capture_aborts_before_device_work(device):
    model, optimizer, _, _ = _setup(device)
    read = []

    @gpugrad.compile
    def step(x):
        optimizer.zero_grad()
        if read:  # the warm-up does not read; the capture does
            read.append(float(x.sum()))
        loss = model(x).square().mean()
        loss.backward()
        return loss

    x, _ = _batch(device, 0)
    step(x)
    read.append(0)
    with pytest.warns(CompileWarning, match="float"):
        step(x)  # aborted: only zero_grad had run, so the step ran eagerly instead
    assert len(read) == 2 and all(p.grad is not None for p in model.parameters())
    assert step.stats.captures == 1 and step.stats.replays == 0


def test_host_read_after_device_work_raises(device):
    model, optimizer, _, counted = _setup(device)
    read = []

    @gpugrad.compile
    def step(x):
        loss = model(x).square().mean()
        loss.backward()
        optimizer.step()
        if read:
            read.append(loss.item())
        return loss

    x, _ = _batch(device, 0)
    step(x)
    read.append(0)
    with pytest.raises(RuntimeError, match="part of the step"):
        step(x)
