"""Worker processes of a ``DataLoader`` with ``num_workers > 0``.

Each worker holds the dataset, fetches and collates the batches whose indices it is sent, and
puts them on one result queue; the main process hands out ``prefetch_factor`` batches per worker
ahead, round-robin, and returns the results in the sampler's order (``in_order=True``) or as
they arrive. Worker ``i`` seeds gpugrad's and Python's generators with ``base_seed + i``, where
``base_seed`` is drawn once per iterator from the loader's ``generator``. An exception in a
worker is raised again in the main process, with the worker's traceback in its message.
"""

from __future__ import annotations

import itertools
import multiprocessing
import queue
import random
import time
import traceback
from dataclasses import dataclass

__all__ = ["WorkerInfo", "get_worker_info", "MultiProcessIterator"]

_POLL_S = 1.0  # how often a waiting main process checks that its workers are alive
_WORKER_POLL_S = 0.1  # how often an idle worker checks for shutdown and for its parent


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: its ``id``, ``num_workers``, its
    ``seed`` and its copy of the ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The ``WorkerInfo`` of the current DataLoader worker process; None in the main process."""
    return _worker_info


class _Failure:
    """An exception raised in a worker, carried back to be raised again in the main process."""

    def __init__(self, worker_id: int, exc: BaseException):
        self.exc_type = type(exc)
        self.message = (f"Caught {type(exc).__name__} in DataLoader worker process {worker_id}."
                        f"\nOriginal {traceback.format_exc()}")

    def reraise(self):
        try:
            error = self.exc_type(self.message)
        except Exception:  # an exception type that takes other arguments
            error = RuntimeError(self.message)
        raise error


class _Exhausted:
    """A worker's iterable dataset has run out."""


_RESET = "reset"  # start a new epoch (persistent workers)


def _next_task(tasks, done):
    """The next task, or None once the main process has shut the workers down (``done``, set
    directly: a sentinel sent through the queue can be lost when the garbage collector has
    already closed it) or has died."""
    while True:
        try:
            return tasks.get(timeout=_WORKER_POLL_S)
        except queue.Empty:
            if done.is_set() or not multiprocessing.parent_process().is_alive():
                return None


def _worker_loop(loader_state: tuple, worker_id: int, num_workers: int, seed: int, tasks,
                 results, done) -> None:
    global _worker_info
    from ...random import manual_seed
    from .dataloader import Fetcher

    dataset, auto_collation, collate_fn, drop_last, init_fn = loader_state
    results.cancel_join_thread()  # exit without flushing when the main process stops early
    random.seed(seed)
    manual_seed(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    failure = fetch = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
        fetch = Fetcher(dataset, auto_collation, collate_fn, drop_last)
    except Exception as e:
        failure = _Failure(worker_id, e)
    exhausted = False
    while True:
        task = _next_task(tasks, done)
        if task is None:
            return
        if task == _RESET:
            if failure is None:
                fetch = Fetcher(dataset, auto_collation, collate_fn, drop_last)
            exhausted = False
            continue
        idx, index = task
        if failure is not None:
            results.put((idx, failure))
            continue
        if exhausted:
            results.put((idx, _Exhausted()))
            continue
        try:
            data = fetch(index)
        except StopIteration:
            exhausted, data = True, _Exhausted()
        except Exception as e:
            data = _Failure(worker_id, e)
        results.put((idx, data))


def _context(option):
    if option is None:
        return multiprocessing.get_context()
    if isinstance(option, str):
        return multiprocessing.get_context(option)
    return option


def _base_seed(generator) -> int:
    from ..._dtype import int64
    from ...factories import empty

    return int(empty((), dtype=int64, device="cpu").random_(generator=generator).item())


class MultiProcessIterator:
    """Batches of a loader fetched by worker processes."""

    def __init__(self, loader):
        # What the loader decides, copied: the loader holds a persistent iterator, and a
        # reference back would make a cycle that only the garbage collector frees.
        self._index_sampler = loader._index_sampler
        self._prefetch, self._timeout = loader.prefetch_factor, loader.timeout
        self._in_order, self._persistent = loader.in_order, loader.persistent_workers
        n = loader.num_workers
        ctx = _context(loader.multiprocessing_context)
        self._done = ctx.Event()
        self._results = ctx.Queue()
        self._tasks = [ctx.Queue() for _ in range(n)]
        state = (loader.dataset, loader._auto_collation, loader.collate_fn, loader.drop_last,
                 loader.worker_init_fn)
        seed = _base_seed(loader.generator)
        self._workers = []
        for i in range(n):
            w = ctx.Process(target=_worker_loop, daemon=True,
                            args=(state, i, n, seed + i, self._tasks[i], self._results,
                                  self._done))
            w.start()
            self._workers.append(w)
        self._shut = False
        self._start_epoch()

    def _start_epoch(self) -> None:
        self._indices = iter(self._index_sampler)
        self._sent = self._next = 0
        self._pending: dict[int, int] = {}  # task index -> worker
        self._ready: dict[int, object] = {}
        self._active = [True] * len(self._workers)
        self._turn = itertools.cycle(range(len(self._workers)))
        for _ in range(self._prefetch * len(self._workers)):
            self._send_next()

    def reset(self) -> None:
        """A new epoch on the same workers (``persistent_workers``)."""
        while self._pending:  # drop what the previous epoch left in flight
            idx, _ = self._receive()
            self._pending.pop(idx, None)
        for q in self._tasks:
            q.put(_RESET)
        self._start_epoch()

    def _send_next(self) -> None:
        for _ in range(len(self._workers)):
            w = next(self._turn)
            if self._active[w]:
                break
        else:
            return
        try:
            index = next(self._indices)
        except StopIteration:
            return
        self._tasks[w].put((self._sent, index))
        self._pending[self._sent] = w
        self._sent += 1

    def _receive(self):
        timeout = self._timeout
        start = time.monotonic()
        while True:
            wait = _POLL_S if timeout <= 0 else min(_POLL_S, timeout)
            try:
                return self._results.get(timeout=wait)
            except queue.Empty:
                dead = [str(w.pid) for w in self._workers if not w.is_alive()]
                if dead:
                    self._shutdown()
                    raise RuntimeError(
                        f"DataLoader worker (pid(s) {', '.join(dead)}) exited unexpectedly"
                    ) from None
                if 0 < timeout <= time.monotonic() - start:
                    raise RuntimeError(f"DataLoader timed out after {timeout} seconds") from None

    def __iter__(self):
        return self

    def __next__(self):
        while True:
            if self._in_order:
                idx = self._next if self._next in self._ready else None
            else:
                idx = next(iter(self._ready), None)
            if idx is not None:
                data = self._ready.pop(idx)
                self._next += 1
                self._send_next()
                if isinstance(data, _Exhausted):
                    continue
                if isinstance(data, _Failure):
                    data.reraise()
                return data
            if not self._pending:
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            idx, data = self._receive()
            worker = self._pending.pop(idx)
            if isinstance(data, _Exhausted):
                self._active[worker] = False
            self._ready[idx] = data

    def __len__(self) -> int:
        return len(self._index_sampler)

    def _shutdown(self) -> None:
        if self._shut:
            return
        self._shut = True
        self._done.set()
        for q in self._tasks:
            q.put(None)
        for w in self._workers:
            w.join(timeout=5)
            if w.is_alive():
                w.terminate()
        for q in (*self._tasks, self._results):
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        if getattr(self, "_workers", None) is not None:
            self._shutdown()
