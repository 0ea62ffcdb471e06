"""``scaled_dot_product_attention``: softmax(q k^T * scale + mask) v, written with
differentiable Tensor ops (matmul, softmax, masked_fill), as PyTorch's reference
implementation; gradients and double backward come from those ops."""

from __future__ import annotations

import math

from ... import factories
from ...ops._util import Tensor, check_tensor
from ...ops.repeat import repeat_interleave
from ...ops.select import tril
from .dropout import dropout

__all__ = ["scaled_dot_product_attention"]


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask=None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale=None,
                                 enable_gqa: bool = False) -> Tensor:
    """Attention of ``query`` (..., L, E) over ``key`` (..., S, E) and ``value`` (..., S, Ev).

    ``attn_mask`` (broadcastable to (..., L, S)) is boolean (True: may attend) or a float bias
    added to the scores; ``is_causal`` masks the upper triangle; ``scale`` defaults to
    1/sqrt(E); dropout with probability ``dropout_p`` is applied to the attention weights.
    ``enable_gqa``: key and value may have fewer heads (dim -3) than the query, each serving
    a group of query heads.
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        check_tensor(t, "scaled_dot_product_attention", name)
        if t.dim() < 2:
            raise RuntimeError(f"scaled_dot_product_attention: {name} must be at least 2-D")
    if enable_gqa:  # key and value heads shared by groups of query heads
        heads = query.size(-3)
        key, value = (_repeat_heads(t, heads) for t in (key, value))
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"scaled_dot_product_attention: query's last dim {query.shape[-1]} "
                           f"does not match key's {key.shape[-1]}")
    length, source = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = query.matmul(key.transpose(-2, -1)) * scale
    if is_causal:
        allowed = tril(factories.ones((length, source), dtype="bool", device=query.device))
        scores = scores.masked_fill(allowed.logical_not(), -math.inf)
    elif attn_mask is not None:
        check_tensor(attn_mask, "scaled_dot_product_attention", "attn_mask")
        if attn_mask.dtype.is_floating_point:
            scores = scores + attn_mask
        else:
            scores = scores.masked_fill(attn_mask.logical_not(), -math.inf)
    weights = scores.softmax(-1) if attn_mask is None else masked_softmax(scores)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights.matmul(value)


def masked_softmax(scores: Tensor) -> Tensor:
    """``scores.softmax(-1)``, but 0 for a row whose scores are all -inf (a query that may
    attend to nothing, such as a padded sequence with no tokens): PyTorch's attention gives
    zeros there, with zero gradients, where a plain softmax gives NaN."""
    nothing = (scores == -math.inf).all(-1, keepdim=True)
    return scores.masked_fill(nothing, 0.0).softmax(-1).masked_fill(nothing, 0.0)


def _repeat_heads(t: Tensor, heads: int) -> Tensor:
    """``t`` (..., H_kv, S, E) with each head repeated for its group of ``heads`` query heads."""
    kv_heads = t.size(-3)
    if heads % kv_heads:
        raise RuntimeError("Number of heads in key and value must divide the number of heads in "
                           f"query, got {kv_heads} and {heads}")
    return t if kv_heads == heads else repeat_interleave(t, heads // kv_heads, dim=-3)
