"""bfloat16, autocast, GradScaler and the chunked linear cross-entropy on CUDA tensors, against the
same computation on the CPU (PyTorch's CPU build is the oracle there). Marked gpu: skipped
without a device CuPy sees."""

from __future__ import annotations

import numpy as np
import pytest

import gpugrad

pytestmark = pytest.mark.gpu
F = gpugrad.nn.functional


def _both(arr, dtype=None, requires_grad=False):
    out = []
    for dev in ("cpu", "cuda"):
        t = gpugrad.tensor(arr, device=dev)
        t = t.to(dtype) if dtype is not None else t
        out.append(t.requires_grad_() if requires_grad else t)
    return out


def _close(cuda_t, cpu_t, rtol=2e-2, atol=2e-2):
    assert cuda_t.dtype is cpu_t.dtype and cuda_t.device.type == "cuda"
    np.testing.assert_allclose(cuda_t.detach().cpu().float().numpy(),
                               cpu_t.detach().float().numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("shapes", [((8, 16), (16, 12)), ((3, 8, 16), (16, 12)),
                                    ((3, 8, 16), (3, 16, 12)), ((2, 1, 8, 16), (4, 16, 12))])
def test_bfloat16_matmul_and_gradients(shapes):
    rng = np.random.default_rng(0)
    a_np, b_np = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    (a_cpu, a_gpu), (b_cpu, b_gpu) = (_both(x, gpugrad.bfloat16) for x in (a_np, b_np))
    for t in (a_cpu, a_gpu, b_cpu, b_gpu):
        t.requires_grad_()
    (a_cpu @ b_cpu).float().sum().backward()
    (a_gpu @ b_gpu).float().sum().backward()
    _close(a_gpu @ b_gpu, a_cpu @ b_cpu)
    _close(a_gpu.grad, a_cpu.grad)
    _close(b_gpu.grad, b_cpu.grad)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
@pytest.mark.parametrize("policy", ["accurate", "balanced", "compact"])
def test_chunked_linear_cross_entropy(dtype, policy):
    rng = np.random.default_rng(1)
    h_np = rng.standard_normal((300, 64)).astype(np.float32)
    w_np = (rng.standard_normal((1000, 64)) * 0.1).astype(np.float32)
    t_np = rng.integers(0, 1000, 300)
    t_np[5] = -100
    d = getattr(gpugrad, dtype)
    (h_cpu, h_gpu), (w_cpu, w_gpu) = _both(h_np, d, True), _both(w_np, d, True)
    opts = gpugrad.nn.LinearCrossEntropyOptions(batch_chunk_size=64, acc_policy=policy)
    losses = []
    for h, w in ((h_cpu, w_cpu), (h_gpu, w_gpu)):
        target = gpugrad.tensor(t_np, device=h.device)
        loss = F.linear_cross_entropy(h, w, target, label_smoothing=0.1, options=opts)
        loss.backward()
        losses.append(loss)
    tol = 1e-5 if dtype == "float32" else 2e-2
    _close(losses[1], losses[0], tol, tol)
    _close(h_gpu.grad, h_cpu.grad, tol, tol)
    _close(w_gpu.grad, w_cpu.grad, tol, tol)


@pytest.mark.parametrize("out_dtype,in_dtype", [("float32", "bfloat16"), ("bfloat16", "bfloat16"),
                                                ("float32", "float32"), ("float64", "float64")])
def test_accumulating_product(out_dtype, in_dtype):
    import cupy

    from gpugrad.backend import get_backend

    backend = get_backend("cuda")
    rng = np.random.default_rng(2)
    g = rng.standard_normal((64, 300)).astype(np.float32)  # used transposed, as in the loss
    h = rng.standard_normal((64, 48)).astype(np.float32)
    start = rng.standard_normal((300, 48)).astype(np.float32)
    cast = gpugrad.bfloat16.np if in_dtype == "bfloat16" else np.dtype(in_dtype)
    g_in, h_in = g.astype(cast), h.astype(cast)
    out = cupy.asarray(start.astype(gpugrad.bfloat16.np if out_dtype == "bfloat16"
                                    else out_dtype))
    backend.matmul_accumulate(out, cupy.asarray(g_in).T, cupy.asarray(h_in))
    want = start + g_in.astype(np.float64).T @ h_in.astype(np.float64)
    tol = 2e-2 if "bfloat16" in (in_dtype, out_dtype) else 1e-5
    np.testing.assert_allclose(cupy.asnumpy(out).astype(np.float64), want, rtol=tol, atol=tol)


def test_autocast_and_grad_scaler_on_cuda():
    x = gpugrad.randn(8, 8, device="cuda")
    w = gpugrad.randn(8, 8, device="cuda", requires_grad=True)
    opt = gpugrad.optim.SGD([w], lr=0.1)
    scaler = gpugrad.amp.GradScaler("cuda", init_scale=256.0)
    with gpugrad.autocast("cuda", dtype=gpugrad.bfloat16):
        y = x @ w
        assert y.dtype is gpugrad.bfloat16
        assert y.sum().dtype is gpugrad.float32 and y.softmax(1).dtype is gpugrad.float32
        with gpugrad.autocast("cpu"):  # the CPU region leaves CUDA tensors alone
            assert (x @ w).dtype is gpugrad.bfloat16
        loss = F.mse_loss(y, x)
    assert loss.dtype is gpugrad.float32
    scaler.scale(loss).backward()
    assert w.grad.dtype is gpugrad.float32
    before = w.detach().clone()
    scaler.step(opt)
    scaler.update()
    assert not bool((w.detach() == before).all().item())
    assert scaler.get_scale() == 256.0


def test_tf32_switch_reaches_cupy():
    import numpy
    from cupy._core import _routines_linalg as linalg

    try:
        gpugrad.backends.cuda.matmul.allow_tf32 = True
        assert linalg.get_compute_type(numpy.float32) == getattr(linalg, "COMPUTE_TYPE_TF32", 7)
        a = gpugrad.randn(64, 64, device="cuda")
        close = (a @ a).cpu().numpy()
    finally:
        gpugrad.set_float32_matmul_precision("highest")
    assert linalg.get_compute_type(numpy.float32) == getattr(linalg, "COMPUTE_TYPE_DEFAULT", 1)
    exact = a.cpu().numpy().astype(np.float64)
    np.testing.assert_allclose(close, exact @ exact, rtol=1e-2, atol=1e-2)
