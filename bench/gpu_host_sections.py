"""The host-bound sections of ``python -m bench.gpu_kernels``: the host time of one small op
(gpugrad, its bare launcher, PyTorch eager) and an MLP's training step against PyTorch eager.
Each takes the run's ``env`` and ``record`` (``bench/gpu_kernels.py``)."""

from __future__ import annotations

import numpy as np


def host_overhead(env, record):
    """Host time per small op: gpugrad, its bare launcher, PyTorch eager."""
    gg = env.gpugrad
    from gpugrad.kernels import elementwise_ops as ew

    calls = 200 if env.smoke else 20000
    a = gg.ones(1024, device=env.device)
    b = gg.ones(1024, device=env.device)
    ar, br = a._data, b._data
    record("host", "gpugrad a + b (1024 floats)", env.host_time(lambda: a + b, calls) * 1e6,
           "us/op")
    ag = gg.ones(1024, device=env.device, requires_grad=True)
    record("host", "gpugrad a * b, recording autograd",
           env.host_time(lambda: ag * b, calls) * 1e6, "us/op")
    record("host", "launcher ew.binary('add') alone",
           env.host_time(lambda: ew.binary("add", ar, br), calls) * 1e6, "us/op")
    if env.torch is not None:
        torch = env.torch
        ta = torch.ones(1024, device=env.torch_device)
        tb = torch.ones(1024, device=env.torch_device)
        t_add = env.host_time(lambda: ta + tb, calls)
        record("host", "torch eager a + b", t_add * 1e6, "us/op")
        tg = torch.ones(1024, device=env.torch_device, requires_grad=True)
        record("host", "torch eager a * b, recording autograd",
               env.host_time(lambda: tg * tb, calls) * 1e6, "us/op")
        ours = env.host_time(lambda: a + b, calls)
        record("host", "gpugrad / torch per small op", ours / t_add, "x", "<=1", ours <= t_add)


def mlp_step(env, record):
    """An MLP's Adam training step, gpugrad against PyTorch eager."""
    batch, sizes = (64, (32, 64, 10)) if env.smoke else (512, (784, 2048, 2048, 10))
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((o, i), dtype=np.float32) * (2 / i) ** 0.5
               for i, o in zip(sizes[:-1], sizes[1:])]
    data = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    labels = rng.integers(0, sizes[-1], batch)
    times = {}
    for name, m, dev in (("gpugrad", env.gpugrad, env.device),
                         ("torch", env.torch, getattr(env, "torch_device", None))):
        if m is not None:
            times[name] = env.time(_mlp_step_fn(m, dev, weights, data, labels))
            record("mlp", f"{name} training step {sizes} batch {batch}", times[name] * 1e3, "ms")
    if len(times) == 2:
        ratio = times["gpugrad"] / times["torch"]
        record("mlp", "gpugrad / torch step time", ratio, "x", "<=1", ratio <= 1)


def _mlp_step_fn(m, dev, weights, data, labels):
    """One Adam step of a ReLU MLP with cross-entropy, in library ``m`` (gpugrad or torch)."""
    params = [m.tensor(w, device=dev, requires_grad=True) for w in weights]
    biases = [m.zeros(w.shape[0], device=dev, requires_grad=True) for w in weights]
    opt = m.optim.Adam(params + biases, lr=1e-3)
    x, y = m.tensor(data, device=dev), m.tensor(labels, device=dev)

    def step():
        opt.zero_grad()
        h = x
        for i, (w, b) in enumerate(zip(params, biases)):
            h = h @ w.T + b
            if i < len(params) - 1:
                h = m.relu(h)
        m.nn.functional.cross_entropy(h, y).backward()
        opt.step()

    return step
