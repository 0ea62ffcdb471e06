"""One event file: its name, its first event (the file version), and a queue of encoded events
that is written out when it holds ``max_queue`` of them, every ``flush_secs`` seconds (from a
daemon thread), on ``flush()``, on ``close()``, and when the interpreter exits."""

from __future__ import annotations

import atexit
import itertools
import os
import socket
import threading
import time
import weakref

from . import messages
from .record_writer import RecordWriter

# Numbers the event files this process creates, so that two opened in the same second differ.
_file_counter = itertools.count()
_file_counter_lock = threading.Lock()


def _next_file_number() -> int:
    with _file_counter_lock:
        return next(_file_counter)


# The writers not yet closed: a program that never calls close() still gets its last events
# written (the daemon flushing thread does not outlive the interpreter).
_open_writers: weakref.WeakSet = weakref.WeakSet()


@atexit.register
def _flush_open_writers() -> None:
    for writer in list(_open_writers):
        writer.flush()


class EventFileWriter:
    """Writes encoded ``Event`` messages to a new file in ``logdir``, named
    ``events.out.tfevents.<seconds>.<host>.<pid>.<n><filename_suffix>``."""

    def __init__(self, logdir, max_queue_size: int = 10, flush_secs: float = 120,
                 filename_suffix: str = "") -> None:
        self._logdir = logdir
        os.makedirs(logdir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}.{_next_file_number()}{filename_suffix}")
        self._file_name = os.path.join(logdir, name)
        self._records = RecordWriter(open(self._file_name, "wb"))
        self._max_queue = max_queue_size
        self._pending: list[bytes] = []
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._flusher = threading.Thread(
            target=self._flush_every, args=(flush_secs,), daemon=True,
            name="gpugrad-tensorboard-flush",
        )
        self.add_event(messages.event(
            time.time(), file_version=messages.FILE_VERSION,
            source_writer="gpugrad.utils.tensorboard",
        ))
        self.flush()
        self._flusher.start()
        _open_writers.add(self)

    def get_logdir(self):
        """The directory this file is in."""
        return self._logdir

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def get_filename(self) -> str:
        """The path of the event file."""
        return self._file_name

    def add_event(self, event: bytes) -> None:
        """Queue one encoded ``Event``; a full queue is written out at once."""
        with self._lock:
            if self._closed:
                raise ValueError(f"the event file {self._file_name} is closed")
            self._pending.append(event)
            if len(self._pending) >= self._max_queue:
                self._write_pending()

    def flush(self) -> None:
        """Write the queued events and flush the file to the operating system."""
        with self._lock:
            if not self._closed:
                self._write_pending()

    def close(self) -> None:
        """Flush, stop the flushing thread and close the file (a second close does nothing)."""
        with self._lock:
            if self._closed:
                return
            self._write_pending()
            self._closed = True
            self._records.close()
        _open_writers.discard(self)
        self._stop.set()
        if self._flusher.is_alive() and self._flusher is not threading.current_thread():
            self._flusher.join()

    def _write_pending(self) -> None:
        # Called with the lock held.
        for event in self._pending:
            self._records.write(event)
        self._pending.clear()
        self._records.flush()

    def _flush_every(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            self.flush()
