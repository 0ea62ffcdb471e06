"""``gpugrad.distributed``: data-parallel training across processes and machines, with
``torch.distributed``'s names and semantics.

Start one process per device with MPI (``mpiexec -n N python train.py``), call
``init_process_group``, then use the collectives, or wrap the model in
``gpugrad.nn.parallel.DistributedDataParallel``. CPU tensors go over MPI (mpi4py; ``pip install
gpugrad[dist]``), CUDA tensors over NCCL (CuPy's bindings) or, under ``backend="mpi"``, over MPI
through host memory.
"""

from __future__ import annotations

from ._group import (
    GroupMember,
    ProcessGroup,
    destroy_process_group,
    get_backend,
    get_node_local_rank,
    get_rank,
    get_world_size,
    group,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
)
from ._types import Backend, ReduceOp, Work
from .collectives import (
    all_gather,
    all_gather_into_tensor,
    all_gather_object,
    all_gather_single,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    irecv,
    isend,
    recv,
    reduce_scatter_single,
    reduce_scatter_tensor,
    send,
)

__all__ = [
    "is_available", "is_mpi_available", "is_nccl_available", "init_process_group",
    "is_initialized", "destroy_process_group", "get_rank", "get_world_size", "get_backend",
    "get_node_local_rank", "group", "GroupMember", "ProcessGroup", "Backend", "ReduceOp", "Work",
    "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "all_gather_single",
    "reduce_scatter_tensor", "reduce_scatter_single", "barrier", "send", "recv", "isend",
    "irecv", "all_gather_object", "broadcast_object_list",
]
