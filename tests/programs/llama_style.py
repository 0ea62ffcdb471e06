"""A small decoder in the style of today's open LLaMA-family model files: RMSNorm, rotary
position embeddings computed with real arithmetic (cos/sin tables as non-persistent buffers, the
"rotate half" form), grouped-query attention (key/value heads repeated with
``repeat_interleave``) through ``scaled_dot_product_attention``, a SwiGLU feed-forward block,
no biases, AdamW with decay groups by ``p.dim()``, gradient clipping, a cosine schedule from
``LambdaLR``; then generation with a key/value cache under ``inference_mode``, temperature and
top-p (nucleus) sampling.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

try:
    from .corpus import corpus
except ImportError:  # run as a script
    from corpus import corpus


@dataclass
class ModelArgs:
    dim: int = 32
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 2
    vocab_size: int = 32
    hidden_dim: int = 64
    norm_eps: float = 1e-5
    max_seq_len: int = 24
    rope_theta: float = 10000.0


def build(torch):
    """The model classes for ``torch``."""
    nn = torch.nn
    F = torch.nn.functional

    class RMSNorm(nn.Module):
        def __init__(self, dim: int, eps: float):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def _norm(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)

        def forward(self, x):
            return self._norm(x.float()).type_as(x) * self.weight

    def rope_tables(head_dim: int, end: int, theta: float):
        freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2)[: head_dim // 2].float() / head_dim))
        t = torch.arange(end, device=freqs.device, dtype=torch.float32)
        angles = torch.outer(t, freqs)
        emb = torch.cat((angles, angles), dim=-1)
        return emb.cos(), emb.sin()

    def rotate_half(x):
        x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
        return torch.cat((-x2, x1), dim=-1)

    def apply_rotary(q, k, cos, sin):
        cos, sin = cos[None, None], sin[None, None]  # (1, 1, T, head_dim)
        return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin

    class Attention(nn.Module):
        def __init__(self, args: ModelArgs):
            super().__init__()
            self.n_heads, self.n_kv_heads = args.n_heads, args.n_kv_heads
            self.n_rep = args.n_heads // args.n_kv_heads
            self.head_dim = args.dim // args.n_heads
            self.wq = nn.Linear(args.dim, args.n_heads * self.head_dim, bias=False)
            self.wk = nn.Linear(args.dim, args.n_kv_heads * self.head_dim, bias=False)
            self.wv = nn.Linear(args.dim, args.n_kv_heads * self.head_dim, bias=False)
            self.wo = nn.Linear(args.n_heads * self.head_dim, args.dim, bias=False)

        def forward(self, x, cos, sin, cache=None):
            bsz, seqlen, _ = x.shape
            q = self.wq(x).view(bsz, seqlen, self.n_heads, self.head_dim).transpose(1, 2)
            k = self.wk(x).view(bsz, seqlen, self.n_kv_heads, self.head_dim).transpose(1, 2)
            v = self.wv(x).view(bsz, seqlen, self.n_kv_heads, self.head_dim).transpose(1, 2)
            q, k = apply_rotary(q, k, cos, sin)
            if cache is not None:  # generation: append to the keys and values seen so far
                if "k" in cache:
                    k = torch.cat([cache["k"], k], dim=2)
                    v = torch.cat([cache["v"], v], dim=2)
                cache["k"], cache["v"] = k, v
            k = k.repeat_interleave(self.n_rep, dim=1)
            v = v.repeat_interleave(self.n_rep, dim=1)
            out = F.scaled_dot_product_attention(q, k, v, is_causal=seqlen > 1)
            return self.wo(out.transpose(1, 2).contiguous().view(bsz, seqlen, -1))

    class FeedForward(nn.Module):
        def __init__(self, dim: int, hidden_dim: int):
            super().__init__()
            self.w1 = nn.Linear(dim, hidden_dim, bias=False)
            self.w2 = nn.Linear(hidden_dim, dim, bias=False)
            self.w3 = nn.Linear(dim, hidden_dim, bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class Block(nn.Module):
        def __init__(self, args: ModelArgs):
            super().__init__()
            self.attention = Attention(args)
            self.feed_forward = FeedForward(args.dim, args.hidden_dim)
            self.attention_norm = RMSNorm(args.dim, args.norm_eps)
            self.ffn_norm = RMSNorm(args.dim, args.norm_eps)

        def forward(self, x, cos, sin, cache=None):
            h = x + self.attention(self.attention_norm(x), cos, sin, cache)
            return h + self.feed_forward(self.ffn_norm(h))

    class Transformer(nn.Module):
        def __init__(self, args: ModelArgs):
            super().__init__()
            self.args = args
            self.tok_embeddings = nn.Embedding(args.vocab_size, args.dim)
            self.layers = nn.ModuleList(Block(args) for _ in range(args.n_layers))
            self.norm = RMSNorm(args.dim, args.norm_eps)
            self.output = nn.Linear(args.dim, args.vocab_size, bias=False)
            cos, sin = rope_tables(args.dim // args.n_heads, args.max_seq_len * 2,
                                   args.rope_theta)
            self.register_buffer("rope_cos", cos, persistent=False)
            self.register_buffer("rope_sin", sin, persistent=False)
            self.apply(self._init_weights)
            for name, p in self.named_parameters():  # scaled init of the residual projections
                if name.endswith("wo.weight") or name.endswith("w2.weight"):
                    torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * args.n_layers))

        @staticmethod
        def _init_weights(module):
            if isinstance(module, (nn.Linear, nn.Embedding)):
                torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)

        def forward(self, tokens, targets=None, start_pos: int = 0, caches=None):
            _, seqlen = tokens.shape
            h = self.tok_embeddings(tokens)
            cos = self.rope_cos[start_pos: start_pos + seqlen]
            sin = self.rope_sin[start_pos: start_pos + seqlen]
            for i, layer in enumerate(self.layers):
                h = layer(h, cos, sin, None if caches is None else caches[i])
            h = self.norm(h)
            if targets is None:
                return self.output(h[:, [-1], :]), None
            logits = self.output(h)
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                   ignore_index=-1)
            return logits, loss

        def configure_optimizers(self, weight_decay, learning_rate, betas):
            params = [p for p in self.parameters() if p.requires_grad]
            groups = [{"params": [p for p in params if p.dim() >= 2],
                       "weight_decay": weight_decay},
                      {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
            return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)

        @torch.inference_mode()
        def generate(self, idx, max_new_tokens: int, temperature: float = 0.8,
                     top_p: float = 0.9):
            caches = [{} for _ in self.layers]
            logits, _ = self(idx, caches=caches)
            pos = idx.size(1)
            for _ in range(max_new_tokens):
                probs = torch.softmax(logits[:, -1, :] / temperature, dim=-1)
                sorted_probs, sorted_idx = torch.sort(probs, dim=-1, descending=True)
                cumulative = torch.cumsum(sorted_probs, dim=-1)
                sorted_probs[(cumulative - sorted_probs) > top_p] = 0.0
                sorted_probs.div_(sorted_probs.sum(dim=-1, keepdim=True))
                choice = torch.multinomial(sorted_probs, num_samples=1)
                next_token = torch.gather(sorted_idx, -1, choice)
                idx = torch.cat((idx, next_token), dim=1)
                logits, _ = self(next_token, start_pos=pos, caches=caches)
                pos += 1
            return idx

    return Transformer


def main(torch, steps: int = 120, seed: int = 0) -> dict:
    """Train on the corpus for ``steps`` steps; returns the loss before and after training, the
    sizes of the two parameter groups, a sampled line, and whether generating with the cache
    matches a full forward pass on the same tokens."""
    torch.manual_seed(seed)
    text = corpus()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    args = ModelArgs(vocab_size=len(chars))
    model = build(torch)(args)
    optimizer = model.configure_optimizers(0.1, 3e-3, (0.9, 0.95))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda it: min(1.0, (it + 1) / 10) * 0.5 * (1 + math.cos(math.pi * it / steps)))
    block, batch = 16, 8

    def get_batch():
        ix = torch.randint(len(data) - block - 1, (batch,))
        x = torch.stack([data[i: i + block] for i in ix])
        y = torch.stack([data[i + 1: i + 1 + block] for i in ix])
        return x, y

    losses = []
    model.train()
    for _ in range(steps):
        x, y = get_batch()
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())

    model.eval()
    prompt = torch.tensor([[stoi[c] for c in text[:4]]], dtype=torch.long)
    out = model.generate(prompt, max_new_tokens=12)
    with torch.no_grad():  # the cached last-token logits equal a full pass over the tokens
        caches = [{} for _ in model.layers]
        model(out[:, :-1], caches=caches)
        cached, _ = model(out[:, -1:], start_pos=out.size(1) - 1, caches=caches)
        full = model.output(model.norm(_hidden(model, out)))[:, -1:, :]
    return {
        "initial_loss": sum(losses[:5]) / 5,
        "final_loss": sum(losses[-5:]) / 5,
        "group_sizes": [len(g["params"]) for g in optimizer.param_groups],
        "sample": "".join(chars[i] for i in out[0].tolist()),
        "cache_error": float((cached - full).abs().max()),
    }


def _hidden(model, tokens):
    """The last layer's output for ``tokens`` without a cache (before the final norm)."""
    h = model.tok_embeddings(tokens)
    cos, sin = model.rope_cos[: tokens.size(1)], model.rope_sin[: tokens.size(1)]
    for layer in model.layers:
        h = layer(h, cos, sin)
    return h
