"""The default process group: ``init_process_group`` and what asks about it.

MPI starts the processes (``mpiexec -n N python train.py``) and tells each its rank and the
world size, so there is no rendezvous to configure. The group keeps one backend per device
type: MPI for CPU tensors (and CUDA tensors, staged through host memory, under ``"mpi"``), NCCL
for CUDA tensors under ``"nccl"``. MPI always carries the bootstrapping, barriers and objects.
"""

from __future__ import annotations

import datetime
import importlib.util
import os

from ._types import Backend

__all__ = [
    "ProcessGroup", "group", "GroupMember", "is_available", "is_mpi_available",
    "is_nccl_available", "init_process_group", "is_initialized", "destroy_process_group",
    "get_rank", "get_world_size", "get_backend", "get_node_local_rank",
]

_NOT_INITIALIZED = (
    "Default process group has not been initialized, please make sure to call "
    "init_process_group."
)
_DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)


class ProcessGroup:
    """The ranks that take part in collectives (here: all of them) and their backends."""

    def __init__(self, backend: Backend, mpi, by_device: dict, watchdog, local_rank: int):
        self.backend_name, self.mpi, self.watchdog = backend, mpi, watchdog
        self._by_device, self.local_rank = by_device, local_rank
        self._by_tensor_backend = {}

    def rank(self) -> int:
        return self.mpi.rank

    def size(self) -> int:
        return self.mpi.size

    def backend_for(self, tensor_backend):
        """The collective backend serving tensors of ``tensor_backend`` (a device's backend)."""
        backend = self._by_tensor_backend.get(tensor_backend)
        if backend is None:
            device_type = tensor_backend.device.type
            backend = self._by_device.get(device_type)
            if backend is None:
                raise RuntimeError(f"No backend type associated with device type {device_type}")
            self._by_tensor_backend[tensor_backend] = backend
        return backend

    def __repr__(self) -> str:
        return f"ProcessGroup(backend={self.backend_name!r}, size={self.size()})"


class group:  # noqa: N801 - PyTorch's name
    """``group.WORLD``: the default process group once ``init_process_group`` has run."""

    WORLD: ProcessGroup | None = None


GroupMember = group
_groups = group  # for functions whose ``group`` argument hides the class


def is_available() -> bool:
    """Whether gpugrad.distributed can run: mpi4py is installed (``pip install gpugrad[dist]``)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_mpi_available() -> bool:
    return is_available()


def is_nccl_available() -> bool:
    """Whether CuPy's NCCL bindings load (NCCL also needs a GPU to run)."""
    try:
        from cupy.cuda import nccl
    except ImportError:
        return False
    return bool(getattr(nccl, "available", False))


def _cuda_available() -> bool:
    from ..backend import cuda_available

    return cuda_available()


def _mpi_module():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise RuntimeError(
            "gpugrad.distributed needs mpi4py and an MPI library: pip install gpugrad[dist] "
            f"(mpi4py, mpich) and start the processes with mpiexec ({exc})"
        ) from None
    return MPI


def _check_arguments(backend, init_method, timeout, store, pg_options) -> tuple:
    if backend is None:
        backend = Backend.NCCL if _cuda_available() else Backend.MPI
        mixed = backend == Backend.NCCL  # CPU tensors then go over MPI, as PyTorch's gloo
    else:
        backend, mixed = Backend(backend), False
    if init_method not in (None, "env://"):
        raise ValueError(
            f"init_method={init_method!r}: gpugrad.distributed takes the ranks and the world "
            "size from MPI (start the job with mpiexec -n N); leave init_method unset"
        )
    if store is not None or pg_options is not None:
        raise ValueError("store and pg_options are not supported: MPI bootstraps the group")
    if timeout is None:
        timeout = _DEFAULT_TIMEOUT
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"Expected timeout argument to be of type datetime.timedelta, got "
                        f"{type(timeout).__name__}")
    return backend, mixed, timeout.total_seconds()


def init_process_group(backend=None, init_method=None, timeout=None, world_size: int = -1,
                       rank: int = -1, store=None, group_name: str = "", pg_options=None,
                       device_id=None) -> None:
    """Initialize the default process group from MPI (start with ``mpiexec -n N``).

    Args:
        backend: ``"mpi"`` (CPU tensors; CUDA tensors staged through host memory), ``"nccl"``
            (CUDA tensors), ``"gloo"`` (another name for ``"mpi"``), or None: NCCL for CUDA
            tensors and MPI for CPU tensors when CuPy sees a GPU, else MPI.
        init_method: None or ``"env://"``: MPI finds the peers.
        timeout: how long a collective may wait (default 30 minutes); past it the job stops
            on every rank with an error.
        world_size, rank: if given, must equal what MPI says.
        device_id: the CUDA device of this process (NCCL), made current.
    """
    if group.WORLD is not None:
        raise ValueError("trying to initialize the default process group twice!")
    backend, mixed, timeout_s = _check_arguments(backend, init_method, timeout, store,
                                                 pg_options)
    if not isinstance(group_name, str):
        raise TypeError(f"group_name must be a str, got {type(group_name).__name__}")
    mpi_module = _mpi_module()
    world = mpi_module.COMM_WORLD
    for name, given, actual in (("world_size", world_size, world.Get_size()),
                                ("rank", rank, world.Get_rank())):
        if given not in (-1, None) and given != actual:
            raise ValueError(f"{name}={given} but MPI started this process with {name} "
                             f"{actual} (mpiexec decides ranks and the world size)")
    if device_id is not None:
        from .. import cuda

        cuda.set_device(device_id)
    uses_nccl = backend == Backend.NCCL
    _agree(world, uses_nccl)  # every rank raises the same error, or none does

    from ._mpi import MpiBackend
    from ._watchdog import Watchdog

    watchdog = Watchdog(mpi_module, world, timeout_s) if world.Get_size() > 1 else None
    mpi = MpiBackend(mpi_module, world.Dup(), watchdog)
    by_device = {"cpu": mpi, "cuda": mpi}
    if uses_nccl:
        from ._nccl import NcclBackend

        by_device = {"cuda": NcclBackend(mpi.comm, mpi.rank, mpi.size)}
        if mixed:
            by_device["cpu"] = mpi
    node = world.Split_type(mpi_module.COMM_TYPE_SHARED)
    local_rank = node.Get_rank()
    node.Free()
    group.WORLD = ProcessGroup(backend, mpi, by_device, watchdog, local_rank)


def _agree(world, uses_nccl: bool) -> None:
    """Check locally what the backend needs, then agree across ranks, so that a rank that
    cannot go on makes every rank raise instead of leaving the others waiting."""
    problem = ""
    if uses_nccl and not _cuda_available():
        problem = "ProcessGroupNCCL is only supported with GPUs, no GPUs found!"
    elif uses_nccl and not is_nccl_available():
        problem = "the NCCL backend needs CuPy's NCCL bindings (cupy.cuda.nccl), not found"
    problems = world.allgather(problem)
    for r, text in enumerate(problems):
        if text:
            raise RuntimeError(text if r == world.Get_rank() else f"rank {r}: {text}")


def resolve(given) -> ProcessGroup:
    """The process group a call names (None: the default one)."""
    pg = group.WORLD
    if pg is None:
        raise ValueError(_NOT_INITIALIZED)
    if given is not None and given is not pg:
        raise ValueError("gpugrad.distributed has only the default group: pass group=None "
                         "(or dist.group.WORLD)")
    return pg


def is_initialized() -> bool:
    return group.WORLD is not None


def destroy_process_group(group=None) -> None:
    """Shut the default process group down; ``init_process_group`` may run again after."""
    if not is_initialized():
        raise AssertionError("Process group cannot be None")
    pg = resolve(group)
    if pg.watchdog is not None:
        pg.watchdog.stop()
    _groups.WORLD = None


def get_rank(group=None) -> int:
    """This process's rank in the group (0 to world size - 1)."""
    return resolve(group).rank()


def get_world_size(group=None) -> int:
    """The number of processes in the group."""
    return resolve(group).size()


def get_backend(group=None) -> Backend:
    return resolve(group).backend_name


def get_node_local_rank(fallback_rank: int | None = None) -> int:
    """This process's rank among those on its machine: ``LOCAL_RANK`` if set, else what the MPI
    launcher says (MPICH's ``MPI_LOCALRANKID``, Open MPI's ``OMPI_COMM_WORLD_LOCAL_RANK``), else
    the process group's own count, else ``fallback_rank``."""
    for name in ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"):
        if name in os.environ:
            return int(os.environ[name])
    if group.WORLD is not None:
        return group.WORLD.local_rank
    if fallback_rank is not None:
        return int(fallback_rank)
    raise RuntimeError(
        "LOCAL_RANK is not in the environment. Consider passing fallback_rank to allow "
        "`get_node_local_rank` to work, assuming you are not running in a multi-device "
        "context and want the code to run locally instead."
    )
