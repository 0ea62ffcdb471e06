"""Collectives and DistributedDataParallel on CUDA tensors: ``python cuda.py BACKEND [DEVICE]``.

BACKEND is ``nccl`` (world size 1 on one GPU), ``mpi`` (CUDA tensors staged through host
memory; any world size) or ``default`` (``backend=None``: NCCL for CUDA tensors and MPI for CPU
tensors when CuPy sees a GPU). DEVICE (default ``cuda``) may be ``cpu`` to check the script
itself on a machine without a GPU (``mpi`` only). Each rank prints ``rank R PASS <check>``.
"""

from __future__ import annotations

import os
import sys

import numpy as np

import gpugrad
import gpugrad.distributed as dist
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.nn.parallel import DistributedDataParallel as DDP

backend = sys.argv[1]
device = sys.argv[2] if len(sys.argv) > 2 else "cuda"
dist.init_process_group(None if backend == "default" else backend)
rank, world = dist.get_rank(), dist.get_world_size()
R = dist.ReduceOp


def passed(name: str) -> None:
    os.write(1, f"rank {rank} PASS {name}\n".encode())


def data(r: int, dtype: str, shape=(4, 6)) -> np.ndarray:
    rng = np.random.default_rng([r, len(dtype)])
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("int"):
        return rng.integers(-5, 5, shape).astype(dtype)
    return (rng.standard_normal(shape) + 0.5).astype(dtype)


def on_device(values: np.ndarray):
    return gpugrad.tensor(values, device=device)


def host(t) -> np.ndarray:
    return t.detach().cpu().numpy()


everyone = range(world)
for dtype in ("float32", "float16", "int64", "bool"):
    ops = [R.SUM, R.MAX] if dtype == "bool" else [R.SUM, R.MIN, R.MAX, R.PRODUCT]
    ops += [R.AVG] if dtype.startswith("float") else []
    for op in ops:
        arrays = [data(r, dtype).astype(np.float32 if dtype == "float16" else dtype)
                  for r in everyone]
        expected = arrays[0]
        for a in arrays[1:]:
            combine = {R.SUM: np.add, R.AVG: np.add, R.MIN: np.minimum, R.MAX: np.maximum,
                       R.PRODUCT: np.multiply}[op]
            expected = combine(expected, a) if dtype != "bool" else (
                np.logical_or(expected, a))
        if op is R.AVG:
            expected = expected / world
        for async_op in (False, True):
            t = on_device(data(rank, dtype))
            work = dist.all_reduce(t, op=op, async_op=async_op)
            if async_op:
                work.wait()
            np.testing.assert_allclose(host(t), expected.astype(dtype), rtol=1e-3)
    passed(f"all_reduce_{dtype}")

view = on_device(data(rank, "float32", (6, 8)))[:, ::2]
dist.all_reduce(view)
np.testing.assert_allclose(host(view), sum(data(r, "float32", (6, 8)) for r in everyone)[:, ::2],
                           rtol=1e-6)
t = on_device(data(rank, "float32"))
dist.broadcast(t, src=0)
np.testing.assert_array_equal(host(t), data(0, "float32"))
outs = [on_device(np.zeros((4, 6), np.float32)) for _ in everyone]
dist.all_gather(outs, on_device(data(rank, "float32")))
for r, out in enumerate(outs):
    np.testing.assert_array_equal(host(out), data(r, "float32"))
gathered = on_device(np.zeros((world * 4, 6), np.float32))
dist.all_gather_into_tensor(gathered, on_device(data(rank, "float32")), async_op=True).wait()
np.testing.assert_array_equal(host(gathered),
                              np.concatenate([data(r, "float32") for r in everyone]))
piece = on_device(np.zeros((2, 6), np.float32))
inputs = [data(r, "float32", (world * 2, 6)) for r in everyone]
dist.reduce_scatter_tensor(piece, on_device(inputs[rank]))
np.testing.assert_allclose(host(piece), sum(inputs)[rank * 2:(rank + 1) * 2], rtol=1e-6)
dist.barrier()
passed("broadcast_gather_scatter")

cpu = gpugrad.ones(3)
if backend == "nccl":
    try:
        dist.all_reduce(cpu)
        raise AssertionError("the NCCL backend took a CPU tensor")
    except RuntimeError as exc:
        assert "No backend type associated with device type cpu" in str(exc), exc
else:
    dist.all_reduce(cpu)  # MPI serves CPU tensors under "mpi" and under backend=None
    assert cpu.tolist() == [world] * 3
passed("device_routing")

# DDP on the device, each rank on its share of the batch, against one process on all of it.
n, steps = 8, 3


def model(seed: int) -> nn.Module:
    gpugrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 2)).to(device)


reference, ddp = model(0), DDP(model(rank), bucket_cap_mb=0.001)
ref_opt = gpugrad.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
opt = gpugrad.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
for step in range(steps):
    rng = np.random.default_rng(step)
    x = on_device(rng.standard_normal((world * n, 6)).astype(np.float32))
    y = on_device(rng.standard_normal((world * n, 2)).astype(np.float32))
    ref_opt.zero_grad()
    F.mse_loss(reference(x), y).backward()
    ref_opt.step()
    opt.zero_grad()
    F.mse_loss(ddp(x[rank * n:(rank + 1) * n]), y[rank * n:(rank + 1) * n]).backward()
    opt.step()
for p, q in zip(reference.parameters(), ddp.module.parameters()):
    assert q.device.type == device
    np.testing.assert_allclose(host(p), host(q), rtol=1e-4, atol=1e-5)
passed("ddp_matches_one_process")
dist.destroy_process_group()
