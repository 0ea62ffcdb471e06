"""``MultiheadAttention``, as PyTorch's: packed input projection, heads, masks, output
projection; written with differentiable ops, so its gradients come from theirs."""

from __future__ import annotations

import math

from ... import factories
from ..._warnings import warn_user
from ...ops.join import cat
from ...tensor import Tensor
from .. import functional as F
from .. import init
from ..functional.attention import masked_softmax
from ..parameter import Parameter
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """The output projection's class, named as PyTorch names it (its repr shows the name)."""


class MultiheadAttention(Module):
    """Attention over ``num_heads`` heads of ``embed_dim // num_heads`` features each.

    Inputs are (L, N, E), or (N, L, E) with ``batch_first``, or unbatched (L, E). ``forward``
    returns the attended output and, with ``need_weights``, the attention weights (averaged
    over the heads unless ``average_attn_weights=False``). Masks follow PyTorch: a boolean
    ``attn_mask`` or ``key_padding_mask`` is True where attention is NOT allowed; float masks
    are added to the scores. Keys and values may have other sizes (``kdim``/``vdim``: then
    the projections are three weights, ``q_proj_weight``...); ``add_bias_kv`` appends a learned
    key and value to every sequence, ``add_zero_attn`` a zero one.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim=None, vdim=None,
                 batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise AssertionError("embed_dim must be divisible by num_heads")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim, self.batch_first = embed_dim // num_heads, batch_first
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        kw = {"device": device, "dtype": dtype}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(factories.empty((3 * embed_dim, embed_dim), **kw))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(factories.empty((embed_dim, embed_dim), **kw))
            self.k_proj_weight = Parameter(factories.empty((embed_dim, self.kdim), **kw))
            self.v_proj_weight = Parameter(factories.empty((embed_dim, self.vdim), **kw))
            self.register_parameter("in_proj_weight", None)
        self.register_parameter(
            "in_proj_bias", Parameter(factories.empty(3 * embed_dim, **kw)) if bias else None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(factories.empty((1, 1, embed_dim), **kw))
            self.bias_v = Parameter(factories.empty((1, 1, embed_dim), **kw))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask=None,
                need_weights: bool = True, attn_mask=None, average_attn_weights: bool = True,
                is_causal: bool = False):
        key_padding_mask = canonical_mask(key_padding_mask, "key_padding_mask", query.dtype,
                                          attn_mask, "attn_mask")
        attn_mask = canonical_mask(attn_mask, "attn_mask", query.dtype)
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                               "Transformer module method `generate_square_subsequent_mask` to "
                               "create this mask.")
        batched = query.dim() == 3
        if batched and self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if not batched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        out, weights = self._attend(query, key, value, key_padding_mask, attn_mask,
                                    need_weights)
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            out = out.squeeze(1)
            weights = None if weights is None else weights.squeeze(0)
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, (weights if need_weights else None)

    def _attend(self, query, key, value, key_padding_mask, attn_mask, need_weights):
        """(L, N, E) inputs -> the (L, N, E) output and the (N, H, L, S) weights. Without
        ``need_weights``, a query masked from every key attends to nothing (PyTorch's
        ``scaled_dot_product_attention`` path); with them, its weights are NaN (the explicit
        softmax PyTorch computes to return them)."""
        length, batch, embed = query.shape
        source, heads, head_dim = key.shape[0], self.num_heads, self.head_dim
        if embed != self.embed_dim:
            raise AssertionError(f"was expecting embedding dimension of {self.embed_dim}, but "
                                 f"got {embed}")
        if self._qkv_same_embed_dim:
            weights_qkv = self.in_proj_weight.chunk(3)
        else:
            weights_qkv = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases_qkv = (None,) * 3 if self.in_proj_bias is None else self.in_proj_bias.chunk(3)
        q, k, v = (F.linear(x, w, b) for x, w, b in zip((query, key, value), weights_qkv,
                                                         biases_qkv))
        if self.bias_k is not None:  # one more key and value, learned, for every sequence
            k = cat([k, self.bias_k.expand(1, batch, embed)])
            v = cat([v, self.bias_v.expand(1, batch, embed)])
            attn_mask, key_padding_mask = _one_more_key(attn_mask), _one_more_key(
                key_padding_mask)
            source += 1

        def heads_first(x, n):  # (n, N, E) -> (N*H, n, head_dim)
            return x.reshape(n, batch * heads, head_dim).transpose(0, 1)

        q, k, v = heads_first(q, length), heads_first(k, source), heads_first(v, source)
        if self.add_zero_attn:  # and one more key and value of zeros
            zeros = k.new_zeros(batch * heads, 1, head_dim)
            k, v = cat([k, zeros], 1), cat([v, zeros], 1)
            attn_mask, key_padding_mask = _one_more_key(attn_mask), _one_more_key(
                key_padding_mask)
            source += 1
        scores = (q * math.sqrt(1.0 / head_dim)).matmul(k.transpose(-2, -1))
        bias = self._score_bias(attn_mask, key_padding_mask, batch, length, source, q.dtype)
        if bias is not None:
            scores = bias + scores
        weights = (scores.softmax(-1) if need_weights or bias is None
                   else masked_softmax(scores))
        if self.training and self.dropout > 0.0:
            weights = F.dropout(weights, self.dropout, training=True)
        out = weights.matmul(v).transpose(0, 1).reshape(length * batch, embed)
        out = self.out_proj(out).reshape(length, batch, embed)
        return out, weights.reshape(batch, heads, length, source)

    def _score_bias(self, attn_mask, key_padding_mask, batch, length, source, dtype):
        """The masks as one additive bias (-inf where attention is not allowed), broadcastable
        to (N*H, L, S); None without masks."""
        bias = None
        if attn_mask is not None:
            bias = attn_mask.to(dtype)
            if bias.dim() == 2 and tuple(bias.shape) != (length, source):
                raise RuntimeError(f"The shape of the 2D attn_mask is {list(bias.shape)}, but "
                                   f"should be {[length, source]}.")
            if bias.dim() == 3 and tuple(bias.shape) != (batch * self.num_heads, length, source):
                raise RuntimeError(
                    f"The shape of the 3D attn_mask is {list(bias.shape)}, but should be "
                    f"{[batch * self.num_heads, length, source]}.")
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (batch, source):
                raise AssertionError(f"expecting key_padding_mask shape of {(batch, source)}, "
                                     f"but got {tuple(key_padding_mask.shape)}")
            padding = key_padding_mask.to(dtype).reshape(batch, 1, 1, source)
            padding = padding.expand(batch, self.num_heads, 1, source).reshape(
                batch * self.num_heads, 1, source)
            bias = padding if bias is None else bias + padding
        return bias

    def extra_repr(self) -> str:
        return ""


def _one_more_key(mask):
    """A mask with a column for one more key, which every query may attend to."""
    return None if mask is None else F.pad(mask, (0, 1))


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
