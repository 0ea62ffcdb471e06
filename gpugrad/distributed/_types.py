"""``ReduceOp``, ``Backend`` and ``Work``: the small types of ``gpugrad.distributed``."""

from __future__ import annotations

import enum
import time

__all__ = ["ReduceOp", "Backend", "Work"]


class ReduceOp:
    """How ``all_reduce`` and ``reduce_scatter_tensor`` combine the ranks' tensors.

    ``SUM``, ``AVG`` (floating point only), ``PRODUCT``, ``MIN``, ``MAX``, and for integer and
    bool tensors ``BAND``, ``BOR``, ``BXOR`` (MPI only). On bool tensors ``SUM`` and ``MAX`` are a
    logical or, ``PRODUCT`` and ``MIN`` a logical and.
    """

    class RedOpType(enum.Enum):
        SUM = 0
        AVG = 1
        PRODUCT = 2
        MIN = 3
        MAX = 4
        BAND = 5
        BOR = 6
        BXOR = 7

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR


class Backend(str):
    """A backend's name: ``Backend.MPI`` (``"mpi"``) or ``Backend.NCCL`` (``"nccl"``).

    ``"gloo"`` is accepted as another name for MPI, so that CPU scripts written for PyTorch's
    Gloo backend run unchanged.
    """

    MPI = "mpi"
    NCCL = "nccl"
    GLOO = "gloo"
    UNDEFINED = "undefined"

    def __new__(cls, name: str):
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name!r}")
        value = name.lower()
        if value not in (cls.MPI, cls.NCCL, cls.GLOO, cls.UNDEFINED):
            raise ValueError(
                f"Invalid backend: '{name}'. gpugrad.distributed has the backends 'mpi' (CPU "
                "tensors, and CUDA tensors staged through host memory), 'nccl' (CUDA tensors) "
                "and 'gloo' (another name for 'mpi')"
            )
        return str.__new__(cls, value)


class Work:
    """The handle an ``async_op=True`` collective returns: ``wait()`` until it completes.

    For MPI, ``wait()`` blocks the host until the tensors hold the result; for NCCL it makes the
    current CUDA stream wait for the collective (the host does not block), as PyTorch's NCCL
    backend does.
    """

    __slots__ = ("_wait", "_test", "_result", "_done", "_source")

    def __init__(self, wait=None, test=None, result=(), source=None):
        self._wait, self._test, self._result, self._source = wait, test, result, source
        self._done = wait is None

    def wait(self, timeout=None) -> bool:
        """Block until the operation is done (``timeout``: a ``timedelta``; raises
        ``RuntimeError`` if it is not done by then). Returns True."""
        if self._done:
            return True
        if timeout is not None:
            seconds = timeout.total_seconds()
            deadline = time.monotonic() + seconds
            while not self._test():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Work.wait timed out after {seconds:g} s")
                time.sleep(0.0005)
        self._wait()
        self._done = True
        return True

    def is_completed(self) -> bool:
        """Whether the operation has finished (finishing its bookkeeping if it has)."""
        if not self._done and self._test is not None and self._test():
            self.wait()
        return self._done

    def is_success(self) -> bool:
        return self.is_completed()

    def exception(self):
        return None

    def synchronize(self) -> None:
        self.wait()

    def result(self) -> list:
        """The tensors the operation wrote, once it is complete."""
        self.wait()
        return list(self._result)

    def _source_rank(self) -> int:
        """For ``irecv``: the rank the message came from (after ``wait()``)."""
        self.wait()
        return self._source() if callable(self._source) else self._source
