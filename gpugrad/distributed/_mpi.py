"""The MPI backend: collectives on NumPy arrays through mpi4py, in place where MPI allows.

Every call takes and returns raw arrays (``gpugrad.distributed.collectives`` checks the tensors
first). A contiguous NumPy array of a dtype MPI reduces natively goes to MPI as it is, with
``MPI_IN_PLACE`` for ``all_reduce``: the cost over a bare mpi4py call is a few Python lines.
Anything else is staged: a contiguous host copy (non-contiguous views, CuPy arrays when MPI is
not CUDA-aware, float16/bfloat16 reductions, which run in float32), written back once the
operation completes. Operations that only move bytes send every dtype as bytes.
"""

from __future__ import annotations

from time import monotonic

import numpy as np

from ._types import ReduceOp, Work

_SUM = ReduceOp.SUM

# Dtypes MPI reduces as they are; 2-byte floats (float16, bfloat16) reduce in float32.
_NATIVE_REDUCTION = frozenset(np.dtype(t) for t in (
    np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_))

_SUMMED_AS_IS = _NATIVE_REDUCTION - {np.dtype(np.bool_)}  # a sum of bools is a logical or


def _reduction_dtype(dtype):
    """The dtype a reduction of ``dtype`` runs in: None for itself."""
    if dtype in _NATIVE_REDUCTION or dtype.itemsize != 2 or dtype.kind not in "fV":
        return None
    return np.float32


class MpiBackend:
    """Collectives over the MPI communicator ``comm`` (a duplicate of ``COMM_WORLD``)."""

    name = "mpi"

    def __init__(self, mpi, comm, watchdog):
        self.mpi, self.comm, self._watchdog = mpi, comm, watchdog
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self._ops = {ReduceOp.SUM: mpi.SUM, ReduceOp.AVG: mpi.SUM, ReduceOp.PRODUCT: mpi.PROD,
                     ReduceOp.MIN: mpi.MIN, ReduceOp.MAX: mpi.MAX, ReduceOp.BAND: mpi.BAND,
                     ReduceOp.BOR: mpi.BOR, ReduceOp.BXOR: mpi.BXOR}
        self._bool_ops = {ReduceOp.SUM: mpi.LOR, ReduceOp.MAX: mpi.LOR, ReduceOp.BOR: mpi.LOR,
                          ReduceOp.PRODUCT: mpi.LAND, ReduceOp.MIN: mpi.LAND,
                          ReduceOp.BAND: mpi.LAND, ReduceOp.BXOR: mpi.LXOR}

    # ------------------------------------------------------------------ running a call
    def _blocking(self, name: str, call, *args, timeout_s=None, **kwargs):
        """A blocking MPI call, with the watchdog told what this rank waits in."""
        watchdog = self._watchdog
        if watchdog is None:
            return call(*args, **kwargs)
        watchdog.begin(name, timeout_s)
        try:
            return call(*args, **kwargs)
        finally:
            watchdog.end()

    def _run(self, name: str, async_op: bool, start, blocking, finish=None):
        """Run ``blocking()`` now, or ``start()`` a request and return its ``Work``; then
        ``finish()`` (the write-back of staged arrays)."""
        if not async_op:
            self._blocking(name, blocking)
            if finish is not None:
                finish()
            return None
        request = start()

        def wait():
            self._blocking(name, request.Wait)
            if finish is not None:
                finish()

        return Work(wait, request.Test)

    def _reduce_op(self, op, dtype):
        return self._bool_ops[op] if dtype.kind == "b" else self._ops[op]

    def _finisher(self, op, host, target, back):
        """Averages (``AVG`` is a sum here), then copies a staged result back."""
        if op is not ReduceOp.AVG and back is None:
            return None

        def finish():
            if op is ReduceOp.AVG:
                np.divide(host, self.size, out=host)
            if back is not None:
                back(target, host)
        return finish

    # ------------------------------------------------------------------ collectives
    def all_reduce(self, arr, op, async_op: bool):
        comm, mpi = self.comm, self.mpi
        if arr.__class__ is np.ndarray and arr.dtype in _NATIVE_REDUCTION \
                and arr.flags.c_contiguous:
            if op is _SUM and not async_op and arr.dtype in _SUMMED_AS_IS:
                # The most common call, as direct as it gets: at 1 KB MPI itself takes 2-5 us.
                watchdog = self._watchdog
                if watchdog is None:
                    return comm.Allreduce(mpi.IN_PLACE, arr, mpi.SUM)
                watchdog.since, watchdog.limit, watchdog.op = monotonic(), \
                    watchdog.timeout_s, "all_reduce"
                try:
                    return comm.Allreduce(mpi.IN_PLACE, arr, mpi.SUM)
                finally:
                    watchdog.op = None
            host, back = arr, None
        else:
            host, back = _stage_in(arr, _reduction_dtype(arr.dtype))
        mpi_op = self._reduce_op(op, host.dtype)
        return self._run("all_reduce", async_op,
                         lambda: comm.Iallreduce(mpi.IN_PLACE, host, mpi_op),
                         lambda: comm.Allreduce(mpi.IN_PLACE, host, mpi_op),
                         self._finisher(op, host, arr, back))

    def reduce_scatter(self, out, inp, op, async_op: bool):
        comm = self.comm
        staged = _reduction_dtype(inp.dtype)
        send, _ = _stage_in(inp, staged)
        recv, back = _stage_out(out, staged)
        mpi_op = self._reduce_op(op, send.dtype)
        return self._run("reduce_scatter_tensor", async_op,
                         lambda: comm.Ireduce_scatter_block(send, recv, mpi_op),
                         lambda: comm.Reduce_scatter_block(send, recv, mpi_op),
                         self._finisher(op, recv, out, back))

    def broadcast(self, arr, src: int, async_op: bool):
        host, back = (_stage_in(arr)[0], None) if self.rank == src else _stage_out(arr)
        buf = _as_bytes(host)
        finish = None if back is None else (lambda: back(arr, host))
        return self._run("broadcast", async_op, lambda: self.comm.Ibcast(buf, root=src),
                         lambda: self.comm.Bcast(buf, root=src), finish)

    def all_gather(self, out, inp, async_op: bool):
        """Gather ``inp`` of every rank into ``out`` (contiguous, ``size * inp.size`` items)."""
        send, _ = _stage_in(inp)
        recv, back = _stage_out(out)
        sbuf, rbuf = _as_bytes(send), _as_bytes(recv)
        finish = None if back is None else (lambda: back(out, recv))
        return self._run("all_gather", async_op, lambda: self.comm.Iallgather(sbuf, rbuf),
                         lambda: self.comm.Allgather(sbuf, rbuf), finish)

    def barrier(self, async_op: bool, timeout_s: float | None = None):
        if async_op:
            return self._run("barrier", True, self.comm.Ibarrier, None)
        self._blocking("barrier", self.comm.Barrier, timeout_s=timeout_s)
        return None

    def send(self, arr, dst: int, tag: int, async_op: bool):
        buf = _as_bytes(_stage_in(arr)[0])
        return self._run("send", async_op, lambda: self.comm.Isend(buf, dst, tag),
                         lambda: self.comm.Send(buf, dst, tag))

    def recv(self, arr, src, tag: int, async_op: bool):
        """Receive into ``arr`` from ``src`` (None: any rank): the sender's rank, or a Work."""
        host, back = _stage_out(arr)
        buf, status = _as_bytes(host), self.mpi.Status()
        source = self.mpi.ANY_SOURCE if src is None else src
        if not async_op:
            self._blocking("recv", self.comm.Recv, buf, source, tag, status)
            if back is not None:
                back(arr, host)
            return status.Get_source()
        request = self.comm.Irecv(buf, source, tag)

        def wait():
            self._blocking("recv", request.Wait, status)
            if back is not None:
                back(arr, host)

        return Work(wait, lambda: request.Test(status), source=status.Get_source)

    # ------------------------------------------------------------------ objects
    def all_gather_object(self, obj) -> list:
        return self._blocking("all_gather_object", self.comm.allgather, obj)

    def broadcast_object(self, obj, src: int):
        return self._blocking("broadcast_object_list", self.comm.bcast, obj, root=src)


def _stage_in(arr, dtype=None):
    """A contiguous host array with ``arr``'s values (cast to ``dtype``), and the write-back
    (None when ``arr`` is used as it is)."""
    if arr.__class__ is np.ndarray and arr.flags.c_contiguous and dtype in (None, arr.dtype):
        return arr, None
    host = arr.get() if not isinstance(arr, np.ndarray) else arr
    host = np.ascontiguousarray(host, dtype=dtype)
    return host, _write_back


def _stage_out(arr, dtype=None):
    """A contiguous host array for a result that lands in ``arr``, and the write-back."""
    if arr.__class__ is np.ndarray and arr.flags.c_contiguous and dtype in (None, arr.dtype):
        return arr, None
    return np.empty(arr.shape, dtype or arr.dtype), _write_back


def _write_back(target, host) -> None:
    if isinstance(target, np.ndarray):
        target[...] = host
        return
    import cupy

    target[...] = cupy.asarray(host).astype(target.dtype, copy=False)


def _as_bytes(arr):
    """A contiguous array as a flat byte buffer, for operations that only move data."""
    return arr.reshape(-1).view(np.uint8)
