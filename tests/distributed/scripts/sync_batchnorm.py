"""SyncBatchNorm across the ranks, each on its own (uneven) part of the batch, against BatchNorm
on the whole batch (computed on every rank; gpugrad's BatchNorm is checked against PyTorch's in
tests/nn, and torch cannot be imported beside this directory's cuda.py): outputs, the input's
gradient, the parameters' gradients summed over the ranks, running statistics, in float64 and
float32; with one rank it is plain batch norm. Run with ``mpiexec -n 2`` (or one rank); each
rank prints ``rank R PASS <check>``."""

from __future__ import annotations

import os

import numpy as np

import gpugrad
import gpugrad.distributed as dist
from gpugrad import nn

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()


def passed(name: str) -> None:
    os.write(1, f"rank {rank} PASS {name}\n".encode())


def parts(total: int) -> list[slice]:
    """Uneven parts of ``total`` samples, one per rank."""
    cuts = np.linspace(0, total, world + 1).astype(int)
    cuts[1:-1] += 1  # the first rank takes one more
    return [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:])]


def check(shape, dtype, steps=3, **kw):
    """Train steps of SyncBatchNorm on this rank's part against BatchNorm on all."""
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 2e-5, "atol": 2e-5}
    C = shape[1]
    ours = nn.SyncBatchNorm(C, **kw).to(getattr(gpugrad, dtype))
    bn = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d, 5: nn.BatchNorm3d}[len(shape)]
    theirs = bn(C, **kw).to(getattr(gpugrad, dtype))
    mine = parts(shape[0])[rank]
    for step in range(steps):
        rng = np.random.default_rng([step, len(shape)])
        x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
        up = rng.standard_normal(shape).astype(dtype)
        if ours.weight is not None:
            with gpugrad.no_grad():  # the same parameters in both, changed each step
                for module in (ours, theirs):
                    module.weight.copy_(gpugrad.linspace(0.5, 2, C) + step)
                    module.bias.copy_(gpugrad.linspace(-1, 1, C) - step)
                    module.zero_grad()
        gx = gpugrad.tensor(x[mine], requires_grad=True)
        tx = gpugrad.tensor(x, requires_grad=True)
        out = ours(gx)
        expected = theirs(tx)
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy()[mine], **tol)
        (out * gpugrad.tensor(up[mine])).sum().backward()
        (expected * gpugrad.tensor(up)).sum().backward()
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy()[mine], **tol)
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            summed = p.grad.clone()
            dist.all_reduce(summed)
            np.testing.assert_allclose(summed.numpy(), q.grad.numpy(), **tol)
        for b, c in zip(ours.buffers(), theirs.buffers(), strict=True):
            np.testing.assert_allclose(b.numpy(), c.numpy(), **tol)
    ours.eval()
    theirs.eval()
    x = np.random.default_rng(9).standard_normal(shape).astype(dtype)
    np.testing.assert_allclose(ours(gpugrad.tensor(x)).detach().numpy(),
                               theirs(gpugrad.tensor(x)).detach().numpy(), **tol)


for dtype in ("float64", "float32"):
    check((9, 3, 4, 2), dtype)
    check((7, 4), dtype, momentum=None)
    check((5, 2, 3), dtype, affine=False)
    check((6, 2, 2, 2, 3), dtype, track_running_stats=False)
passed("sync_batchnorm_matches_batchnorm_on_the_whole_batch")

model = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)))
out = model(gpugrad.ones(2, 3) * (rank + 1))
node = type(out.grad_fn).__name__
assert (node == "SyncBatchNormBackward") == (world > 1), node
passed("converted_model_synchronizes" if world > 1 else "one_rank_is_plain_batch_norm")

dist.destroy_process_group()
