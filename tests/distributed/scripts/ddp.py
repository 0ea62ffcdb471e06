"""DistributedDataParallel on 2 ranks, each on half of every batch, against one process on the
whole batch (computed on every rank, float64): SGD, Adam, no_sync accumulation, unused
parameters, batch norm buffers; the structure (module, state_dict) and the errors. Run with
``mpiexec -n 2``; each rank prints ``rank R PASS <check>``."""

from __future__ import annotations

import os

import numpy as np

import gpugrad
import gpugrad.distributed as dist
import gpugrad.nn.functional as F
from gpugrad import nn
from gpugrad.nn.parallel import DistributedDataParallel as DDP
from gpugrad.nn.parallel import _reducer

RTOL, ATOL = 1e-11, 1e-13
N, FEATURES, STEPS = 8, 5, 4  # samples per rank, input width, optimizer steps

dist.init_process_group("mpi")
rank, world = dist.get_rank(), dist.get_world_size()


def passed(name: str) -> None:
    os.write(1, f"rank {rank} PASS {name}\n".encode())


def raises(kind, fragment: str, fn) -> str:
    try:
        fn()
    except kind as exc:
        assert fragment in str(exc), f"{kind.__name__} without {fragment!r}: {exc}"
        return str(exc)
    raise AssertionError(f"expected {kind.__name__} ({fragment})")


def batch(step: int, micro: int = 0):
    """The whole batch of a step (every rank draws the same), and this rank's half."""
    rng = np.random.default_rng([step, micro])
    x = gpugrad.tensor(rng.standard_normal((world * N, FEATURES)))
    y = gpugrad.tensor(rng.standard_normal((world * N, 2)))
    mine = slice(rank * N, (rank + 1) * N)
    return (x, y), (x[mine], y[mine])


def mlp(seed: int) -> nn.Module:
    gpugrad.manual_seed(seed)
    return nn.Sequential(nn.Linear(FEATURES, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(),
                         nn.Linear(16, 2)).double()


def close(a: nn.Module, b: nn.Module, what: str) -> None:
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=f"{what}: {name}")


# ------------------------------------------------------------------ SGD and Adam
for name, make_opt in (("sgd", lambda ps: gpugrad.optim.SGD(ps, lr=0.1, momentum=0.9)),
                       ("adam", lambda ps: gpugrad.optim.Adam(ps, lr=0.01))):
    reference = mlp(seed=10)  # rank 0's initial weights: DDP broadcasts them
    model = DDP(mlp(seed=10 + rank), bucket_cap_mb=0.001)  # several buckets
    ref_opt, opt = make_opt(reference.parameters()), make_opt(model.parameters())
    for step in range(STEPS):
        (x, y), (xr, yr) = batch(step)
        ref_opt.zero_grad()
        F.mse_loss(reference(x), y).backward()
        ref_opt.step()
        opt.zero_grad()
        F.mse_loss(model(xr), yr).backward()
        opt.step()
    close(reference, model.module, name)
    passed(f"ddp_{name}_matches_one_process")

# ------------------------------------------------------------------ no_sync accumulation
reference, model = mlp(seed=3), DDP(mlp(seed=3))
ref_opt = gpugrad.optim.SGD(reference.parameters(), lr=0.05)
opt = gpugrad.optim.SGD(model.parameters(), lr=0.05)
for step in range(STEPS):
    ref_opt.zero_grad()
    opt.zero_grad()
    for micro in range(3):
        (x, y), (xr, yr) = batch(step, micro)
        F.mse_loss(reference(x), y).backward()
        if micro < 2:
            with model.no_sync():
                F.mse_loss(model(xr), yr).backward()
            # inside no_sync the gradients stay local: they differ between the ranks
        else:
            F.mse_loss(model(xr), yr).backward()
    ref_opt.step()
    opt.step()
close(reference, model.module, "no_sync")
passed("ddp_no_sync_accumulation_matches_one_process")


# ------------------------------------------------------------------ unused parameters
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(FEATURES, 8)
        self.head = nn.Linear(8, 2)
        self.extra = nn.Linear(FEATURES, 2)  # used on rank 1 only
        self.unused = nn.Linear(FEATURES, 2)  # used nowhere

    def forward(self, x, use_extra: bool):
        out = self.head(self.body(x).relu())
        return out + self.extra(x) if use_extra else out


def branchy() -> nn.Module:
    gpugrad.manual_seed(5)
    return Branchy().double()


reference, model = branchy(), DDP(branchy(), find_unused_parameters=True)
ref_opt = gpugrad.optim.SGD(reference.parameters(), lr=0.1)
opt = gpugrad.optim.SGD(model.parameters(), lr=0.1)
for step in range(STEPS):
    (x, y), (xr, yr) = batch(step)
    ref_opt.zero_grad()
    halves = [F.mse_loss(reference(x[r * N:(r + 1) * N], use_extra=r == 1), y[r * N:(r + 1) * N])
              for r in range(world)]
    (sum(halves) / world).backward()
    ref_opt.step()
    opt.zero_grad()
    F.mse_loss(model(xr, use_extra=rank == 1), yr).backward()
    assert model.module.unused.weight.grad is None  # unused on every rank: left alone
    assert model.module.extra.weight.grad is not None  # unused here, used on rank 1
    opt.step()
close(reference, model.module, "unused parameters")
passed("ddp_unused_parameters_match_one_process")

model = DDP(branchy())  # without find_unused_parameters: the next forward says what went wrong
(x, y), (xr, yr) = batch(0)
F.mse_loss(model(xr, use_extra=True), yr).backward()
message = raises(RuntimeError, "Expected to have finished reduction",
                 lambda: model(xr, use_extra=True))
assert "unused.weight" in message and "find_unused_parameters=True" in message
passed("ddp_unused_parameter_error")


# ------------------------------------------------------------------ buffers (batch norm)
def with_norm() -> nn.Module:
    gpugrad.manual_seed(7)
    return nn.Sequential(nn.Linear(FEATURES, 6), nn.BatchNorm1d(6), nn.ReLU(),
                         nn.Linear(6, 2)).double()


def buffers(module: nn.Module) -> list:
    return [b.detach().numpy().copy() for b in module.buffers()]


def load_buffers(module: nn.Module, values: list) -> None:
    with gpugrad.no_grad():
        for b, v in zip(module.buffers(), values):
            b.copy_(gpugrad.tensor(v))


# One process emulates the ranks' batch norm: each half normalized by its own statistics, and
# every rank starting a step from rank 0's buffers (DDP broadcasts them before each forward).
reference, model = with_norm(), DDP(with_norm())
ref_opt = gpugrad.optim.SGD(reference.parameters(), lr=0.1)
opt = gpugrad.optim.SGD(model.parameters(), lr=0.1)
for step in range(STEPS):
    (x, y), (xr, yr) = batch(step)
    start, losses, after = buffers(reference), [], []
    for r in range(world):
        load_buffers(reference, start)
        losses.append(F.mse_loss(reference(x[r * N:(r + 1) * N]), y[r * N:(r + 1) * N]))
        after.append(buffers(reference))
    load_buffers(reference, after[0])
    ref_opt.zero_grad()
    (sum(losses) / world).backward()
    ref_opt.step()
    opt.zero_grad()
    F.mse_loss(model(xr), yr).backward()
    opt.step()
close(reference, model.module, "batch norm")
for mine, expected in zip(buffers(model.module), after[rank]):
    np.testing.assert_allclose(mine, expected, rtol=RTOL, atol=ATOL)
passed("ddp_batch_norm_buffers_match_one_process")

# ------------------------------------------------------------------ structure
inner = mlp(seed=1)
model = DDP(inner)
assert model.module is inner
assert list(model.state_dict()) == ["module." + k for k in inner.state_dict()]
assert len(list(model.parameters())) == len(list(inner.parameters()))
model.load_state_dict(model.state_dict())
assert model.broadcast_buffers is True and model.find_unused_parameters is False
passed("ddp_module_and_state_dict")

# Each bucket's all-reduce starts while backward still runs: before the node in front of the
# first layer has run.
events = []


class Marker(gpugrad.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad_output):
        events.append("input node")
        return grad_output


real_all_reduce = _reducer.all_reduce


def recording_all_reduce(tensor, op, async_op=False):
    events.append("all_reduce")
    return real_all_reduce(tensor, op, async_op=async_op)


_reducer.all_reduce = recording_all_reduce
model = DDP(mlp(seed=2), bucket_cap_mb=1e-6)  # one parameter per bucket
assert len(model.reducer.buckets) == 6
(x, y), (xr, yr) = batch(0)
F.mse_loss(model(Marker.apply(xr.requires_grad_())), yr).backward()
_reducer.all_reduce = real_all_reduce
assert events.count("all_reduce") == 6 and events.index("all_reduce") < events.index("input node")
passed("ddp_all_reduce_overlaps_backward")

# ------------------------------------------------------------------ errors
gpugrad.manual_seed(0)
mismatched = nn.Linear(FEATURES, 3 + rank).double()
message = raises(RuntimeError, "expects the same model on every rank", lambda: DDP(mismatched))
assert "'weight' of shape [3, 5]" in message and "[4, 5]" in message, message
layers = [nn.Linear(FEATURES, 3)] + ([nn.Linear(3, 3)] if rank == 1 else [])
raises(RuntimeError, "rank 1 has 4 parameters and buffers where rank 0 has 2",
       lambda: DDP(nn.Sequential(*layers)))
passed("ddp_mismatched_models_error_on_every_rank")

model = DDP(mlp(seed=4))
(x, y), (xr, yr) = batch(0)
loss = F.mse_loss(model(xr), yr)
loss.backward(retain_graph=True)
raises(RuntimeError, "mark a variable ready only once", lambda: loss.backward())
frozen = nn.Linear(2, 2).requires_grad_(False)
raises(RuntimeError, "doesn't have any parameter that requires a gradient", lambda: DDP(frozen))
raises(ValueError, "device_ids", lambda: DDP(nn.Linear(2, 2), device_ids=[0]))
raises(ValueError, "static_graph=True is not supported",
       lambda: DDP(nn.Linear(2, 2), static_graph=True))
raises(RuntimeError, "uninitialized parameters can't be used", lambda: DDP(nn.LazyLinear(2)))
passed("ddp_errors")

# ------------------------------------------------------------------ DistributedSampler
dataset = gpugrad.utils.data.TensorDataset(gpugrad.arange(11.0))
sampler = gpugrad.utils.data.distributed.DistributedSampler(dataset, shuffle=True, seed=3)
sampler.set_epoch(2)
loader = gpugrad.utils.data.DataLoader(dataset, batch_size=2, sampler=sampler)
mine = [int(v) for (values,) in loader for v in values.tolist()]
everyone = [None] * world
dist.all_gather_object(everyone, mine)
assert len(mine) == 6 and sorted(sum(everyone, []))[:11] == list(range(11))
passed("distributed_sampler_splits_the_dataset")

dist.destroy_process_group()
