"""Keep glibc from handing medium-sized NumPy buffers back to the OS after every step.

glibc serves allocations above its mmap threshold (128 KB at start) with fresh mmap'd pages and
unmaps them on free, so a training step that allocates and frees the same few-MB temporaries
every iteration pays a page fault per 4 KB, every time. glibc raises the threshold (up to
32 MB) and its trim threshold to twice that when it frees an mmap'd block; freeing one 30 MB
block at import does that once, as a long-running program would reach sooner or later. Cost:
up to ~60 MB of freed memory may stay with the process instead of returning to the OS.
Measured on a 2-core CPU: a small CNN step 18.6 -> 5.3 ms (bench/RESULTS.md). Nothing happens
outside glibc, or with ``GPUGRAD_MALLOC_WARMUP=0``.
"""

from __future__ import annotations

import os
import platform

import numpy as np

_WARMUP_BYTES = 30 * 2**20  # under glibc's 32 MB ceiling for the dynamic threshold


def warm_up() -> bool:
    """Raise glibc's mmap and trim thresholds once; True if it was done."""
    if os.environ.get("GPUGRAD_MALLOC_WARMUP", "1") == "0":
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    block = np.empty(_WARMUP_BYTES, np.uint8)  # mmap'd, never touched: costs no memory
    del block
    return True
