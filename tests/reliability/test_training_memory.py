"""Memory over a training run of an ``nn`` model with an optimizer: live tensors (and on a GPU
the memory pool's used bytes) return to their baseline after 1,000 steps; a training step's
graph is freed by reference counting alone; a retained graph is freed when dropped.

The core-level checks (a bare loop, a chain, threads) live in test_threads_memory.py.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import gpugrad
from gpugrad import nn

OPTIMIZERS = {
    "sgd-momentum": lambda params: gpugrad.optim.SGD(params, lr=0.05, momentum=0.9,
                                                     nesterov=True),
    "adam": lambda params: gpugrad.optim.Adam(params, lr=1e-3, weight_decay=1e-4),
    "adamw-amsgrad": lambda params: gpugrad.optim.AdamW(params, lr=1e-3, amsgrad=True),
    "rmsprop": lambda params: gpugrad.optim.RMSprop(params, lr=1e-3, momentum=0.5),
}


def _live_tensors() -> int:
    return sum(issubclass(type(o), gpugrad.Tensor) for o in gc.get_objects())


def _setup(optimizer: str, device=None):
    gpugrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 16),
                          nn.LayerNorm(16), nn.GELU(), nn.Linear(16, 4)).to(device)
    opt = OPTIMIZERS[optimizer](model.parameters())
    x = gpugrad.randn(32, 8, device=device)
    y = gpugrad.randint(0, 4, (32,), device=device)

    def step() -> float:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return model, opt, step


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_live_tensors_return_to_baseline_after_1000_training_steps(optimizer):
    _, _, step = _setup(optimizer)
    first = step()  # the optimizer's state and the gradients now exist
    gc.collect()
    baseline = _live_tensors()
    for _ in range(1000):
        last = step()
    gc.collect()
    assert _live_tensors() == baseline
    assert np.isfinite(last) and last < first


def test_a_training_step_creates_no_reference_cycles():
    """With the collector off, a step leaves nothing that only the collector could free."""
    _, _, step = _setup("adam")
    step()
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            step()
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_activations_and_nodes_are_freed_by_reference_counting():
    gpugrad.manual_seed(0)
    first, second = nn.Linear(8, 16), nn.Linear(16, 4)
    opt = gpugrad.optim.SGD([*first.parameters(), *second.parameters()], lr=0.1, momentum=0.9)
    x, y = gpugrad.randn(32, 8), gpugrad.randint(0, 4, (32,))
    gc.disable()
    try:
        hidden = first(x)
        activation = nn.functional.relu(hidden)
        loss = nn.functional.cross_entropy(second(activation), y)
        probes = {"hidden": weakref.ref(hidden), "activation": weakref.ref(activation),
                  "hidden.grad_fn": weakref.ref(hidden.grad_fn),
                  "activation.grad_fn": weakref.ref(activation.grad_fn)}
        loss_node = weakref.ref(loss.grad_fn)
        del hidden, activation
        assert probes["activation"]() is not None  # saved for backward until it runs
        loss.backward()
        opt.step()
        assert probes["hidden"]() is None and probes["activation"]() is None
        del loss
        alive = [name for name, ref in probes.items() if ref() is not None]
        assert not alive and loss_node() is None, alive
    finally:
        gc.enable()


def test_a_retained_graph_is_freed_when_dropped():
    gpugrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 4))
    x, y = gpugrad.randn(32, 8), gpugrad.randint(0, 4, (32,))
    gc.disable()
    try:
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        probes = [weakref.ref(logits), weakref.ref(logits.grad_fn), weakref.ref(loss.grad_fn)]
        del logits
        loss.backward(retain_graph=True)
        once = model[0].weight.grad.numpy().copy()
        loss.backward(retain_graph=True)  # the graph and its saved tensors are still there
        np.testing.assert_allclose(model[0].weight.grad.numpy(), 2 * once, rtol=1e-6)
        assert all(ref() is not None for ref in probes)
        del loss
        assert all(ref() is None for ref in probes)
    finally:
        gc.enable()


def test_a_graph_never_backpropagated_is_freed_when_dropped():
    gpugrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    x = gpugrad.randn(32, 8)
    gc.disable()
    try:
        loss = model(x).square().mean()
        node = weakref.ref(loss.grad_fn)
        del loss
        assert node() is None
    finally:
        gc.enable()


@pytest.mark.gpu
@pytest.mark.parametrize("optimizer", ["sgd-momentum", "adam"])
def test_cuda_pool_used_bytes_return_to_baseline_after_1000_steps(optimizer):
    import cupy

    pool = cupy.get_default_memory_pool()
    _, _, step = _setup(optimizer, device="cuda")
    step()
    cupy.cuda.Device().synchronize()
    gc.collect()
    baseline_tensors, baseline_bytes = _live_tensors(), pool.used_bytes()
    for _ in range(1000):
        step()
    cupy.cuda.Device().synchronize()
    gc.collect()
    assert _live_tensors() == baseline_tensors
    assert pool.used_bytes() == baseline_bytes
