"""Threads, memory and freeing of graphs (the core; nn-level loops live beside them)."""

from __future__ import annotations

import gc
import threading
import weakref

import numpy as np
import torch

import gpugrad


def _live_tensors() -> int:
    return sum(issubclass(type(o), gpugrad.Tensor) for o in gc.get_objects())


def test_four_threads_backward_on_separate_graphs_at_once():
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((64, 32)) for _ in range(4)]
    weights = [rng.standard_normal((32, 16)) for _ in range(4)]
    results, errors = [None] * 4, []
    barrier = threading.Barrier(4)

    def work(i):
        try:
            w = gpugrad.tensor(weights[i], requires_grad=True)
            x = gpugrad.tensor(inputs[i])
            barrier.wait()
            for _ in range(20):
                w.grad = None
                ((x @ w).tanh() ** 2).mean().backward()
            results[i] = w.grad.numpy().copy()
        except Exception as e:  # report in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i in range(4):
        w = torch.tensor(weights[i], requires_grad=True)
        ((torch.tensor(inputs[i]) @ w).tanh() ** 2).mean().backward()
        np.testing.assert_allclose(results[i], w.grad.numpy(), rtol=1e-10)


def test_training_loop_returns_to_baseline_live_tensors():
    w = gpugrad.randn(8, 4, requires_grad=True)
    x = gpugrad.randn(16, 8)
    gc.collect()
    baseline = _live_tensors()
    for _ in range(1000):
        loss = ((x @ w).sigmoid() - 0.5).square().mean()
        loss.backward()
        with gpugrad.no_grad():
            w -= 0.01 * w.grad
        w.grad = None
    del loss
    gc.collect()
    assert _live_tensors() == baseline


def test_retained_graph_is_freed_when_dropped_without_gc():
    gc.disable()
    try:
        x = gpugrad.randn(4, requires_grad=True)
        y = (x.exp() * x).sum()
        y.backward(retain_graph=True)
        node = weakref.ref(y.grad_fn)
        del y
        assert node() is None
    finally:
        gc.enable()
