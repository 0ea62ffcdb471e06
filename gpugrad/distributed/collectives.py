"""Collectives and point-to-point messages with PyTorch's names and semantics.

Every rank calls the same collectives in the same order. They write their result into the given
tensors in place (and count it as an in-place write, as autograd sees it); ``async_op=True``
returns a ``Work`` to ``wait()`` on, else they return when the result is there (MPI) or queued
on the current CUDA stream (NCCL).
"""

from __future__ import annotations

from ..tensor import Tensor
from ._group import _groups, resolve
from ._types import ReduceOp, Work

__all__ = [
    "all_reduce", "broadcast", "all_gather", "all_gather_into_tensor", "all_gather_single",
    "reduce_scatter_tensor", "reduce_scatter_single", "send", "recv", "isend", "irecv",
    "barrier", "all_gather_object", "broadcast_object_list",
]

_OPS = frozenset(ReduceOp.RedOpType)
_SUM = ReduceOp.SUM
_BITWISE = frozenset((ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR))


# ---------------------------------------------------------------------- checks
def _check_tensor(t, name: str = "tensor") -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type "
                        f"Tensor but got {type(t)} instead.")


def _check_op(op, t: Tensor, fn: str) -> None:
    if op not in _OPS:
        raise TypeError(f"{fn}: op must be a ReduceOp (e.g. ReduceOp.SUM), got {op!r}")
    floating = t.dtype.is_floating_point
    if op is ReduceOp.AVG and not floating:
        raise RuntimeError(f"{fn}: ReduceOp.AVG needs a floating point tensor, got {t.dtype}")
    if op in _BITWISE and floating:
        raise RuntimeError(f"{fn}: ReduceOp.{op.name} needs an integer or bool tensor, got "
                           f"{t.dtype}")


def _check_like(t: Tensor, like: Tensor, fn: str, what: str) -> None:
    if t._backend is not like._backend:
        raise RuntimeError(f"{fn}: {what} is on {t.device} but the input is on {like.device}")
    if t._data.dtype != like._data.dtype:
        raise RuntimeError(f"{fn}: {what} has dtype {t.dtype} but the input has {like.dtype}")


def _rank_arg(pg, rank, group_rank, name: str, fn: str) -> int:
    if rank is None:
        rank = group_rank  # one group only: its ranks are the global ranks
    elif group_rank is not None and group_rank != rank:
        raise ValueError(f"{fn}: give {name} or group_{name}, not two different ranks")
    if rank is None:
        raise ValueError(f"{fn}: {name} (or group_{name}) must be given")
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < pg.size():
        raise RuntimeError(f"{fn}: invalid {name} rank {rank!r}: the group has ranks 0 to "
                           f"{pg.size() - 1}")
    return rank


def _peer(pg, rank, group_rank, name: str, fn: str) -> int:
    rank = _rank_arg(pg, rank, group_rank, name, fn)
    if rank == pg.rank():
        kind = "destination" if name == "dst" else "source"
        raise ValueError(f"Invalid {kind} rank: {kind} rank should not be the same as the rank "
                         "of the current process.")
    return rank


def _written(*tensors: Tensor) -> None:
    for t in tensors:
        t._vc.value += 1


def _returns(work, *tensors):
    """``work`` (None for a blocking call), its ``result()`` set to ``tensors``."""
    if work is not None:
        work._result = tensors
    return work


def _then(work, finish):
    """``work`` followed by ``finish()``: run now (``work`` is None: done) or on ``wait()``."""
    if work is None:
        finish()
        return None
    return Work(lambda: (work.wait(), finish()), work.is_completed)


# ---------------------------------------------------------------------- collectives
def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` over all ranks with ``op``; every rank gets the result in place."""
    pg = _groups.WORLD
    if pg is None or group is not None:
        pg = resolve(group)
    if tensor.__class__ is not Tensor:
        _check_tensor(tensor)
    if op is not _SUM:
        _check_op(op, tensor, "all_reduce")
    backend = pg._by_tensor_backend.get(tensor._backend) or pg.backend_for(tensor._backend)
    tensor._vc.value += 1
    work = backend.all_reduce(tensor._data, op, async_op)
    return work if work is None else _returns(work, tensor)


def broadcast(tensor, src: int | None = None, group=None, async_op: bool = False,
              group_src: int | None = None):
    """Copy ``tensor`` of rank ``src`` into ``tensor`` on every other rank."""
    pg = resolve(group)
    _check_tensor(tensor)
    src = _rank_arg(pg, src, group_src, "src", "broadcast")
    backend = pg.backend_for(tensor._backend)
    if pg.rank() != src:
        _written(tensor)
    return _returns(backend.broadcast(tensor._data, src, async_op), tensor)


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """Fill ``tensor_list[r]`` with ``tensor`` of rank ``r``, for every rank ``r``."""
    pg = resolve(group)
    _check_tensor(tensor)
    if not isinstance(tensor_list, list) or not all(isinstance(t, Tensor) for t in tensor_list):
        raise TypeError("Invalid function argument: tensor_list should be a list of Tensors")
    n = pg.size()
    if len(tensor_list) != n:
        raise RuntimeError(f"all_gather: invalid output tensor list (expected length {n}, got "
                           f"{len(tensor_list)})")
    for i, t in enumerate(tensor_list):
        _check_like(t, tensor, "all_gather", f"tensor_list[{i}]")
        if t._data.shape != tensor._data.shape:
            raise RuntimeError(f"all_gather: invalid tensor size at index {i} (expected "
                               f"{tuple(tensor.shape)}, got {tuple(t.shape)})")
    backend = pg.backend_for(tensor._backend)
    stacked = tensor._backend.xp.empty((n,) + tensor._data.shape, tensor._data.dtype)
    work = backend.all_gather(stacked, tensor._data, async_op)

    def scatter():
        for t, piece in zip(tensor_list, stacked):
            t._data[...] = piece
        _written(*tensor_list)
    return _returns(_then(work, scatter), *tensor_list)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Gather ``input_tensor`` of every rank into ``output_tensor``, rank by rank along the first
    dimension (its shape: the inputs concatenated or stacked)."""
    pg = resolve(group)
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    _check_like(output_tensor, input_tensor, "all_gather_into_tensor", "output_tensor")
    if output_tensor._data.size != pg.size() * input_tensor._data.size:
        raise RuntimeError(
            f"all_gather_into_tensor: output_tensor must hold world_size ({pg.size()}) times "
            f"the input's elements: got {tuple(output_tensor.shape)} for an input of "
            f"{tuple(input_tensor.shape)}")
    backend = pg.backend_for(input_tensor._backend)
    _written(output_tensor)
    return _returns(backend.all_gather(output_tensor._data, input_tensor._data, async_op),
                    output_tensor)


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input`` over all ranks with ``op`` and give rank ``r`` the ``r``-th of its
    world_size equal chunks (along the first dimension) in ``output``."""
    pg = resolve(group)
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _check_op(op, input, "reduce_scatter_tensor")
    _check_like(output, input, "reduce_scatter_tensor", "output")
    if input._data.size != pg.size() * output._data.size:
        raise RuntimeError(
            f"reduce_scatter_tensor: input must hold world_size ({pg.size()}) times the "
            f"output's elements: got {tuple(input.shape)} for an output of "
            f"{tuple(output.shape)}")
    backend = pg.backend_for(input._backend)
    _written(output)
    return _returns(backend.reduce_scatter(output._data, input._data, op, async_op), output)


# PyTorch 2.13's new names for the two collectives above.
all_gather_single = all_gather_into_tensor
reduce_scatter_single = reduce_scatter_tensor


def barrier(group=None, async_op: bool = False, device_ids=None, timeout=None):
    """Wait until every rank has reached the barrier (``timeout``: a ``timedelta`` for this
    call instead of the group's)."""
    pg = resolve(group)
    if device_ids is not None:  # NCCL: the work queued on these devices comes first
        from .. import cuda

        for index in device_ids:
            cuda.synchronize(index)
    return pg.mpi.barrier(async_op, None if timeout is None else timeout.total_seconds())


# ---------------------------------------------------------------------- point to point
def send(tensor, dst: int | None = None, group=None, tag: int = 0,
         group_dst: int | None = None) -> None:
    """Send ``tensor`` to rank ``dst`` (which calls ``recv``); returns once it may be reused."""
    pg = resolve(group)
    _check_tensor(tensor)
    dst = _peer(pg, dst, group_dst, "dst", "send")
    pg.backend_for(tensor._backend).send(tensor._data, dst, int(tag), False)


def isend(tensor, dst: int | None = None, group=None, tag: int = 0,
          group_dst: int | None = None) -> Work:
    """``send`` without waiting: ``wait()`` on the returned Work before reusing ``tensor``."""
    pg = resolve(group)
    _check_tensor(tensor)
    dst = _peer(pg, dst, group_dst, "dst", "isend")
    return pg.backend_for(tensor._backend).send(tensor._data, dst, int(tag), True)


def recv(tensor, src: int | None = None, group=None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor`` from rank ``src`` (None: any rank); returns the sender's rank."""
    pg = resolve(group)
    _check_tensor(tensor)
    if src is not None or group_src is not None:
        src = _peer(pg, src, group_src, "src", "recv")
    _written(tensor)
    return pg.backend_for(tensor._backend).recv(tensor._data, src, int(tag), False)


def irecv(tensor, src: int | None = None, group=None, tag: int = 0,
          group_src: int | None = None) -> Work:
    """``recv`` without waiting: ``tensor`` holds the message after ``wait()``."""
    pg = resolve(group)
    _check_tensor(tensor)
    if src is not None or group_src is not None:
        src = _peer(pg, src, group_src, "src", "irecv")
    _written(tensor)
    return pg.backend_for(tensor._backend).recv(tensor._data, src, int(tag), True)


# ---------------------------------------------------------------------- Python objects
def all_gather_object(object_list: list, obj, group=None) -> None:
    """Fill ``object_list`` (world_size long) with ``obj`` of every rank (pickled)."""
    pg = resolve(group)
    if not isinstance(object_list, list) or len(object_list) != pg.size():
        raise ValueError(f"all_gather_object: object_list must be a list of world_size "
                         f"({pg.size()}) items")
    object_list[:] = pg.mpi.all_gather_object(obj)


def broadcast_object_list(object_list: list, src: int | None = None, group=None, device=None,
                          group_src: int | None = None) -> None:
    """Replace ``object_list``'s items on every rank with those of rank ``src`` (pickled)."""
    pg = resolve(group)
    if not isinstance(object_list, list):
        raise TypeError("broadcast_object_list: object_list must be a list")
    src = _rank_arg(pg, src, group_src, "src", "broadcast_object_list")
    received = pg.mpi.broadcast_object(object_list if pg.rank() == src else None, src)
    if len(received) != len(object_list):
        raise RuntimeError(f"broadcast_object_list: rank {src} sent {len(received)} objects, "
                           f"this rank's list has {len(object_list)}")
    object_list[:] = received
