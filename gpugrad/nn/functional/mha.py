"""``multi_head_attention_forward``, as PyTorch's (what ``nn.MultiheadAttention`` runs): input
projections, heads, masks, the extra keys (``bias_k``/``bias_v``, ``add_zero_attn``,
``static_k``/``static_v``), attention and the output projection; written with differentiable
Tensor ops, so its gradients come from theirs. The layers it runs are looked up per call
(``F.linear``...), so that autocast's wrappers of them apply, as in PyTorch."""

from __future__ import annotations

import math

from ... import factories
from ..._warnings import warn_user
from ...ops.join import cat
from ...ops.select import tril
from ...tensor import Tensor
from .. import functional as F
from .attention import masked_softmax

__all__ = ["multi_head_attention_forward", "canonical_mask"]


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn: bool, dropout_p: float,
        out_proj_weight: Tensor, out_proj_bias, training: bool = True, key_padding_mask=None,
        need_weights: bool = True, attn_mask=None, use_separate_proj_weight: bool = False,
        q_proj_weight=None, k_proj_weight=None, v_proj_weight=None, static_k=None,
        static_v=None, average_attn_weights: bool = True, is_causal: bool = False):
    """Multi-head attention of ``query`` (L, N, E) over ``key`` and ``value`` (S, N, E_k/E_v),
    or unbatched (L, E) and (S, E); returns ``(attn_output, attn_weights)``, the weights
    (N, L, S), or per head (N, num_heads, L, S) without ``average_attn_weights``, or None
    without ``need_weights``.

    The projections are ``in_proj_weight`` (3E, E) packed, or ``q/k/v_proj_weight`` with
    ``use_separate_proj_weight``. Boolean masks are True where attention is NOT allowed, float
    masks are added to the scores: ``key_padding_mask`` (N, S), ``attn_mask`` (L, S) or
    (N*num_heads, L, S). ``bias_k``/``bias_v`` append a key and value to every sequence,
    ``add_zero_attn`` a zero one; ``static_k``/``static_v`` (N*num_heads, S, E/num_heads)
    replace the projected keys/values. ``is_causal`` is a hint that ``attn_mask`` is causal.
    """
    batched = _check_dims(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:  # attend as a batch of one
        query, key, value = (t.unsqueeze(1) for t in (query, key, value))
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    length, batch, embed = query.shape
    source = key.shape[0]
    key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", query.dtype,
                                      attn_mask, "attn_mask")
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    # Without padding or weights to return, PyTorch attends causally and ignores attn_mask.
    causal = is_causal and key_padding_mask is None and not need_weights
    attn_mask = None if causal else canonical_mask(attn_mask, "attn_mask", query.dtype)
    if embed != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed}")
    head_dim = embed // num_heads
    if head_dim * num_heads != embed:
        raise AssertionError(f"embed_dim {embed} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight and key.shape[:2] != value.shape[:2]:
        raise AssertionError(f"key's sequence and batch dims {_size(key.shape[:2])} do not "
                             f"match value's {_size(value.shape[:2])}")
    if not use_separate_proj_weight and key.shape != value.shape:
        raise AssertionError(f"key shape {_size(key.shape)} does not match value shape "
                             f"{_size(value.shape)}")
    q, k, v = _project(query, key, value, in_proj_weight, in_proj_bias, use_separate_proj_weight,
                       (q_proj_weight, k_proj_weight, v_proj_weight))
    _check_attn_mask(attn_mask, length, source, batch * num_heads)
    if bias_k is not None and bias_v is not None:  # one more key and value, learned
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = cat([k, bias_k.expand(1, batch, embed)])
        v = cat([v, bias_v.expand(1, batch, embed)])
        attn_mask, key_padding_mask = _one_more_key(attn_mask), _one_more_key(key_padding_mask)
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    def heads_first(x):  # (S, N, E) -> (N*H, S, head_dim)
        return x.reshape(x.shape[0], batch * num_heads, head_dim).transpose(0, 1)

    q = heads_first(q)
    k = heads_first(k) if static_k is None else _check_static(static_k, "k", batch * num_heads,
                                                               head_dim)
    v = heads_first(v) if static_v is None else _check_static(static_v, "v", batch * num_heads,
                                                               head_dim)
    if add_zero_attn:  # and one more key and value of zeros
        zeros = k.new_zeros(batch * num_heads, 1, head_dim)
        k, v = cat([k, zeros], 1), cat([v, zeros], 1)
        attn_mask, key_padding_mask = _one_more_key(attn_mask), _one_more_key(key_padding_mask)
    source = k.shape[1]
    bias = _score_bias(attn_mask, key_padding_mask, causal, batch, num_heads, length, source,
                       q.dtype, q.device)
    out, weights = _attend(q, k, v, bias, need_weights, dropout_p if training else 0.0)
    out = out.transpose(0, 1).reshape(length * batch, embed)
    out = F.linear(out, out_proj_weight, out_proj_bias)
    out = out.reshape(length, batch, out.shape[-1])
    if not need_weights:
        return (out if batched else out.squeeze(1)), None
    weights = weights.reshape(batch, num_heads, length, source)
    if average_attn_weights:
        weights = weights.mean(dim=1)
    if not batched:
        out, weights = out.squeeze(1), weights.squeeze(0)
    return out, weights


def _attend(q, k, v, bias, need_weights: bool, dropout_p: float):
    """(N*H, L, head_dim) queries over (N*H, S, head_dim) keys and values -> the output and
    the weights. Without ``need_weights``, a query masked from every key attends to nothing
    (PyTorch's ``scaled_dot_product_attention`` path); with them, its weights are NaN (the
    explicit softmax PyTorch computes to return them)."""
    scores = (q * math.sqrt(1.0 / q.shape[-1])).matmul(k.transpose(-2, -1))
    if bias is not None:
        scores = bias + scores
    weights = scores.softmax(-1) if need_weights or bias is None else masked_softmax(scores)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p, training=True)
    return weights.matmul(v), weights


def _project(query, key, value, in_proj_weight, in_proj_bias, separate: bool, proj_weights):
    """The query, key and value projections (packed in ``in_proj_weight``, or separate)."""
    if not separate:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        weights = in_proj_weight.chunk(3)
    else:
        for name, weight in zip("qkv", proj_weights):
            if weight is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight "
                                     "is None")
        weights = proj_weights
    biases = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    if separate:  # PyTorch checks the separate weights' shapes against the inputs
        embed = query.shape[-1]
        for name, x, weight, bias in zip(("query", "key", "value"), (query, key, value),
                                         weights, biases):
            if tuple(weight.shape) != (embed, x.shape[-1]):
                raise AssertionError(f"expecting {name} weights shape of "
                                     f"{(embed, x.shape[-1])}, but got {_size(weight.shape)}")
            if bias is not None and tuple(bias.shape) != (embed,):
                raise AssertionError(f"expecting {name} bias shape of {(embed,)}, but got "
                                     f"{_size(bias.shape)}")
    return tuple(F.linear(x, w, b) for x, w, b in zip((query, key, value), weights, biases))


def _score_bias(attn_mask, key_padding_mask, causal: bool, batch: int, num_heads: int,
                length: int, source: int, dtype, device):
    """The masks as one additive bias (-inf where attention is not allowed), broadcastable
    to (N*H, L, S); None without masks."""
    bias = None if attn_mask is None else attn_mask.to(dtype)
    if causal:  # query i attends to keys 0..i
        allowed = tril(factories.ones((length, source), dtype="bool", device=device))
        bias = canonical_mask(allowed.logical_not(), "attn_mask", dtype)
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != batch:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {batch}, but got "
                                 f"{key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != source:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {source}, but got "
                                 f"{key_padding_mask.shape[1]}")
        padding = key_padding_mask.to(dtype).reshape(batch, 1, 1, source)
        padding = padding.expand(batch, num_heads, 1, source).reshape(batch * num_heads, 1,
                                                                      source)
        bias = padding if bias is None else bias + padding
    return bias


def _check_dims(query, key, value, key_padding_mask, attn_mask, num_heads: int) -> bool:
    """PyTorch's checks of the inputs' dimensions; whether the inputs are batched."""
    if query.dim() not in (2, 3):
        raise AssertionError("query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.dim()}-D query tensor")
    batched = query.dim() == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.dim() != query.dim() or value.dim() != query.dim():
        raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be "
                             f"{query.dim()}-D but found {key.dim()}-D and {value.dim()}-D "
                             "tensors respectively")
    if key_padding_mask is not None and key_padding_mask.dim() != query.dim() - 1:
        raise AssertionError(f"For {kind} `query`, expected `key_padding_mask` to be `None` or "
                             f"{query.dim() - 1}-D but found {key_padding_mask.dim()}-D tensor "
                             "instead")
    if attn_mask is not None:
        if attn_mask.dim() not in (2, 3):
            raise AssertionError(f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D "
                                 f"or 3-D but found {attn_mask.dim()}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and attn_mask.dim() == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                 f"{_size(attn_mask.shape)}")
    return batched


def _check_attn_mask(attn_mask, length: int, source: int, batch_heads: int) -> None:
    if attn_mask is None:
        return
    expected = (length, source) if attn_mask.dim() == 2 else (batch_heads, length, source)
    if tuple(attn_mask.shape) != expected:
        raise RuntimeError(f"The shape of the {attn_mask.dim()}D attn_mask is "
                           f"{_size(attn_mask.shape)}, but should be {expected}.")


def _check_static(static, name: str, batch_heads: int, head_dim: int) -> Tensor:
    if static.size(0) != batch_heads:
        raise AssertionError(f"expecting static_{name}.size(0) of {batch_heads}, but got "
                             f"{static.size(0)}")
    if static.size(2) != head_dim:
        raise AssertionError(f"expecting static_{name}.size(2) of {head_dim}, but got "
                             f"{static.size(2)}")
    return static


def _one_more_key(mask):
    """A mask with a column for one more key, which every query may attend to."""
    return None if mask is None else F.pad(mask, (0, 1))


def _size(shape) -> str:
    return f"torch.Size({list(shape)})"


def canonical_mask(mask, name: str, dtype, other=None, other_name: str = ""):
    """``mask`` as an additive float mask of ``dtype``: a boolean one (True: not allowed) as
    0 / -inf, a float one as it is. PyTorch's checks: no other dtype, and a warning when
    ``mask`` and ``other`` (the mask it is combined with) differ in dtype."""
    if mask is None:
        return None
    if not mask.dtype.is_floating_point and mask._data.dtype.kind != "b":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and mask.dtype != other.dtype:
        warn_user(f"Support for mismatched {name} and {other_name} is deprecated. Use same "
                  "type for both instead.")
    if mask.dtype.is_floating_point:
        return mask
    return factories.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
        mask, -math.inf)
