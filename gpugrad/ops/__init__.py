"""Differentiable ops, one ``Function`` per op, grouped by topic.

Each topic module lists its public functions in ``__all__`` and the Tensor methods it provides
in ``METHODS`` (name -> function taking the tensor first); ``install_methods`` binds them.
"""

from __future__ import annotations

from . import convert, elementwise, indexing, inplace, linalg, reduction, shape, softmax

TOPICS = [elementwise, reduction, softmax, shape, indexing, inplace, linalg, convert]


def install_methods(cls) -> None:
    for module in TOPICS:
        for name, fn in module.METHODS.items():
            setattr(cls, name, fn)
