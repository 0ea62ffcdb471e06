"""The glibc warm-up at import (``gpugrad/backend/_malloc.py``): afterwards a few-MB NumPy
buffer comes from the heap instead of a fresh mmap; with ``GPUGRAD_MALLOC_WARMUP=0`` it does
not. Checked in fresh processes through glibc's own statistics (``mallinfo2``)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

PROBE = """
import ctypes, numpy as np
import gpugrad

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
before = libc.mallinfo2().hblks
buffer = np.empty(4 * 2**20, np.uint8)
print(libc.mallinfo2().hblks - before)
"""


def _mmapped_blocks_for_a_4mb_buffer(warmup: str) -> int:
    env = dict(os.environ, GPUGRAD_MALLOC_WARMUP=warmup, GPUGRAD_DEVICE="cpu")
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    return int(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="glibc only: elsewhere the warm-up does nothing")
def test_medium_buffers_come_from_the_heap_after_import():
    assert _mmapped_blocks_for_a_4mb_buffer("1") == 0
    assert _mmapped_blocks_for_a_4mb_buffer("0") == 1
