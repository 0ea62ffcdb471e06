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
