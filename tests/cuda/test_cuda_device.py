"""CUDA tensors end to end: ops, losses and optimizers on the GPU against PyTorch on the CPU,
streams, memory statistics, interop, tensors over 2**31 elements. Skipped without a GPU."""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from opinfo import REGISTRY
from opinfo.build import as_numpy, build_args

import gpugrad
import gpugrad.cuda

pytestmark = pytest.mark.gpu


def _cupy():
    import cupy

    return cupy


def _to_cuda(t: gpugrad.Tensor) -> gpugrad.Tensor:
    """A CUDA leaf with ``t``'s values and memory layout (strided views stay strided)."""
    cupy = _cupy()
    arr = t.detach().numpy()
    base = arr
    while isinstance(base.base, np.ndarray):
        base = base.base
    dev_base = cupy.asarray(np.ascontiguousarray(base))
    offset = arr.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    view = cupy.ndarray(arr.shape, arr.dtype, dev_base.data + offset, strides=arr.strides)
    out = gpugrad.Tensor._make(view, gpugrad.backend.get_backend("cuda"))
    if t.requires_grad:
        out.requires_grad_()
    return out


def _registry_cases():
    for spec in REGISTRY:
        for i, sample in enumerate(spec.samples(np.random.default_rng(0))):
            for layout in ("contiguous", "strided"):
                yield pytest.param(spec, sample, layout, id=f"{spec.name}-{i}-{layout}")


@pytest.mark.parametrize("spec,sample,layout", list(_registry_cases()))
def test_registry_on_cuda_matches_torch(spec, sample, layout):
    """Every op of the registry on CUDA tensors (float32), values and gradients, vs PyTorch."""
    dtype = "float32" if "float32" in spec.dtypes else spec.dtypes[0]
    g_cpu, t_args, grad_idx, _ = build_args(sample, dtype, layout, spec.differentiable)
    g_args = [_to_cuda(a) if isinstance(a, gpugrad.Tensor) else a for a in g_cpu]
    outs = spec.op(gpugrad, *g_args, **sample.kwargs)
    t_outs = spec.op(torch, *t_args, **sample.kwargs)
    outs = spec.outputs(outs) if spec.outputs else outs
    t_outs = spec.outputs(t_outs) if spec.outputs else t_outs
    outs = outs if isinstance(outs, (tuple, list)) else (outs,)
    t_outs = t_outs if isinstance(t_outs, (tuple, list)) else (t_outs,)
    rtol, atol = (spec.rtol32, spec.atol32) if dtype == "float32" else (1e-7, 1e-10)
    for go, to in zip(outs, t_outs):
        if isinstance(go, gpugrad.Tensor):
            assert go.device.type == "cuda"
        np.testing.assert_allclose(as_numpy(go), as_numpy(to), rtol=rtol, atol=atol,
                                   equal_nan=True)
    diff = [(g, t) for g, t in zip(outs, t_outs) if isinstance(t, torch.Tensor) and t.requires_grad]
    if not grad_idx or not diff:
        return
    rng = np.random.default_rng(1)
    ups = [rng.standard_normal(tuple(t.shape)).astype(dtype) for _, t in diff]
    gpugrad.autograd.backward([g for g, _ in diff],
                              [gpugrad.tensor(u, device="cuda") for u in ups])
    torch.autograd.backward([t for _, t in diff], [torch.from_numpy(u) for u in ups])
    for i in grad_idx:
        tg = t_args[i].grad
        if tg is None:
            continue
        gg = g_args[i].grad
        assert gg is not None and gg.device.type == "cuda", f"arg {i}"
        np.testing.assert_allclose(as_numpy(gg), as_numpy(tg), rtol=rtol, atol=atol,
                                   equal_nan=True, err_msg=f"grad of arg {i}")


def test_tensors_live_in_cupy_arrays():
    cupy = _cupy()
    x = gpugrad.randn(4, 5, device="cuda")
    assert isinstance(x._data, cupy.ndarray) and x.is_cuda and x.device.type == "cuda"
    assert x.cpu().device.type == "cpu" and x.cpu().cuda().is_cuda
    with pytest.raises(TypeError, match="cuda"):
        x.numpy()
    np.testing.assert_allclose(x.to("cpu").numpy(), cupy.asnumpy(x._data))
    if not os.environ.get("GPUGRAD_DEVICE"):
        assert gpugrad.get_default_device().type == "cuda"
    with pytest.raises(RuntimeError):
        x + gpugrad.ones(4, 5, device="cpu")


def test_mlp_training_step_matches_torch():
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((64, 32)).astype(np.float32) * 0.2
    w2 = rng.standard_normal((10, 64)).astype(np.float32) * 0.2
    data = rng.standard_normal((128, 32)).astype(np.float32)
    labels = rng.integers(0, 10, 128)
    results = []
    for m, dev in ((gpugrad, "cuda"), (torch, "cpu")):
        params = [m.tensor(w, device=dev, requires_grad=True) for w in (w1, w2)]
        opt = m.optim.AdamW(params, lr=1e-2)
        x, y = m.tensor(data, device=dev), m.tensor(labels, device=dev)
        for _ in range(5):
            opt.zero_grad()
            loss = m.nn.functional.cross_entropy(m.relu(x @ params[0].T) @ params[1].T, y)
            loss.backward()
            opt.step()
        results.append([p.detach().cpu().numpy() for p in params] + [loss.item()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_kernels_follow_cupys_current_stream():
    """Work queued on a side stream stays ordered with CuPy's own work on that stream."""
    cupy = _cupy()
    from triton.runtime import driver

    s = gpugrad.cuda.Stream()
    with gpugrad.cuda.stream(s):
        x = gpugrad.randn(1 << 24, device="cuda")
        for _ in range(4):
            x = x * 1.0001 + 0.5
        total = cupy.sum(x._data)  # CuPy, same stream: must see the kernels' results
        assert driver.active.get_current_stream() == s.ptr
    s.synchronize()
    assert cupy.cuda.get_current_stream().ptr != s.ptr
    expected = float(cupy.sum(x._data))
    assert abs(float(total) - expected) <= 1e-6 * abs(expected) + 1e-3


def test_memory_statistics_follow_the_pool():
    cupy = _cupy()
    _first_use_of_cuda()
    gc.collect()
    gpugrad.cuda.synchronize()
    base = gpugrad.cuda.memory_allocated()
    gpugrad.cuda.reset_peak_memory_stats()
    x = gpugrad.empty(1 << 20, device="cuda")  # 4 MiB
    y = x * 2
    assert gpugrad.cuda.memory_allocated() >= base + 2 * (4 << 20)
    del x, y
    assert gpugrad.cuda.memory_allocated() <= base
    assert gpugrad.cuda.max_memory_allocated() >= base + 2 * (4 << 20)
    gpugrad.cuda.empty_cache()
    assert gpugrad.cuda.memory_reserved() == cupy.get_default_memory_pool().total_bytes()


def test_device_queries_read_the_gpu():
    cupy = _cupy()
    _first_use_of_cuda()
    assert gpugrad.cuda.is_initialized()
    gpugrad.cuda.init()
    props = gpugrad.cuda.get_device_properties(0)
    assert props.name == gpugrad.cuda.get_device_name(0)
    assert (props.major, props.minor) == gpugrad.cuda.get_device_capability(0)
    free, total = gpugrad.cuda.mem_get_info()
    assert 0 < free <= total == props.total_memory
    assert gpugrad.cuda.is_bf16_supported() is True
    assert gpugrad.cuda.get_arch_list() == [f"sm_{props.major}{props.minor}"]
    stats = gpugrad.cuda.memory_stats()
    assert stats["allocated_bytes.all.current"] == gpugrad.cuda.memory_allocated()
    assert stats["reserved_bytes.all.current"] == cupy.get_default_memory_pool().total_bytes()
    assert len(gpugrad.cuda.default_generators) == gpugrad.cuda.device_count()
    gpugrad.cuda.seed()
    gpugrad.cuda.seed_all()
    gpugrad.cuda.ipc_collect()
    with pytest.raises(NotImplementedError, match="cannot be read"):
        gpugrad.cuda.get_rng_state_all()
    gpugrad.cuda.manual_seed(7)
    assert gpugrad.cuda.initial_seed() == 7
    assert gpugrad.cuda.is_tf32_supported() == (props.major >= 8)
    assert gpugrad.cuda.default_stream() is cupy.cuda.Stream.null
    assert gpugrad.cuda.is_current_stream_capturing() is False
    s = gpugrad.cuda.Stream()
    with gpugrad.cuda.stream(s):
        assert cupy.cuda.get_current_stream() is s
    with gpugrad.cuda.device_of(gpugrad.zeros(1, device="cuda")):
        assert gpugrad.cuda.current_device() == 0
    with gpugrad.cuda.nvtx.range("step {}", 1):
        gpugrad.cuda.nvtx.mark("inside")
    assert "Allocated memory" in gpugrad.cuda.memory_summary()


def _first_use_of_cuda():
    """What a process keeps once it has used CUDA (about 12 MB on an H200: the random generator's
    states among it), set up before a test takes its memory baseline, whichever test runs first."""
    x = gpugrad.randn(4, 4, device="cuda")
    (x @ gpugrad.randint(0, 2, (4, 4), device="cuda").float() * 2).sum().item()


def test_training_loop_returns_memory_to_baseline():
    _first_use_of_cuda()
    gc.collect()
    base = gpugrad.cuda.memory_allocated()
    model = gpugrad.nn.Sequential(gpugrad.nn.Linear(32, 64), gpugrad.nn.ReLU(),
                                  gpugrad.nn.Linear(64, 10)).to("cuda")
    opt = gpugrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = gpugrad.randn(256, 32, device="cuda")
    y = gpugrad.randint(0, 10, (256,), device="cuda")
    for _ in range(3):
        opt.zero_grad()
        gpugrad.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    steady = gpugrad.cuda.memory_allocated()
    for _ in range(40):
        opt.zero_grad()
        gpugrad.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    # No growth over steps but the optimizer's address tables: one per set of gradient addresses
    # the pool hands out, at most _CACHE_SIZE of them, each under one 512-byte pool block.
    from gpugrad.kernels import optim as kernel_optim

    assert gpugrad.cuda.memory_allocated() <= steady + kernel_optim._CACHE_SIZE * 512
    del model, opt, x, y
    gc.collect()
    # what may stay: the optimizer kernels' small cached address tables (kernels/optim.py)
    assert gpugrad.cuda.memory_allocated() <= base + (64 << 10)


def test_dlpack_and_cuda_array_interface_share_memory():
    cupy = _cupy()
    from gpugrad.interop import from_dlpack

    t = torch.arange(6.0, device="cuda")
    g = from_dlpack(t)
    assert g.is_cuda
    t[0] = 42.0
    torch.cuda.synchronize()
    assert g[0].item() == 42.0
    back = torch.utils.dlpack.from_dlpack(g)
    assert back.device.type == "cuda" and back.data_ptr() == g.data_ptr()
    c = cupy.asarray(g)  # __cuda_array_interface__
    assert c.data.ptr == g.data_ptr()
    assert from_dlpack(cupy.arange(3.0)).tolist() == [0.0, 1.0, 2.0]
    try:
        import jax.dlpack
        import jax.numpy as jnp
    except Exception:  # JAX missing or without a GPU plugin: the rest still ran
        return
    j = jnp.arange(4.0)
    if j.devices().pop().platform in ("gpu", "cuda"):
        assert from_dlpack(j).tolist() == [0.0, 1.0, 2.0, 3.0]
        assert jax.dlpack.from_dlpack(from_dlpack(cupy.arange(2.0))).tolist() == [0.0, 1.0]


def test_cross_entropy_matches_torch_on_large_rows():
    rng = np.random.default_rng(2)
    for c, dtype in ((32768, torch.float32), (50257, torch.float16), (128256, torch.float32)):
        logits = torch.from_numpy(rng.standard_normal((16, c)).astype(np.float32) * 3).to(dtype)
        target = torch.from_numpy(rng.integers(0, c, 16))
        target[3] = -100
        x = logits.float().requires_grad_()
        ref = F.cross_entropy(x, target, label_smoothing=0.1)
        ref.backward()
        g = gpugrad.tensor(logits.detach().numpy(), device="cuda", requires_grad=True)
        loss = gpugrad.nn.functional.cross_entropy(
            g, gpugrad.tensor(target.numpy(), device="cuda"), label_smoothing=0.1)
        loss.backward()
        # float32: on an H200, PyTorch's own CUDA gradient differs from its CPU one by up to
        # 4.7e-5 relative here (rows of 32768), as ours does; 1e-4 leaves room for both.
        rtol, atol = (2e-3, 2e-7) if dtype == torch.float16 else (1e-4, 1e-9)
        np.testing.assert_allclose(loss.item(), ref.item(), rtol=rtol)
        np.testing.assert_allclose(g.grad.float().cpu().numpy(), x.grad.numpy(), rtol=rtol,
                                   atol=atol)


def test_tensors_over_2_to_31_elements():
    """int64 offsets: the last elements of a 2**31 + 3 element tensor are computed right."""
    cupy = _cupy()
    free, _ = cupy.cuda.runtime.memGetInfo()
    n = 2**31 + 3
    if free < 8 * n + (4 << 30):
        pytest.skip("not enough GPU memory for two 2**31-element float32 tensors")
    x = gpugrad.Tensor._make(cupy.full(n, 0.5, dtype=cupy.float32),
                             gpugrad.backend.get_backend("cuda"))
    x._data[-3:] = cupy.asarray([1.0, 2.0, 3.0], dtype=cupy.float32)
    y = x * 2.0
    assert y[-3:].tolist() == [2.0, 4.0, 6.0] and y[0].item() == 1.0
    total = y.sum().item()  # a split reduction with int64 offsets
    expected = (n - 3) * 1.0 + 12.0
    assert abs(total - expected) / expected < 1e-4
    del x, y
    rows = 2**31 // 65536 + 1  # cross-entropy whose flat offsets pass 2**31
    logits = gpugrad.zeros(rows, 65536, device="cuda", dtype=gpugrad.float16)
    logits._data[-1, 7] = 5.0
    target = gpugrad.full((rows,), 7, device="cuda", dtype=gpugrad.int64)
    loss = gpugrad.nn.functional.cross_entropy(logits, target, reduction="none")
    expected_last = float(np.log(65535 + np.exp(5.0)) - 5.0)
    assert abs(loss[-1].float().item() - expected_last) < 1e-2
    assert abs(loss[0].float().item() - float(np.log(65536.0))) < 1e-2


def test_runs_with_pytorch_never_imported():
    """gpugrad launches its kernels on CuPy arrays in a process where PyTorch cannot load."""
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, Block())
import gpugrad
x = gpugrad.arange(10, device="cuda", dtype=gpugrad.float32)
print((x.exp().sum() - x.exp().sum()).item(), "torch" in sys.modules)
"""
    env = {k: v for k, v in os.environ.items() if k != "GPUGRAD_DEVICE"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["0.0", "False"]


def test_cuda_tensors_refuse_to_share_memory():
    """gpugrad sends CUDA tensors to other processes as copies (no CUDA IPC): Hogwild on a
    CUDA model would train copies, so moving one into shared memory is refused."""
    _cupy()
    x = gpugrad.ones(3, device="cuda")
    assert not x.is_shared()
    with pytest.raises(NotImplementedError, match="CUDA IPC"):
        x.share_memory_()
    with pytest.raises(NotImplementedError, match="CUDA IPC"):
        gpugrad.nn.Linear(2, 2, device="cuda").share_memory()


def test_cuda_tensor_to_meta_keeps_shape_and_dtype_only():
    x = gpugrad.arange(12.0, device="cuda").reshape(3, 4)
    m = x.to("meta")
    assert m.is_meta and m.shape == x.shape and m.dtype == x.dtype
    assert m._data.strides == (0, 0)  # no memory: the values were never read back
    assert x.to("meta", dtype=gpugrad.float16).dtype == gpugrad.float16
