"""``gpugrad.nn.parallel``: ``DistributedDataParallel``, and ``DataParallel`` /
``data_parallel`` on zero or one GPU."""

from __future__ import annotations

from .data_parallel import DataParallel, data_parallel
from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel", "DataParallel", "data_parallel"]
