"""Sparse gradients as the array engine carries them (``nn.Embedding(sparse=True)``).

A node whose input is a leaf may send that leaf a ``SparseGrad`` instead of a dense array: the
gradient's coordinates and values, in the layout of a sparse COO tensor. The engine passes it on
like an array (it has a ``shape`` and a ``dtype``), sums it with the leaf's other gradients
(``add``: two sparse ones are listed together, a sparse and a dense one make a dense one) and
hands it to user code and to ``.grad`` as a ``SparseCooTensor``. Only leaves receive one; a
node's gradient is always dense.
"""

from __future__ import annotations

__all__ = ["SparseGrad", "add"]


class SparseGrad:
    """``indices`` (``(sparse_dim, nnz)`` int64 array) and ``values`` (``(nnz, *dense)``,
    fresh: nothing else holds them) of a gradient of ``shape``."""

    __slots__ = ("indices", "values", "shape", "dtype")

    def __init__(self, indices, values, shape: tuple):
        self.indices, self.values, self.shape = indices, values, tuple(shape)
        self.dtype = values.dtype

    def tensor(self, backend):
        """The gradient as a (not coalesced) ``SparseCooTensor`` on ``backend``."""
        from ..sparse._coo import SparseCooTensor
        from ..tensor import Tensor

        return SparseCooTensor._wrap(Tensor._make(self.indices, backend),
                                     Tensor._make(self.values, backend), self.shape, False)


def add(backend, a, b):
    """``a + b`` for two gradients of one leaf, either of them a ``SparseGrad``."""
    if a.__class__ is SparseGrad and b.__class__ is SparseGrad:
        xp = backend.xp
        return SparseGrad(xp.concatenate([a.indices, b.indices], axis=1),
                          xp.concatenate([a.values, b.values]), a.shape)
    sparse, dense = (a, b) if a.__class__ is SparseGrad else (b, a)
    out = dense.copy()
    backend.add_at(out, tuple(sparse.indices), sparse.values)
    return out
