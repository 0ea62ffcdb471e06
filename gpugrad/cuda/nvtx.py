"""``gpugrad.cuda.nvtx``: NVTX ranges and marks, which Nsight Systems shows on its timeline
(through CuPy's bindings). Without CUDA they raise, as PyTorch's CPU build does."""

from __future__ import annotations

import contextlib

__all__ = ["range_push", "range_pop", "range", "mark"]


def _nvtx():
    from . import _cupy

    return _cupy().cuda.nvtx


def range_push(msg: str) -> int:
    """Open a nested range named ``msg``; returns its depth (0 for the outermost)."""
    _nvtx().RangePush(msg)
    _depth.append(msg)
    return len(_depth) - 1


def range_pop() -> int:
    """Close the innermost open range; returns the depth it had (-1 when none was open)."""
    _nvtx().RangePop()
    if not _depth:
        return -1
    _depth.pop()
    return len(_depth)


def mark(msg: str) -> None:
    """An instant event named ``msg``."""
    _nvtx().Mark(msg)


@contextlib.contextmanager
def range(msg: str, *args, **kwargs):  # noqa: A001 - PyTorch's name
    """A range around a ``with`` block (or a function it decorates), named
    ``msg.format(*args, **kwargs)``."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()


_depth: list = []  # the open ranges' names (CuPy's RangePush returns nothing to count with)
