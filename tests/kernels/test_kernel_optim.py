"""Multi-tensor optimizer steps against the NumPy twins and torch.optim trajectories."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gpugrad.kernels import optim
from kernel_helpers import assert_close, device, host

SHAPES = [(7, 5), (13,), (1,), (3, 4, 2), (0, 3), (40,)]


def _tensors(rng, dtype):
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


@pytest.fixture(params=["one block per tensor", "many blocks"])
def blocks(request, monkeypatch):
    if request.param == "many blocks":
        monkeypatch.setitem(optim.TUNING, "block", 8)
    return request.param


SGD = [dict(lr=0.1, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, maximize=False),
       dict(lr=0.05, momentum=0.9, dampening=0.1, nesterov=False, weight_decay=0.01,
            maximize=True),
       dict(lr=0.05, momentum=0.8, dampening=0.0, nesterov=True, weight_decay=0.0, maximize=False)]


@pytest.mark.parametrize("hyper", SGD, ids=["plain", "momentum", "nesterov"])
def test_sgd_matches_twin_and_torch(twin, blocks, hyper):
    rng = np.random.default_rng(0)
    params = _tensors(rng, "float64")
    twin_params = [p.copy() for p in params]
    dev_params = [device(p.copy()) for p in params]
    torch_params = [torch.tensor(p, requires_grad=True) for p in params]
    opt = torch.optim.SGD(torch_params, **hyper)
    bufs, twin_bufs = [None] * len(params), [None] * len(params)
    for _ in range(3):
        grads = _tensors(rng, "float64")
        optim.sgd_step(dev_params, [device(g) for g in grads], bufs, **hyper)
        twin.sgd_step(twin_params, grads, twin_bufs, **hyper)
        for tp, g in zip(torch_params, grads):
            tp.grad = torch.tensor(g)
        opt.step()
    for p, tw, tp in zip(dev_params, twin_params, torch_params):
        assert_close(p, tw, "float64")
        assert_close(p, tp.detach().numpy(), "float64")
    if hyper["momentum"]:
        for b, tb in zip(bufs, twin_bufs):
            assert_close(b, tb, "float64")


ADAM = [dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, amsgrad=False,
             maximize=False, decoupled_weight_decay=False),
        dict(lr=0.02, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.1, amsgrad=True,
             maximize=True, decoupled_weight_decay=False),
        dict(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.05, amsgrad=False,
             maximize=False, decoupled_weight_decay=True)]


@pytest.mark.parametrize("hyper", ADAM, ids=["adam", "amsgrad", "adamw"])
def test_adam_matches_twin_and_torch(twin, blocks, hyper):
    rng = np.random.default_rng(1)
    params = _tensors(rng, "float64")
    twin_params = [p.copy() for p in params]
    dev_params = [device(p.copy()) for p in params]
    state = [[device(np.zeros_like(p)) for p in params] for _ in range(3)]
    twin_state = [[np.zeros_like(p) for p in params] for _ in range(3)]
    torch_params = [torch.tensor(p, requires_grad=True) for p in params]
    cls = torch.optim.AdamW if hyper["decoupled_weight_decay"] else torch.optim.Adam
    opt = cls(torch_params, lr=hyper["lr"], betas=(hyper["beta1"], hyper["beta2"]),
              eps=hyper["eps"], weight_decay=hyper["weight_decay"], amsgrad=hyper["amsgrad"],
              maximize=hyper["maximize"])
    for step in range(1, 4):
        grads = _tensors(rng, "float64")
        optim.adam_step(dev_params, [device(g) for g in grads], *state, step=step, **hyper)
        twin.adam_step(twin_params, grads, *twin_state, step=step, **hyper)
        for tp, g in zip(torch_params, grads):
            tp.grad = torch.tensor(g)
        opt.step()
    for p, tw, tp in zip(dev_params, twin_params, torch_params):
        assert_close(p, tw, "float64")
        assert_close(p, tp.detach().numpy(), "float64", rtol=1e-9)
    for s, ts in zip(state, twin_state):
        for a, b in zip(s, ts):
            assert_close(a, b, "float64")


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_lower_precisions_and_mixed_dtypes(twin, dtype):
    rng = np.random.default_rng(2)
    params = _tensors(rng, dtype) + [rng.standard_normal((3, 3))]  # a float64 one: own launch
    grads = [rng.standard_normal(p.shape).astype(p.dtype) for p in params]
    twin_params = [p.astype(np.float64) for p in params]
    dev_params = [device(p.copy()) for p in params]
    m = [device(np.zeros_like(p)) for p in params]
    v = [device(np.zeros_like(p)) for p in params]
    hyper = ADAM[0]
    optim.adam_step(dev_params, [device(g) for g in grads], m, v, None, step=1, **hyper)
    twin.adam_step(twin_params, [g.astype(np.float64) for g in grads],
                   [np.zeros_like(p) for p in twin_params], [np.zeros_like(p) for p in twin_params],
                   None, step=1, **hyper)
    for p, tw in zip(dev_params, twin_params):
        assert host(p).dtype == tw.dtype or host(p).dtype == np.dtype(dtype)
        assert_close(p, tw, host(p).dtype)
