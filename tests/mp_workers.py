"""Functions that spawned processes run in tests/test_multiprocessing.py (a module of their
own: a spawned child imports the function by name)."""

from __future__ import annotations

import os
import sys


def write_square(index: int, tensor, out_dir: str) -> None:
    """Save ``(tensor * index) ** 2`` under ``out_dir`` (the tensor arrived pickled)."""
    import gpugrad

    gpugrad.save((tensor * index) ** 2, os.path.join(out_dir, f"{index}.pt"))


def fail_in_one(index: int) -> None:
    if index == 1:
        raise ValueError("worker 1 gives up")


def exit_with_code(index: int, code: int) -> None:
    if index == 0:
        sys.exit(code)


def write_shared(index: int, lib_name: str, counts, param, report) -> None:
    """Add ``index + 1`` to the shared ``counts`` and 1 to the shared ``param`` in place, and
    report in the shared ``report`` what arrived (tests/test_shared_memory.py)."""
    import importlib

    lib = importlib.import_module(lib_name)
    counts.add_(index + 1)
    param.data[index] += 1
    if index == 0:
        report.copy_(lib.tensor([counts.is_shared(), param.is_shared(),
                                 isinstance(param, lib.nn.Parameter), param.requires_grad],
                                dtype=lib.float64))


def echo_doubled(lib_name: str, inbox, outbox) -> None:
    """Take tensors from ``inbox``, double each in place, send it back on ``outbox``."""
    import importlib

    importlib.import_module(lib_name)
    while True:
        t = inbox.get()
        if t is None:
            return
        t.mul_(2)
        outbox.put(t)
