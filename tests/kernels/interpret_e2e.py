"""End to end under ``GPUGRAD_KERNELS=interpret``: a small model's forward, backward and optimizer
steps through gpugrad, where every primitive with a kernel runs it interpreted, against PyTorch.

Run by test_kernel_backend.py in a subprocess (the backend is chosen once per process); prints
``ok`` when every check passes.
"""

from __future__ import annotations

import numpy as np
import torch

import gpugrad
from gpugrad.backend import cpu_backend
from gpugrad.backend.interpret_backend import InterpretBackend


def close(g, t, rtol=1e-5, atol=1e-6, what=""):
    if t is None:
        assert g is None, what
        return
    np.testing.assert_allclose(np.asarray(g.detach().numpy()), t.detach().numpy(), rtol=rtol,
                               atol=atol, err_msg=what)


def check_ops(rng):
    x_np = rng.standard_normal((5, 7)).astype(np.float32)
    y_np = rng.uniform(0.5, 2, (7,)).astype(np.float32)
    ops = {
        "tanh*sigmoid": lambda m, x, y: (m.tanh(x) * m.sigmoid(x * y)).sum(),
        "softmax": lambda m, x, y: (m.softmax(x, 1) * y).sum(),
        "log_softmax": lambda m, x, y: (m.log_softmax(x, 0) ** 2).mean(),
        "pow/clamp/where": lambda m, x, y: m.where(x > 0, m.pow(y, x), m.clamp(x, -0.5, 0.5)).sum(),
        "maximum/exp": lambda m, x, y: (m.maximum(x, y) * m.exp(-x)).mean(),
        "logsumexp/var": lambda m, x, y: m.logsumexp(x * y, 1).sum() + x.var(0).sum(),
        "sum_to_shape": lambda m, x, y: ((x + y) * (x - y)).sum(),
        "strided": lambda m, x, y: (m.exp(x.T) * y[:, None]).sum(),
        "mse": lambda m, x, y: m.nn.functional.mse_loss(x, x.detach() * y),
    }
    for name, fn in ops.items():
        gx, gy = (gpugrad.tensor(a, requires_grad=True) for a in (x_np, y_np))
        tx, ty = (torch.tensor(a, requires_grad=True) for a in (x_np, y_np))
        g_out, t_out = fn(gpugrad, gx, gy), fn(torch, tx, ty)
        g_out.backward()
        t_out.backward()
        close(g_out, t_out, what=name)
        close(gx.grad, tx.grad, what=f"{name} grad x")
        close(gy.grad, ty.grad, what=f"{name} grad y")


def check_training(rng):
    """Two layers, cross-entropy with label smoothing, Adam: three steps match PyTorch's."""
    w1 = rng.standard_normal((16, 12)).astype(np.float32) * 0.3
    w2 = rng.standard_normal((5, 16)).astype(np.float32) * 0.3
    data = rng.standard_normal((9, 12)).astype(np.float32)
    labels = rng.integers(0, 5, 9)
    g_params = [gpugrad.tensor(w, requires_grad=True) for w in (w1, w2)]
    t_params = [torch.tensor(w, requires_grad=True) for w in (w1, w2)]
    g_opt = gpugrad.optim.Adam(g_params, lr=0.01, weight_decay=0.01)
    t_opt = torch.optim.Adam(t_params, lr=0.01, weight_decay=0.01)
    for m, params, opt in ((gpugrad, g_params, g_opt), (torch, t_params, t_opt)):
        x = m.tensor(data)
        target = m.tensor(labels)
        for _ in range(3):
            opt.zero_grad()
            hidden = m.nn.functional.relu(x @ params[0].T)
            loss = m.nn.functional.cross_entropy(hidden @ params[1].T, target,
                                                 label_smoothing=0.1)
            loss.backward()
            opt.step()
    for g, t in zip(g_params, t_params):
        close(g, t, rtol=1e-4, atol=1e-5, what="parameters after three Adam steps")


def check_linear_cross_entropy(rng):
    """The chunked linear + cross-entropy (the kernel per chunk) against PyTorch's unfused
    reference, in float32 and in bfloat16 (float32 accumulation), with every option."""
    h = rng.standard_normal((19, 8)).astype(np.float32)
    w = rng.standard_normal((23, 8)).astype(np.float32) * 0.5
    b = rng.standard_normal(23).astype(np.float32)
    weight = rng.uniform(0.5, 2, 23).astype(np.float32)
    target = rng.integers(0, 23, 19)
    target[4] = -100
    opts = gpugrad.nn.LinearCrossEntropyOptions(batch_chunk_size=5)
    for dtype, tol in (("float32", 1e-5), ("bfloat16", 2e-2)):
        rounded = [torch.tensor(a).to(getattr(torch, dtype)).float().numpy() for a in (h, w, b)]
        g = [gpugrad.tensor(a).to(getattr(gpugrad, dtype)).requires_grad_() for a in rounded]
        t = [torch.tensor(a, requires_grad=True) for a in rounded]
        kw = {"reduction": "mean", "label_smoothing": 0.1}
        g_loss = gpugrad.nn.functional.linear_cross_entropy(
            g[0], g[1], gpugrad.tensor(target), linear_bias=g[2],
            weight=gpugrad.tensor(weight), options=opts, **kw)
        t_loss = torch.nn.functional.cross_entropy(
            torch.nn.functional.linear(t[0], t[1], t[2]), torch.tensor(target),
            weight=torch.tensor(weight), **kw)
        g_loss.backward()
        t_loss.backward()
        close(g_loss.float(), t_loss, rtol=tol, atol=tol, what=f"linear_cross_entropy {dtype}")
        for name, a, c in zip("hwb", g, t):
            close(a.grad.float(), c.grad, rtol=tol, atol=tol,
                  what=f"linear_cross_entropy {dtype} grad {name}")


def main() -> None:
    assert isinstance(cpu_backend(), InterpretBackend), type(cpu_backend())
    from gpugrad.kernels import _launch

    launched = set()
    launch = _launch._interpret_launch

    def counting_launch(fn, grid, args):
        launched.add(fn.fn.__name__)
        return launch(fn, grid, args)

    _launch._interpret_launch = counting_launch
    rng = np.random.default_rng(0)
    check_ops(rng)
    check_training(rng)
    check_linear_cross_entropy(rng)
    expected = {"_flat_kernel", "_elementwise_kernel", "_loss_sum_kernel", "_reduce_kernel",
                "_softmax_kernel",
                "_softmax_grad_kernel", "_logsumexp_kernel", "_var_kernel",
                "_cross_entropy_index_kernel", "_adam_kernel"}
    assert expected <= launched, f"kernels never launched: {sorted(expected - launched)}"
    print("ok", len(launched), "kernels")


if __name__ == "__main__":
    main()
