"""Distances between vectors, as composites of Tensor ops: ``cosine_similarity``,
``pairwise_distance``, ``pdist``."""

from __future__ import annotations

import numpy as np

from ... import _dtype as dt
from ...autograd.grad_mode import no_grad
from ...ops._broadcast import raise_broadcast_error
from ...ops._util import Tensor, check_tensor, result_dtype, wrap_dim

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def broadcast_pair(a: Tensor, b: Tensor) -> tuple:
    """``a`` and ``b`` expanded to their common shape (PyTorch's error if there is none)."""
    try:
        shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    except ValueError as e:
        raise_broadcast_error(a, b, e)
    return a.expand(shape), b.expand(shape)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``x1 . x2 / (max(|x1|, eps) * max(|x2|, eps))`` along ``dim`` (after broadcasting).

    Each input is divided by its own norm before the dot product, which keeps the result in
    [-1, 1]; the norms are clamped to ``eps`` outside the graph, so the gradient is that of
    the unclamped formula, as PyTorch's."""
    check_tensor(x1, "cosine_similarity", "x1")
    check_tensor(x2, "cosine_similarity", "x2")
    common = result_dtype(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError("expected common dtype to be floating point, yet common dtype is "
                           f"{dt.SCALAR_TYPE_NAMES[common.name]}")
    x1, x2 = (x if x.is_floating_point() else x.to(common) for x in (x1, x2))
    x1, x2 = broadcast_pair(x1, x2)
    dim = wrap_dim(dim, x1.dim())
    units = []
    for x in (x1, x2):
        norm = x.norm(2, dim, keepdim=True).clone()
        with no_grad():
            norm.clamp_(min=eps)
        units.append(x / norm)
    return (units[0] * units[1]).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """The ``p``-norm of ``x1 - x2 + eps`` over the last dim (after broadcasting)."""
    check_tensor(x1, "pairwise_distance", "x1")
    check_tensor(x2, "pairwise_distance", "x2")
    last = max(x1.dim(), x2.dim()) - 1
    return (x1 - x2 + eps).norm(p, last, keepdim=keepdim)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    """The ``p``-norm distance between every pair of rows ``i < j`` of ``input`` (N, M), in
    row-major order of the pairs: N * (N - 1) / 2 values."""
    check_tensor(input, "pdist")
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    rows, cols = np.triu_indices(n, k=1)
    backend = input._backend
    first = input._new(backend.asarray(rows.astype(np.int64)))
    second = input._new(backend.asarray(cols.astype(np.int64)))
    return (input.index_select(0, first) - input.index_select(0, second)).norm(p, 1)
