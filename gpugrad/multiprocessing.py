"""``gpugrad.multiprocessing``: Python's ``multiprocessing``, as ``torch.multiprocessing``
re-exports it, with PyTorch's ``spawn`` / ``start_processes`` (run ``fn(i, *args)`` in
``nprocs`` processes; an error in one stops the others and is raised in the parent).

A CPU tensor moved to shared memory (``Tensor.share_memory_``, ``Module.share_memory``) crosses
a process boundary by its memory: a forked child inherits it, and a spawned child or a queue's
receiver gets the shared file (``_shared_memory.py``); what the receiver writes, the sender
reads. Any other tensor crosses as a pickled copy (PyTorch moves it to shared memory first).
The sharing strategies are PyTorch's names, kept to be read back: gpugrad sends the file's
descriptor whichever is set.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import signal
import sys
import traceback
import warnings
from multiprocessing import *  # noqa: F403  (Process, Queue, get_context, set_start_method...)

__all__ = [*multiprocessing.__all__, "spawn", "start_processes", "ProcessContext",
           "ProcessException", "ProcessRaisedException", "ProcessExitedException",
           "get_sharing_strategy", "set_sharing_strategy", "get_all_sharing_strategies"]

_SHARING_STRATEGIES = {"file_descriptor", "file_system"}
_sharing = ["file_descriptor"]


def get_all_sharing_strategies() -> set:
    return set(_SHARING_STRATEGIES)


def get_sharing_strategy() -> str:
    return _sharing[0]


def set_sharing_strategy(new_strategy: str) -> None:
    """PyTorch's names; gpugrad sends a shared tensor's file descriptor whatever the
    strategy."""
    if new_strategy not in _SHARING_STRATEGIES:  # (PyTorch asserts)
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}, expected one of "
                             f"{_SHARING_STRATEGIES}")
    _sharing[0] = new_strategy


class ProcessException(Exception):
    def __init__(self, msg: str, error_index: int, pid: int):
        super().__init__(msg)
        self.msg, self.error_index, self.pid = msg, error_index, pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A spawned process raised: the message holds its traceback."""

    def __init__(self, msg: str, error_index: int, error_pid: int):
        super().__init__(msg, error_index, error_pid)


class ProcessExitedException(ProcessException):
    """A spawned process exited with a non-zero code, or was killed by a signal."""

    def __init__(self, msg: str, error_index: int, error_pid: int, exit_code: int,
                 signal_name: str | None = None):
        super().__init__(msg, error_index, error_pid)
        self.exit_code, self.signal_name = exit_code, signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code,
                            self.signal_name)


def _run(fn, index: int, args: tuple, errors) -> None:
    """A spawned process: ``fn(index, *args)``, its traceback sent home if it raises."""
    try:
        fn(index, *args)
    except KeyboardInterrupt:
        pass  # the parent stopped the processes
    except Exception:
        errors.put(traceback.format_exc())
        sys.exit(1)


class ProcessContext:
    """The processes ``start_processes`` started; ``join`` waits for them."""

    def __init__(self, processes: list, error_queues: list):
        self.processes = processes
        self.error_queues = error_queues
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self) -> list:
        return [p.pid for p in self.processes]

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds for a process to end; True once all have ended
        successfully. The first failure terminates the others (after ``grace_period``
        seconds, if given) and raises ``ProcessRaisedException`` or
        ``ProcessExitedException``."""
        if not self.sentinels:
            return True
        ready = multiprocessing.connection.wait(list(self.sentinels), timeout=timeout)
        failed = None
        for sentinel in ready:
            index = self.sentinels.pop(sentinel)
            process = self.processes[index]
            process.join()
            if process.exitcode != 0 and failed is None:
                failed = index
        if failed is None:
            return not self.sentinels
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join(grace_period)
        self.sentinels.clear()
        process = self.processes[failed]
        queue = self.error_queues[failed]
        if not queue.empty():
            raise ProcessRaisedException(
                f"\n\n-- Process {failed} terminated with the following error:\n"
                f"{queue.get()}", failed, process.pid)
        code = process.exitcode
        if code < 0:
            name = signal.Signals(-code).name
            raise ProcessExitedException(f"process {failed} terminated with signal {name}",
                                         failed, process.pid, code, name)
        raise ProcessExitedException(f"process {failed} terminated with exit code {code}",
                                     failed, process.pid, code)


def start_processes(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False,
                    start_method: str = "spawn"):
    """Run ``fn(i, *args)`` for ``i`` in ``range(nprocs)``, each in a process started with
    ``start_method``; with ``join``, wait for all (raising the first failure), else return the
    ``ProcessContext``."""
    context = multiprocessing.get_context(start_method)
    processes, error_queues = [], []
    for i in range(nprocs):
        errors = context.SimpleQueue()
        process = context.Process(target=_run, args=(fn, i, tuple(args), errors), daemon=daemon)
        process.start()
        processes.append(process)
        error_queues.append(errors)
    processes_context = ProcessContext(processes, error_queues)
    if not join:
        return processes_context
    while not processes_context.join():
        pass
    return None


def spawn(fn, args=(), nprocs: int = 1, join: bool = True, daemon: bool = False,
          start_method: str = "spawn"):
    """``start_processes``, meant for the ``spawn`` start method (PyTorch's ``mp.spawn``; another
    one runs, with PyTorch's FutureWarning)."""
    if start_method != "spawn":
        warnings.warn(f"This method only supports start_method=spawn (got: {start_method}).\n"
                      "To use a different start_method use:\n\t\t "
                      "torch.multiprocessing.start_processes(...)", FutureWarning, stacklevel=2)
    return start_processes(fn, args, nprocs, join, daemon, start_method)
