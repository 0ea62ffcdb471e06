"""Differentiable ops, one ``Function`` per op, grouped by topic.

Each topic module lists its public functions in ``__all__`` and the Tensor methods it provides
in ``METHODS`` (name -> function taking the tensor first); ``install_methods`` binds them.
"""

from __future__ import annotations

from .. import interop
from . import (
    arithmetic,
    compare,
    convert,
    counting,
    elementwise,
    index_write,
    indexing,
    inplace,
    join,
    linalg,
    order_stats,
    random,
    reduction,
    repeat,
    roll,
    sampling,
    scans,
    scatter,
    scatter_reduce,
    select,
    shape,
    softmax,
    sorting,
    statistics,
)

TOPICS = [elementwise, arithmetic, compare, select, reduction, softmax, shape, join, indexing,
          inplace, linalg, convert, interop, sorting, scatter, random, roll, repeat,
          sampling, order_stats, statistics, scans,
          counting, scatter_reduce, index_write]


def install_methods(cls) -> None:
    for module in TOPICS:
        for name, fn in module.METHODS.items():
            setattr(cls, name, fn)
