"""The NCCL backend: collectives on CuPy arrays through CuPy's NCCL bindings (``cupy.cuda.nccl``).

Rank 0 draws the communicator's unique id and MPI broadcasts it. Every collective runs on the
backend's own stream (one stream per communicator keeps NCCL's operations in the same order on
every GPU), once the work queued so far on the current stream is done. With ``async_op=False``
the current stream then waits for it (the host does not, as with PyTorch's NCCL backend); with
``async_op=True``, ``Work.wait()`` makes the then-current stream wait, so the computation
queued in between overlaps the communication. Operations that only move data (broadcast,
all_gather, send, recv) move bytes, so every dtype goes.

Imported only when a process group uses NCCL: gpugrad imports without CuPy.
"""

from __future__ import annotations

import numpy as np

from ._types import ReduceOp, Work


class NcclBackend:
    """Collectives over an NCCL communicator on the current CUDA device."""

    name = "nccl"

    def __init__(self, mpi_comm, rank: int, size: int):
        import cupy
        from cupy.cuda import nccl

        self.cupy, self.nccl, self.rank, self.size = cupy, nccl, rank, size
        unique_id = nccl.get_unique_id() if rank == 0 else None
        self.comm = nccl.NcclCommunicator(size, mpi_comm.bcast(unique_id, root=0), rank)
        self.device = cupy.cuda.Device().id
        self.stream = cupy.cuda.Stream(non_blocking=True)
        native_avg = nccl.get_version() >= 21000  # ncclAvg: NCCL 2.10
        self._ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.PRODUCT: nccl.NCCL_PROD,
                     ReduceOp.MIN: nccl.NCCL_MIN, ReduceOp.MAX: nccl.NCCL_MAX,
                     ReduceOp.AVG: nccl.NCCL_AVG if native_avg else nccl.NCCL_SUM}
        self._divide_after = not native_avg
        self._dtypes = {np.dtype(name): getattr(nccl, code) for name, code in (
            ("float16", "NCCL_FLOAT16"), ("float32", "NCCL_FLOAT32"), ("float64", "NCCL_FLOAT64"),
            ("int8", "NCCL_INT8"), ("uint8", "NCCL_UINT8"), ("int32", "NCCL_INT32"),
            ("int64", "NCCL_INT64"))}
        self._bfloat16 = getattr(nccl, "NCCL_BFLOAT16", None)

    # ------------------------------------------------------------------ running a call
    def _launch(self, async_op: bool, call, keep, finish=None):
        """Queue ``call(stream_ptr)`` (and then ``finish()``) as the module docstring says."""
        cupy = self.cupy
        current = cupy.cuda.get_current_stream()
        stream = self.stream
        stream.wait_event(current.record())
        with stream:
            call(stream.ptr)
            if finish is not None:
                finish()
        done = stream.record()
        if not async_op:
            current.wait_event(done)  # the host does not wait; the current stream does
            return None

        def wait():
            cupy.cuda.get_current_stream().wait_event(done)
            del keep[:]  # the arrays may go: what runs next on this stream comes after the op

        return Work(wait, lambda: done.done)

    def _reduction(self, op, dtype):
        """(NCCL op, NCCL dtype) of a reduction; bool data travels as uint8."""
        if op not in self._ops:
            raise RuntimeError(f"Cannot use ReduceOp.{op.name} with NCCL")
        if dtype.kind == "b":  # 0/1 bytes: max is a logical or, min a logical and
            use_max = op in (ReduceOp.SUM, ReduceOp.MAX)
            return (self.nccl.NCCL_MAX if use_max else self.nccl.NCCL_MIN), self.nccl.NCCL_UINT8
        code = self._dtypes.get(dtype)
        if code is None and dtype.name == "bfloat16":
            code = self._bfloat16
        if code is None:
            raise RuntimeError(f"NCCL cannot reduce {dtype.name} tensors")
        return self._ops[op], code

    def _finisher(self, op, buf, back):
        divide = op is ReduceOp.AVG and self._divide_after
        if not divide and back is None:
            return None

        def finish():
            if divide:
                self.cupy.divide(buf, self.size, out=buf)
            if back is not None:
                back()
        return finish

    # ------------------------------------------------------------------ collectives
    def all_reduce(self, arr, op, async_op: bool):
        nccl_op, dtype = self._reduction(op, arr.dtype)
        buf, back = self._contiguous(arr)
        data = buf.view(self.cupy.uint8) if arr.dtype.kind == "b" else buf
        ptr = data.data.ptr
        return self._launch(
            async_op, lambda s: self.comm.allReduce(ptr, ptr, data.size, dtype, nccl_op, s),
            [arr, buf], self._finisher(op, buf, back))

    def reduce_scatter(self, out, inp, op, async_op: bool):
        nccl_op, dtype = self._reduction(op, inp.dtype)
        send, _ = self._contiguous(inp)
        recv, back = self._contiguous(out)
        if inp.dtype.kind == "b":
            send, recv_data = send.view(self.cupy.uint8), recv.view(self.cupy.uint8)
        else:
            recv_data = recv
        return self._launch(
            async_op, lambda s: self.comm.reduceScatter(send.data.ptr, recv_data.data.ptr,
                                                        recv_data.size, dtype, nccl_op, s),
            [inp, out, send, recv], self._finisher(op, recv, back))

    def broadcast(self, arr, src: int, async_op: bool):
        buf, back = self._contiguous(arr)
        ptr, uint8 = buf.data.ptr, self.nccl.NCCL_UINT8
        return self._launch(
            async_op, lambda s: self.comm.broadcast(ptr, ptr, buf.nbytes, uint8, src, s),
            [arr, buf], back)

    def all_gather(self, out, inp, async_op: bool):
        send, _ = self._contiguous(inp)
        recv, back = self._contiguous(out)
        uint8 = self.nccl.NCCL_UINT8
        return self._launch(
            async_op, lambda s: self.comm.allGather(send.data.ptr, recv.data.ptr, send.nbytes,
                                                    uint8, s),
            [inp, out, send, recv], back)

    def send(self, arr, dst: int, tag: int, async_op: bool):
        buf, _ = self._contiguous(arr)
        return self._launch(
            async_op, lambda s: self.comm.send(buf.data.ptr, buf.nbytes, self.nccl.NCCL_UINT8,
                                               dst, s),
            [arr, buf])

    def recv(self, arr, src, tag: int, async_op: bool):
        if src is None:
            raise RuntimeError("recv from any source needs the MPI backend: NCCL needs src")
        buf, back = self._contiguous(arr)
        work = self._launch(
            async_op, lambda s: self.comm.recv(buf.data.ptr, buf.nbytes, self.nccl.NCCL_UINT8,
                                               src, s),
            [arr, buf], back)
        if work is None:
            return src
        work._source = src
        return work

    def _contiguous(self, arr):
        """``arr`` as a contiguous buffer on this backend's device, and the write-back."""
        if arr.device.id != self.device:
            raise RuntimeError(
                f"the tensor is on cuda:{arr.device.id}, but this process's NCCL communicator is "
                f"on cuda:{self.device} (call gpugrad.cuda.set_device before "
                "init_process_group)"
            )
        if arr.flags.c_contiguous:
            return arr, None
        buf = self.cupy.ascontiguousarray(arr)

        def back():
            arr[...] = buf
        return buf, back
