"""What keeps a failing job from hanging: every rank stops, each saying why, in bounded time.

- An uncaught exception on one rank prints its traceback, tells the other ranks (a short notice
  on a communicator of its own), and aborts the job (``MPI_Abort``) after a short grace.
- A watchdog thread on every rank looks for such a notice a few times a second; on one it
  prints which rank failed and why, and ends its process. It also ends the job when a
  collective waits longer than the process group's ``timeout``.

Blocking collectives stay plain blocking MPI calls (the fast path): the watchdog only reads two
fields the waiting thread sets, and needs MPI's ``MPI_THREAD_MULTIPLE`` (mpi4py asks for it).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time

NOTICE_BYTES = 512
NOTICE_TAG = 7301
POLL_S = 0.1  # how often the watchdog looks: the delay before a rank reacts to a notice
GRACE_S = 2.0  # how long a failing rank lets the others print before it aborts the job


class Watchdog:
    """The failure handling of one process group (see the module docstring)."""

    def __init__(self, mpi, world, timeout_s: float):
        self._mpi = mpi
        self._world = world
        self.rank, self.size = world.Get_rank(), world.Get_size()
        self.timeout_s = timeout_s
        self.op = None  # the collective this rank waits in, or None: set by the waiting thread
        self.since = 0.0
        self.limit = timeout_s
        self._notice = bytearray(NOTICE_BYTES)
        self._ctl = world.Dup()
        self._recv = self._ctl.Irecv([self._notice, mpi.BYTE], source=mpi.ANY_SOURCE,
                                     tag=NOTICE_TAG)
        self._stopping = threading.Event()
        self._thread = None
        if mpi.Query_thread() == mpi.THREAD_MULTIPLE:
            self._thread = threading.Thread(target=self._watch, name="gpugrad-dist-watchdog",
                                            daemon=True)
            self._thread.start()
        self._previous_hook = sys.excepthook
        sys.excepthook = self._excepthook
        atexit.register(self.stop)  # before mpi4py's MPI_Finalize (atexit runs in reverse)

    # ----------------------------------------------------------------- the waiting thread
    def begin(self, op: str, timeout_s: float | None = None) -> None:
        self.since = time.monotonic()
        self.limit = self.timeout_s if timeout_s is None else timeout_s
        self.op = op

    def end(self) -> None:
        self.op = None

    # ----------------------------------------------------------------- the watchdog thread
    def _watch(self) -> None:
        while not self._stopping.wait(POLL_S):
            status = self._mpi.Status()
            if self._recv.Test(status):
                text = bytes(self._notice).rstrip(b"\0").decode(errors="replace")
                self._say(f"stopping: rank {status.Get_source()} failed: {text}")
                os._exit(1)
            op, since = self.op, self.since
            if op is not None and time.monotonic() - since > self.limit:
                reason = f"{op} did not complete within the timeout ({self.limit:g} s)"
                self._say(f"{reason}; aborting the job")
                self._notify_others(reason)
                time.sleep(GRACE_S)  # the others print and exit on the notice
                self._world.Abort(1)

    # ----------------------------------------------------------------- a failing rank
    def _excepthook(self, exc_type, exc, tb) -> None:
        self._previous_hook(exc_type, exc, tb)
        if self._stopping.is_set():
            return
        self._say("an uncaught exception on this rank: aborting the job")
        self._notify_others(f"{exc_type.__name__}: {exc}")
        time.sleep(GRACE_S)  # the others print and exit on the notice; mpiexec then ends us
        self._world.Abort(1)

    def _notify_others(self, text: str) -> None:
        data = text.encode()[:NOTICE_BYTES - 1]
        buf = bytearray(data.ljust(NOTICE_BYTES, b"\0"))
        requests = [self._ctl.Isend([buf, self._mpi.BYTE], dest=r, tag=NOTICE_TAG)
                    for r in range(self.size) if r != self.rank]
        deadline = time.monotonic() + 1.0
        while not self._mpi.Request.Testall(requests) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _say(self, text: str) -> None:
        sys.stdout.flush()
        print(f"[rank {self.rank}] gpugrad.distributed: {text}", file=sys.stderr, flush=True)

    # ----------------------------------------------------------------- shutting down
    def stop(self) -> None:
        """Stop watching (``destroy_process_group`` and interpreter exit)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        if sys.excepthook == self._excepthook:
            sys.excepthook = self._previous_hook
        self._recv.Cancel()
        self._recv.Wait()
        atexit.unregister(self.stop)
