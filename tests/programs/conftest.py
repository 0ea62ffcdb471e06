"""The programs run on one thread: tiny tensors run fastest so for both libraries (and CI has
two cores, where PyTorch's default thread pool spends more time waiting than working)."""

from __future__ import annotations

import contextlib

import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(1)
    except ImportError:
        limits = contextlib.nullcontext()
    with limits:
        yield
    torch.set_num_threads(threads)
