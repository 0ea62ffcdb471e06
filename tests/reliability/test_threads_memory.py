"""Threads, memory and freeing of graphs (the core; nn-level loops live beside them)."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest
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


def _run_fresh(code: str, kernels: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, GPUGRAD_KERNELS=kernels, GPUGRAD_DEVICE="cpu")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300)


def test_four_threads_backward_under_the_interpreter():
    """Triton's interpreter keeps global state while it runs a kernel: interpreted launches are
    serialized, so threads backpropagating at once still get correct gradients."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__, "-k",
         "test_four_threads_backward_on_separate_graphs_at_once"],
        env=dict(os.environ, GPUGRAD_KERNELS="interpret", GPUGRAD_DEVICE="cpu"),
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout


_FREED_IN_A_FRESH_PROCESS = """
import gc, weakref
gc.disable()
import gpugrad
x = gpugrad.randn(5, requires_grad=True)
def step():
    h = x.sin()
    y = (h * x).exp()
    probe = weakref.ref(h)
    del h
    y.sum().backward()
    return probe
probe = step()
assert probe() is None, "a graph tensor outlived its backward"
print("ok")
"""


@pytest.mark.parametrize("kernels", ["numpy", "interpret"])
def test_graph_tensors_are_freed_by_the_first_backward_in_a_fresh_process(kernels):
    """Nothing (a launcher's cache, an import's reference cycle) holds a graph's tensors after
    its first backward: reference counting alone frees them, kernels interpreted or not."""
    result = _run_fresh(_FREED_IN_A_FRESH_PROCESS, kernels)
    assert result.stdout.strip() == "ok", result.stdout[-3000:] + result.stderr[-3000:]


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
