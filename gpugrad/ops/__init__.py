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
    elementwise,
    indexing,
    inplace,
    join,
    linalg,
    math_more,
    random,
    reduction,
    repeat,
    roll,
    sampling,
    scatter,
    select,
    shape,
    softmax,
    sorting,
)

TOPICS = [elementwise, arithmetic, compare, select, reduction, softmax, shape, join, indexing,
          inplace, linalg, convert, interop, sorting, scatter, random, roll, repeat,
          sampling, math_more]


def install_methods(cls) -> None:
    for module in TOPICS:
        for name, fn in module.METHODS.items():
            setattr(cls, name, fn)
