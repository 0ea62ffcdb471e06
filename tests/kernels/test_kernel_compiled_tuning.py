"""The kernels at the block sizes and warps a GPU uses (each module's ``TUNING.compiled``) and
its number of multiprocessors, also under the interpreter: the interpreted runs of the other
tests use wider blocks, so without these a path only the GPU takes would go untested in CI (a
cross-entropy row of 5000 classes stays in registers compiled and streams interpreted)."""

from __future__ import annotations

import numpy as np
import pytest
from gpugrad.kernels import _launch, elementwise, losses, optim, reduction, softmax, statistics
from gpugrad.kernels import cross_entropy as ce
from gpugrad.kernels import elementwise_ops as ew
from kernel_helpers import assert_close, device, host, layout

MODULES = (ce, elementwise, losses, optim, reduction, softmax)


@pytest.fixture(autouse=True)
def compiled_tuning(monkeypatch):
    for module in MODULES:
        for key, value in module.TUNING.compiled.items():
            monkeypatch.setitem(module.TUNING, key, value)
    monkeypatch.setattr(_launch, "_sms", 132)  # an H100/H200: how reductions split K


@pytest.mark.parametrize("classes", [5000, 17000])
def test_cross_entropy_rows_in_registers_and_streamed(twin, classes):
    """5000 classes: registers (16 warps) compiled, streamed interpreted; 17000: streamed."""
    rng = np.random.default_rng(0)
    logits = (rng.standard_normal((3, classes)) * 3).astype(np.float32)
    target = rng.integers(0, classes, 3)
    weight = rng.uniform(0.5, 2, classes).astype(np.float32)
    loss, grad = ce.cross_entropy(device(logits), device(target), device(weight), -100, 0.1,
                                  "mean", True)
    e_loss, e_grad = twin.cross_entropy(logits, target, weight, -100, 0.1, "mean", True)
    assert_close(loss, e_loss, "float32")
    assert_close(grad, e_grad, "float32")
    probs = rng.dirichlet(np.ones(classes), 3).astype(np.float32)
    loss, grad = ce.cross_entropy_probs(device(logits), device(probs), None, 0.0, "sum", True)
    e_loss, e_grad = twin.cross_entropy_probs(logits, probs, None, 0.0, "sum", True)
    assert_close(loss, e_loss, "float32", rtol=1e-4)
    assert_close(grad, e_grad, "float32")


@pytest.mark.parametrize("length", [5000, 9000])
def test_softmax_in_registers_and_streamed(twin, length):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((2, length)) * 2).astype(np.float32)
    for log in (False, True):
        y = softmax.softmax(device(x), 1, log)
        assert_close(y, twin.softmax(x, 1, log), "float32")
        g = rng.standard_normal(x.shape).astype(np.float32)
        op = "log_softmax" if log else "softmax"
        assert_close(softmax.softmax_grad(device(g), y, 1, log),
                     twin.reduce_grad(op, g, None, host(y), x.shape, (1,)), "float32")


def test_reductions_at_the_gpu_tiles(twin):
    """Rows, columns and a middle run, with the K-splits 132 multiprocessors ask for."""
    rng = np.random.default_rng(2)
    for shape, axes in (((3, 5000), (1,)), ((5000, 3), (0,)), ((6, 700, 5), (1,)),
                        ((40, 300), None)):
        x = rng.standard_normal(shape)
        for op in ("sum", "amax"):
            assert_close(reduction.reduce(op, device(x), axes, False),
                         twin.reduce(op, x, axes, False), "float64")
        assert_close(statistics.var(device(x), axes, 1, False), twin.var(x, axes, 1, False),
                     "float64")
        assert_close(statistics.logsumexp(device(x), axes, False),
                     twin.logsumexp(x, axes, False), "float64")


def test_elementwise_and_losses_over_many_blocks(twin):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((70, 100))
    b = layout(rng.standard_normal((70, 100)), "transposed")
    row = rng.standard_normal(100)
    for x, y in ((a, row), (a, b)):  # the flat kernel, the general one
        out = ew.binary("mul", device(x), device(y))
        assert_close(out, twin.binary("mul", x, y), "float64")
    target = rng.random((70, 100))
    for reduction_ in ("mean", "none"):
        loss, grad = losses.bce_with_logits(device(a), device(target), None, device(row),
                                            reduction_, True)
        e_loss, e_grad = twin.bce_with_logits(a, target, None, row, reduction_, True)
        assert_close(loss, e_loss, "float64")
        assert_close(grad, e_grad, "float64")


def test_adam_over_many_blocks(twin):
    rng = np.random.default_rng(4)
    params = [rng.standard_normal(3000), rng.standard_normal((50, 41))]
    grads = [rng.standard_normal(p.shape) for p in params]
    dev = [device(p.copy()) for p in params]
    state = [[device(np.zeros_like(p)) for p in params] for _ in range(2)]
    twin_params = [p.copy() for p in params]
    twin_state = [[np.zeros_like(p) for p in params] for _ in range(2)]
    hyper = dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, amsgrad=False,
                 maximize=False, decoupled_weight_decay=True)
    optim.adam_step(dev, [device(g) for g in grads], *state, None, step=1, **hyper)
    twin.adam_step(twin_params, grads, *twin_state, None, step=1, **hyper)
    for p, t in zip(dev, twin_params):
        assert_close(p, t, "float64")
