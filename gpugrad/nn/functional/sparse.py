"""``embedding_bag``: sums, means or maxima of bags of embeddings, without building the
per-index embeddings of the whole batch as one (N, L, D) tensor.

A composite of gpugrad's ops: the looked-up rows (``Embedding``, so ``scale_grad_by_freq``
and the padding row behave as in ``embedding``) are summed into their bags with
``index_add``; ``max`` gathers each bag's rows into a padded (bags, longest bag, D) block and
takes ``max`` over it, so the gradient goes to the row that gave each maximum, as PyTorch's.
The bag boundaries are read on the host (as PyTorch's CPU kernel checks them).
"""

from __future__ import annotations

import numpy as np

from ...ops._util import Tensor, check_range, check_tensor, math_ns
from ...ops.layers import Embedding, EmbeddingSparse
from .layers import _renorm_rows, check_indices

__all__ = ["embedding_bag"]

_MODES = ("sum", "mean", "max")


def _bag_edges(offsets, n: int, include_last_offset: bool) -> np.ndarray:
    """The bag boundaries ``[start_0, ..., end]`` from ``offsets``, checked as PyTorch does."""
    edges = np.asarray(offsets, dtype=np.int64)
    if edges.size and edges[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {edges[0]}")
    if edges.size and edges[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                           f"offsets[-1] of {edges[-1]}")
    if np.any(np.diff(edges) < 0):
        raise RuntimeError("embedding_bag: offsets must be non-decreasing, but got "
                           f"{edges.tolist()}")
    # With include_last_offset the last offset closes the last bag; PyTorch's kernels end that
    # bag at the input's end whatever the offset says (they agree when it is ``n``, as its
    # documentation asks).
    return np.append(edges[:-1] if include_last_offset else edges, n)


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Reduce bags of rows of ``weight`` (num_embeddings, D) to one (D,) vector each.

    ``input`` is 1-D indices with ``offsets`` (the start of each bag; with
    ``include_last_offset`` the last entry is the end of the last bag), or 2-D (B, L): B bags
    of L indices. ``mode`` is ``"sum"``, ``"mean"`` or ``"max"``; ``per_sample_weights`` (the
    shape of ``input``, ``"sum"`` only) scales each row first. Indices equal to
    ``padding_idx`` are left out of their bag (a bag left empty gives zeros); ``max_norm``
    renormalizes the looked-up rows of ``weight`` in place first. Returns (B, D).
    """
    check_tensor(input, "embedding_bag")
    check_tensor(weight, "embedding_bag", "weight")
    if per_sample_weights is not None and tuple(input.shape) != tuple(per_sample_weights.shape):
        raise ValueError(
            f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is not None, "
            f"then it must have the same shape as the input ({input.shape})")
    if weight.dim() != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.dim()}")
    backend, xp = input._backend, input._backend.xp
    if input.dim() == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}")
        batch, length = input.shape
        edges = np.arange(0, batch * length + 1, max(length, 1)) if length else \
            np.zeros(batch + 1, np.int64)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
        input = input.reshape(-1)
    elif input.dim() == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.dim() != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        edges = _bag_edges(backend.to_numpy(offsets._data), input.shape[0], include_last_offset)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.dim()}")
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub.")
    idx = input._data
    check_indices(input, "embedding_bag")
    num = weight.shape[0]
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise RuntimeError(f"padding_idx must be within the number of embeddings, -{num} "
                               f"through {num - 1}, but got {padding_idx}")
        padding_idx %= num
    check_range(idx, 0, num, lambda v: RuntimeError(  # a host check, as PyTorch's CPU kernel
        f"Index {int(input._backend.xp.flatnonzero(idx.reshape(-1) == v)[0])} of input takes "
        f"value {v} which is not in the valid range [0, {num})"))
    if max_norm is not None and idx.size:
        _renorm_rows(weight, idx, max_norm, norm_type)
    return _reduce_bags(input, weight, edges, mode, per_sample_weights, padding_idx,
                        scale_grad_by_freq, sparse, xp)


def _reduce_bags(input, weight, edges, mode, per_sample_weights, padding_idx,
                 scale_grad_by_freq, sparse, xp) -> Tensor:
    m = math_ns()
    bags, dim = len(edges) - 1, weight.shape[1]
    start, end = int(edges[0]), int(edges[-1])
    bag_of = xp.asarray(np.repeat(np.arange(bags), np.diff(edges)))  # each position's bag
    positions = xp.arange(start, end)
    if padding_idx is not None:
        keep = input._data[start:end] != padding_idx
        bag_of, positions = bag_of[keep], positions[keep]
    counts = xp.bincount(bag_of, minlength=bags)[:bags]
    position_t = input._new(positions.astype(np.int64))
    # (sparse: the weight's gradient lists each kept position, as PyTorch's)
    rows = (EmbeddingSparse if sparse else Embedding).apply(
        weight, input.index_select(0, position_t), None, scale_grad_by_freq)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.index_select(0, position_t).unsqueeze(1)
    zeros = m.zeros(bags, dim, dtype=weight.dtype, device=weight.device)
    if mode != "max":
        out = zeros.index_add(0, input._new(bag_of.astype(np.int64)), rows)
        if mode == "mean":
            out = out / input._new(xp.maximum(counts, 1).astype(weight._data.dtype)[:, None])
        return out
    # max: each kept row to slot (bag, rank in bag) of a (bags, longest, D) block whose unused
    # slots read a row of -inf; empty bags give 0.
    longest = max(int(counts.max()) if bags else 0, 1)
    first = xp.cumsum(counts) - counts
    rank = xp.arange(bag_of.size) - first[bag_of]
    source = xp.full(bags * longest, bag_of.size, dtype=np.int64)
    source[bag_of * longest + rank] = xp.arange(bag_of.size)
    padded = m.cat([rows, m.full((1, dim), float("-inf"), dtype=weight.dtype,
                                 device=weight.device)])
    block = padded.index_select(0, input._new(source)).reshape(bags, longest, dim)
    filled = input._new((counts > 0)[:, None])
    return m.where(filled, block.max(dim=1).values, zeros)
