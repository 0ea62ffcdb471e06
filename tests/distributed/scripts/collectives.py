"""Every collective against NumPy on the same data: each op and dtype, sync and async, plus the
errors. Run with ``mpiexec -n 2``; each rank prints ``rank R PASS <check>``."""

from __future__ import annotations

import datetime
import os

import numpy as np

import gpugrad
import gpugrad.distributed as dist
from gpugrad.backend import cuda_available

DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]
R = dist.ReduceOp
rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))  # until init


def data(rank: int, dtype: str, shape=(3, 5), salt: int = 0) -> np.ndarray:
    rng = np.random.default_rng([rank, DTYPES.index(dtype), salt])
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype[0] in "iu":
        low = 0 if dtype == "uint8" else -5
        return rng.integers(low, low + 10, shape).astype(dtype)
    return (rng.standard_normal(shape) + 0.5).astype(dtype)


def ops_for(dtype: str) -> list:
    if dtype == "bool":
        return [R.SUM, R.PRODUCT, R.MIN, R.MAX, R.BAND, R.BOR, R.BXOR]
    if dtype.startswith("float"):
        return [R.SUM, R.AVG, R.PRODUCT, R.MIN, R.MAX]
    return [R.SUM, R.PRODUCT, R.MIN, R.MAX, R.BAND, R.BOR, R.BXOR]


def reduce_np(arrays: list, op) -> np.ndarray:
    """What reducing ``arrays`` (one per rank) gives: bool as logic, float16 via float32."""
    dtype = arrays[0].dtype
    if dtype == np.bool_:
        logical = {R.SUM: np.logical_or, R.MAX: np.logical_or, R.BOR: np.logical_or,
                   R.PRODUCT: np.logical_and, R.MIN: np.logical_and, R.BAND: np.logical_and,
                   R.BXOR: np.logical_xor}[op]
        out = arrays[0]
        for a in arrays[1:]:
            out = logical(out, a)
        return out
    work = [a.astype(np.float32) if dtype == np.float16 else a for a in arrays]
    combine = {R.SUM: np.add, R.AVG: np.add, R.PRODUCT: np.multiply, R.MIN: np.minimum,
               R.MAX: np.maximum, R.BAND: np.bitwise_and, R.BOR: np.bitwise_or,
               R.BXOR: np.bitwise_xor}[op]
    out = work[0]
    for a in work[1:]:
        out = combine(out, a)
    if op is R.AVG:
        out = out / len(arrays)
    return out.astype(dtype)


def passed(name: str) -> None:
    os.write(1, f"rank {rank} PASS {name}\n".encode())  # one write: lines of ranks never mix


def raises(kind, fragment: str, fn) -> None:
    try:
        fn()
    except kind as exc:
        assert fragment in str(exc), f"{kind.__name__} without {fragment!r}: {exc}"
        return
    raise AssertionError(f"expected {kind.__name__} ({fragment})")


def equal(t, expected) -> None:
    np.testing.assert_array_equal(t.numpy(), expected)


# ------------------------------------------------------------------ before init_process_group
raises(ValueError, "Default process group has not been initialized",
       lambda: dist.all_reduce(gpugrad.ones(2)))
raises(ValueError, "Default process group has not been initialized", dist.get_rank)
raises(ValueError, "Default process group has not been initialized", dist.barrier)
assert not dist.is_initialized()
passed("collective_before_init")

raises(ValueError, "Invalid backend", lambda: dist.init_process_group("bogus"))
raises(ValueError, "init_method", lambda: dist.init_process_group(
    "mpi", init_method="tcp://127.0.0.1:23456"))
raises(ValueError, "world_size=5", lambda: dist.init_process_group("mpi", world_size=5))
raises(TypeError, "timedelta", lambda: dist.init_process_group("mpi", timeout=30))
if not cuda_available():
    raises(RuntimeError, "no GPUs found", lambda: dist.init_process_group("nccl"))
assert not dist.is_initialized()
passed("init_errors")

dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
assert dist.get_backend() == "gloo"
dist.destroy_process_group()
dist.init_process_group(backend="mpi", world_size=2)
rank, size = dist.get_rank(), dist.get_world_size()
assert size == 2 and dist.is_initialized() and dist.get_backend() == "mpi"
assert dist.group.WORLD is not None and dist.get_rank(dist.group.WORLD) == rank
raises(ValueError, "twice", lambda: dist.init_process_group("mpi"))
passed("init")

# ------------------------------------------------------------------ all_reduce
for dtype in DTYPES:
    for op in ops_for(dtype):
        expected = reduce_np([data(r, dtype) for r in range(size)], op)
        for async_op in (False, True):
            t = gpugrad.tensor(data(rank, dtype))
            version = t._version
            work = dist.all_reduce(t, op=op, async_op=async_op)
            if async_op:
                assert work.wait() is True and work.is_completed()
                assert work.result() == [t]
            else:
                assert work is None
            equal(t, expected)
            assert t._version > version
    passed(f"all_reduce_{dtype}")

# Views, 0-d and empty tensors; the memory around a view is left alone.
base = gpugrad.tensor(data(rank, "float64", (4, 6)))
before = base.numpy().copy()
view = base[:, ::2]
dist.all_reduce(view)
want = before.copy()
want[:, ::2] = reduce_np([data(r, "float64", (4, 6))[:, ::2] for r in range(size)], R.SUM)
equal(base, want)
scalar = gpugrad.tensor(float(rank + 1))
dist.all_reduce(scalar, op=R.MAX, async_op=True).wait()
assert scalar.item() == size
empty = gpugrad.zeros(0, 3)
dist.all_reduce(empty)
assert empty.shape == (0, 3)
passed("all_reduce_views")

raises(RuntimeError, "AVG needs a floating point", lambda: dist.all_reduce(
    gpugrad.ones(2, dtype=gpugrad.int64), op=R.AVG))
raises(RuntimeError, "BAND needs an integer or bool", lambda: dist.all_reduce(
    gpugrad.ones(2), op=R.BAND))
raises(TypeError, "op must be a ReduceOp", lambda: dist.all_reduce(gpugrad.ones(2), op="sum"))
raises(TypeError, "Expected parameter `tensor`", lambda: dist.all_reduce([1.0]))
raises(ValueError, "only the default group", lambda: dist.all_reduce(gpugrad.ones(2),
                                                                     group=object()))
passed("all_reduce_errors")

# ------------------------------------------------------------------ broadcast
for dtype in DTYPES:
    for src in range(size):
        for async_op in (False, True):
            t = gpugrad.tensor(data(rank, dtype, salt=src))
            work = dist.broadcast(t, src=src, async_op=async_op)
            if async_op:
                work.wait()
            equal(t, data(src, dtype, salt=src))
    passed(f"broadcast_{dtype}")
base = gpugrad.tensor(data(rank, "float32", (3, 4)))
dist.broadcast(base.t(), src=1)
equal(base, data(1, "float32", (3, 4)))
raises(RuntimeError, "invalid src rank 5", lambda: dist.broadcast(gpugrad.ones(2), src=5))
raises(ValueError, "src (or group_src) must be given", lambda: dist.broadcast(gpugrad.ones(2)))
passed("broadcast_views_and_errors")

# ------------------------------------------------------------------ all_gather
for dtype in DTYPES:
    for async_op in (False, True):
        mine = gpugrad.tensor(data(rank, dtype))
        outs = [gpugrad.tensor(np.zeros_like(data(0, dtype))) for _ in range(size)]
        work = dist.all_gather(outs, mine, async_op=async_op)
        if async_op:
            work.wait()
        for r, out in enumerate(outs):
            equal(out, data(r, dtype))
    passed(f"all_gather_{dtype}")
raises(RuntimeError, "expected length 2", lambda: dist.all_gather([gpugrad.ones(2)],
                                                                 gpugrad.ones(2)))
raises(RuntimeError, "invalid tensor size at index 1", lambda: dist.all_gather(
    [gpugrad.ones(2), gpugrad.ones(3)], gpugrad.ones(2)))
raises(RuntimeError, "dtype", lambda: dist.all_gather(
    [gpugrad.ones(2), gpugrad.ones(2, dtype=gpugrad.float64)], gpugrad.ones(2)))
passed("all_gather_errors")

# ------------------------------------------------------------------ all_gather_into_tensor
for dtype in DTYPES:
    mine = gpugrad.tensor(data(rank, dtype))
    every = np.concatenate([data(r, dtype) for r in range(size)])
    for async_op in (False, True):
        concat = gpugrad.tensor(np.zeros((size * 3, 5), every.dtype))
        stacked = gpugrad.tensor(np.zeros((size, 3, 5), every.dtype))
        for out in (concat, stacked):
            work = dist.all_gather_into_tensor(out, mine, async_op=async_op)
            if async_op:
                work.wait()
            equal(out, every.reshape(out.shape))
    passed(f"all_gather_into_tensor_{dtype}")
raises(RuntimeError, "world_size (2) times", lambda: dist.all_gather_into_tensor(
    gpugrad.ones(5), gpugrad.ones(2)))
assert dist.all_gather_single is dist.all_gather_into_tensor

# ------------------------------------------------------------------ reduce_scatter_tensor
for dtype in DTYPES:
    for op in ops_for(dtype):
        inputs = [data(r, dtype, (size * 3, 4)) for r in range(size)]
        expected = reduce_np(inputs, op)[rank * 3:(rank + 1) * 3]
        for async_op in (False, True):
            out = gpugrad.tensor(np.zeros((3, 4), inputs[0].dtype))
            work = dist.reduce_scatter_tensor(out, gpugrad.tensor(inputs[rank]), op=op,
                                              async_op=async_op)
            if async_op:
                work.wait()
            equal(out, expected)
    passed(f"reduce_scatter_tensor_{dtype}")
raises(RuntimeError, "world_size (2) times", lambda: dist.reduce_scatter_tensor(
    gpugrad.ones(3), gpugrad.ones(5)))
raises(RuntimeError, "AVG needs a floating point", lambda: dist.reduce_scatter_tensor(
    gpugrad.ones(1, dtype=gpugrad.int32), gpugrad.ones(2, dtype=gpugrad.int32), op=R.AVG))

# ------------------------------------------------------------------ point to point
peer = 1 - rank
for dtype in DTYPES:
    outgoing = gpugrad.tensor(data(rank, dtype))
    incoming = gpugrad.tensor(np.zeros_like(data(peer, dtype)))
    if rank == 0:
        dist.send(outgoing, dst=peer, tag=3)
        assert dist.recv(incoming, src=peer, tag=4) == peer
    else:
        assert dist.recv(incoming, tag=3) == peer  # from any rank
        dist.send(outgoing, dst=peer, tag=4)
    equal(incoming, data(peer, dtype))
    incoming = gpugrad.tensor(np.zeros_like(data(peer, dtype)))
    receive = dist.irecv(incoming, src=peer)
    dist.isend(outgoing, dst=peer).wait()
    receive.wait()
    equal(incoming, data(peer, dtype))
passed("send_recv")
raises(ValueError, "destination rank should not be the same", lambda: dist.send(
    gpugrad.ones(1), dst=rank))
raises(ValueError, "source rank should not be the same", lambda: dist.recv(
    gpugrad.ones(1), src=rank))

# ------------------------------------------------------------------ barrier, objects
dist.barrier()
dist.barrier(async_op=True).wait()
dist.barrier(timeout=datetime.timedelta(seconds=30))
gathered = [None] * size
dist.all_gather_object(gathered, {"rank": rank, "name": f"r{rank}"})
assert gathered == [{"rank": r, "name": f"r{r}"} for r in range(size)]
objects = [rank, "mine"] if rank == 1 else [None, None]
dist.broadcast_object_list(objects, src=1)
assert objects == [1, "mine"]
passed("barrier_and_objects")

dist.destroy_process_group()
assert not dist.is_initialized()
passed("destroy")
