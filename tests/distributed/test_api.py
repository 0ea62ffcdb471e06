"""``gpugrad.distributed`` in this process, without starting MPI: the API before
``init_process_group``, the types, routing by device, bucket assignment, DistributedSampler."""

from __future__ import annotations

import importlib
import sys
import types

import pytest
import torch

import gpugrad
import gpugrad.distributed as dist
from gpugrad.nn.parallel._reducer import assign_buckets
from gpugrad.utils.data.distributed import DistributedSampler


def test_names_match_torch_distributed():
    for name in ("init_process_group", "is_initialized", "destroy_process_group", "get_rank",
                 "get_world_size", "barrier", "all_reduce", "broadcast", "all_gather",
                 "all_gather_into_tensor", "reduce_scatter_tensor", "send", "recv", "isend",
                 "irecv", "all_gather_object", "broadcast_object_list", "ReduceOp", "Backend",
                 "is_available", "group", "get_backend", "get_node_local_rank"):
        assert hasattr(dist, name) and hasattr(torch.distributed, name), name
    assert gpugrad.distributed is dist
    assert gpugrad.nn.parallel.DistributedDataParallel.__name__ == "DistributedDataParallel"
    for op in ("SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"):
        assert repr(getattr(dist.ReduceOp, op)) == repr(getattr(torch.distributed.ReduceOp, op))


@pytest.mark.parametrize("call", [
    lambda d, t: d.all_reduce(t), lambda d, t: d.broadcast(t, src=0), lambda d, t: d.get_rank(),
    lambda d, t: d.get_world_size(), lambda d, t: d.barrier(),
    lambda d, t: d.all_gather([t], t), lambda d, t: d.send(t, dst=1),
], ids=["all_reduce", "broadcast", "get_rank", "get_world_size", "barrier", "all_gather",
        "send"])
def test_before_init_process_group_like_torch(call):
    messages = []
    for lib, t in ((dist, gpugrad.ones(2)), (torch.distributed, torch.ones(2))):
        with pytest.raises(ValueError) as info:
            call(lib, t)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert not dist.is_initialized()
    with pytest.raises(AssertionError, match="Process group cannot be None"):
        dist.destroy_process_group()


def test_backend_names():
    assert dist.Backend("MPI") == "mpi" and dist.Backend.NCCL == "nccl"
    with pytest.raises(ValueError, match="Invalid backend: 'tcp'"):
        dist.Backend("tcp")


def test_without_mpi4py_init_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(RuntimeError, match=r"pip install gpugrad\[dist\]"):
        dist.init_process_group("mpi")
    assert not dist.is_initialized()


def test_nccl_backend_module_imports_without_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    importlib.reload(importlib.import_module("gpugrad.distributed._nccl"))


def test_a_tensor_on_a_device_the_backend_does_not_serve(monkeypatch):
    # A group whose only backend serves CUDA (NCCL), given a CPU tensor: PyTorch's error.
    mpi = types.SimpleNamespace(rank=0, size=2)
    group = dist.ProcessGroup(dist.Backend.NCCL, mpi=mpi, by_device={"cuda": object()},
                              watchdog=None, local_rank=0)
    monkeypatch.setattr(dist.group, "WORLD", group)
    for call in (lambda t: dist.all_reduce(t), lambda t: dist.broadcast(t, src=0),
                 lambda t: dist.all_gather_into_tensor(gpugrad.zeros(4), t)):
        with pytest.raises(RuntimeError, match="No backend type associated with device type cpu"):
            call(gpugrad.ones(2))


def test_buckets_take_parameters_in_reverse_order_by_size_and_dtype():
    def params(*specs):
        return [gpugrad.zeros(n, dtype=d) for n, d in specs]

    f32, f64 = gpugrad.float32, gpugrad.float64
    # 4-byte floats: 100 of them are 400 bytes; a bucket closes once it holds the cap.
    assert assign_buckets(params((100, f32), (100, f32), (100, f32)), 400, 800) == [[2], [1, 0]]
    assert assign_buckets(params((10, f32), (10, f64), (10, f32)), 10**6, 10**6) == [[2, 0], [1]]
    assert assign_buckets(params((1, f32), (1, f32)), 1, 1) == [[1], [0]]


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (11, 2, False),
                                                  (4, 4, True), (3, 5, False), (0, 2, False)])
def test_distributed_sampler_matches_torch_without_shuffle(n, replicas, drop_last):
    dataset = list(range(n))
    for rank in range(replicas):
        ours = DistributedSampler(dataset, replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch.utils.data.distributed.DistributedSampler(
            dataset, replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs)
        assert (len(ours), ours.num_samples, ours.total_size) == \
            (len(theirs), theirs.num_samples, theirs.total_size)


def test_distributed_sampler_shuffles_by_seed_and_epoch():
    dataset = list(range(13))

    def shares(epoch, seed=0):
        samplers = [DistributedSampler(dataset, 3, r, seed=seed) for r in range(3)]
        for s in samplers:
            s.set_epoch(epoch)
        return [list(s) for s in samplers]

    first = shares(0)
    assert shares(0) == first  # every rank and every run draws the same order
    assert set(sum(first, [])) == set(dataset) and all(len(s) == 5 for s in first)
    assert shares(1) != first and shares(0, seed=1) != first
    assert list(range(13)) != sum(first, [])


def test_distributed_sampler_errors_like_torch():
    for cls in (DistributedSampler, torch.utils.data.distributed.DistributedSampler):
        with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval "
                                             r"\[0, 2\]"):
            cls(range(5), num_replicas=3, rank=3)
    with pytest.raises(ValueError, match="Default process group has not been initialized"):
        DistributedSampler(range(5))
    assert gpugrad.utils.data.DistributedSampler is DistributedSampler
