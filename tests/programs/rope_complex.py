"""A tiny decoder-only language model in the style of Meta's original LLaMA model file, whose
rotary position embeddings use complex numbers: the rotations ``e^{i m theta_j}`` are
precomputed once with ``torch.polar(torch.ones_like(angles), angles)`` from
``torch.outer(positions, freqs)`` and kept as a plain attribute (not a buffer, so not in the
state_dict); ``apply_rotary_emb`` views each pair of query/key features as one complex number
(``torch.view_as_complex`` of a ``(..., head_dim // 2, 2)`` reshape, after ``.float()``),
multiplies by the rotations reshaped to ``(1, seqlen, 1, head_dim // 2)`` for broadcasting,
and goes back with ``torch.view_as_real(...).flatten(3)`` and ``.type_as(xq)``. Around it: a
hand-written RMSNorm, attention with an explicit causal mask (``torch.triu`` of a ``-inf``
``torch.full``, padded with ``torch.hstack`` when a key/value cache holds earlier positions),
a SiLU-gated feed-forward block, no biases, AdamW with gradient clipping and cross entropy on
a character corpus; then greedy generation with the cache under ``inference_mode``.

The batches come from NumPy's generator (seeded by ``seed``), so two runs from the same
``initial_state`` see the same data whatever library runs them. ``dtype="float64"`` runs the
whole model, rotations included (``complex128``), in double precision.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

try:
    from .corpus import corpus
except ImportError:  # run as a script
    from corpus import corpus


@dataclass
class ModelArgs:
    dim: int = 32
    n_layers: int = 2
    n_heads: int = 4
    vocab_size: int = 32
    multiple_of: int = 16
    norm_eps: float = 1e-5
    max_seq_len: int = 24
    rope_theta: float = 10000.0


def precompute_freqs_cis(torch, head_dim: int, end: int, theta: float = 10000.0,
                         dtype: str = "float32"):
    """The unit complex numbers ``e^{i m theta_j}`` for positions ``m < end`` and the
    ``head_dim // 2`` frequencies ``theta_j = theta^(-2j / head_dim)``: a complex tensor of
    shape ``(end, head_dim // 2)``, complex64 for ``dtype="float32"`` and complex128 for
    ``"float64"``."""
    real = getattr(torch, dtype)
    exponents = torch.arange(0, head_dim, 2)[: head_dim // 2].to(real) / head_dim
    freqs = 1.0 / (theta ** exponents)
    t = torch.arange(end, device=freqs.device, dtype=real)
    angles = torch.outer(t, freqs)  # (end, head_dim // 2): position times frequency
    return torch.polar(torch.ones_like(angles), angles)


def reshape_for_broadcast(freqs_cis, x):
    """``freqs_cis`` (seqlen, head_dim // 2) as (1, seqlen, 1, head_dim // 2), to multiply
    the complex view ``x`` (bsz, seqlen, n_heads, head_dim // 2) position by position."""
    _, seqlen, _, half = x.shape
    assert tuple(freqs_cis.shape) == (seqlen, half), (freqs_cis.shape, x.shape)
    return freqs_cis.view(1, seqlen, 1, half)


def apply_rotary_emb(torch, xq, xk, freqs_cis):
    """Rotate each consecutive pair of features of the queries and keys (bsz, seqlen, heads,
    head_dim) by its position's angle, as complex multiplication; the results have the
    inputs' dtype. The arithmetic is done in float32 (``.float()``, as LLaMA's code does), or
    in float64 where the rotations are complex128."""
    if freqs_cis.dtype == torch.complex128:
        def widen(t):
            return t.double()
    else:
        def widen(t):
            return t.float()
    xq_ = torch.view_as_complex(widen(xq).reshape(*xq.shape[:-1], -1, 2))
    xk_ = torch.view_as_complex(widen(xk).reshape(*xk.shape[:-1], -1, 2))
    freqs_cis = reshape_for_broadcast(freqs_cis, xq_)
    xq_out = torch.view_as_real(xq_ * freqs_cis).flatten(3)
    xk_out = torch.view_as_real(xk_ * freqs_cis).flatten(3)
    return xq_out.type_as(xq), xk_out.type_as(xk)


def rotate_pairs(torch, x, rotations):
    """One tensor's rotation, the core of ``apply_rotary_emb``: ``x`` (..., n, 2) real as n
    complex numbers, times ``rotations`` (broadcastable to (..., n), complex), back to real
    and flattened to (..., 2n). Real in, real out, so it can be finite-difference checked."""
    return torch.view_as_real(torch.view_as_complex(x) * rotations).flatten(-2)


def build(torch):
    """The model classes for ``torch``; returns the ``Transformer`` class, constructed as
    ``Transformer(args, dtype)`` (``dtype`` names the real dtype of the rotations)."""
    nn = torch.nn
    F = torch.nn.functional

    class RMSNorm(nn.Module):
        def __init__(self, dim: int, eps: float):
            super().__init__()
            self.eps = eps
            self.weight = nn.Parameter(torch.ones(dim))

        def forward(self, x):
            scale = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
            return x * scale * self.weight

    class Attention(nn.Module):
        def __init__(self, args: ModelArgs):
            super().__init__()
            self.n_heads = args.n_heads
            self.head_dim = args.dim // args.n_heads
            self.wq = nn.Linear(args.dim, args.n_heads * self.head_dim, bias=False)
            self.wk = nn.Linear(args.dim, args.n_heads * self.head_dim, bias=False)
            self.wv = nn.Linear(args.dim, args.n_heads * self.head_dim, bias=False)
            self.wo = nn.Linear(args.n_heads * self.head_dim, args.dim, bias=False)

        def forward(self, x, freqs_cis, mask, cache=None):
            bsz, seqlen, _ = x.shape
            xq = self.wq(x).view(bsz, seqlen, self.n_heads, self.head_dim)
            xk = self.wk(x).view(bsz, seqlen, self.n_heads, self.head_dim)
            xv = self.wv(x).view(bsz, seqlen, self.n_heads, self.head_dim)
            xq, xk = apply_rotary_emb(torch, xq, xk, freqs_cis)
            if cache is not None:  # generation: the keys and values of earlier positions
                if "k" in cache:
                    xk = torch.cat([cache["k"], xk], dim=1)
                    xv = torch.cat([cache["v"], xv], dim=1)
                cache["k"], cache["v"] = xk, xv
            q, k, v = xq.transpose(1, 2), xk.transpose(1, 2), xv.transpose(1, 2)
            scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
            if mask is not None:
                scores = scores + mask  # (seqlen, cached + seqlen), broadcast over batch, heads
            weights = F.softmax(scores, dim=-1)
            out = torch.matmul(weights, v).transpose(1, 2).contiguous().view(bsz, seqlen, -1)
            return self.wo(out)

    class FeedForward(nn.Module):
        def __init__(self, dim: int, multiple_of: int):
            super().__init__()
            hidden = int(2 * (4 * dim) / 3)  # two thirds of 4 * dim, rounded up below
            hidden = multiple_of * ((hidden + multiple_of - 1) // multiple_of)
            self.w1 = nn.Linear(dim, hidden, bias=False)
            self.w2 = nn.Linear(hidden, dim, bias=False)
            self.w3 = nn.Linear(dim, hidden, bias=False)

        def forward(self, x):
            return self.w2(F.silu(self.w1(x)) * self.w3(x))

    class TransformerBlock(nn.Module):
        def __init__(self, args: ModelArgs):
            super().__init__()
            self.attention = Attention(args)
            self.feed_forward = FeedForward(args.dim, args.multiple_of)
            self.attention_norm = RMSNorm(args.dim, args.norm_eps)
            self.ffn_norm = RMSNorm(args.dim, args.norm_eps)

        def forward(self, x, freqs_cis, mask, cache=None):
            h = x + self.attention(self.attention_norm(x), freqs_cis, mask, cache)
            return h + self.feed_forward(self.ffn_norm(h))

    class Transformer(nn.Module):
        def __init__(self, args: ModelArgs, dtype: str = "float32"):
            super().__init__()
            self.args = args
            self.tok_embeddings = nn.Embedding(args.vocab_size, args.dim)
            self.layers = nn.ModuleList(TransformerBlock(args) for _ in range(args.n_layers))
            self.norm = RMSNorm(args.dim, args.norm_eps)
            self.output = nn.Linear(args.dim, args.vocab_size, bias=False)
            # a plain attribute, as in LLaMA's file: not a parameter, not in the state_dict
            self.freqs_cis = precompute_freqs_cis(torch, args.dim // args.n_heads,
                                                  args.max_seq_len * 2, args.rope_theta, dtype)

        def forward(self, tokens, start_pos: int = 0, caches=None):
            """Logits (bsz, seqlen, vocab) for ``tokens`` at positions ``start_pos`` on;
            ``caches`` (one dict per layer) holds the keys and values of earlier calls."""
            _, seqlen = tokens.shape
            h = self.tok_embeddings(tokens)
            self.freqs_cis = self.freqs_cis.to(h.device)
            freqs_cis = self.freqs_cis[start_pos: start_pos + seqlen]
            mask = None
            if seqlen > 1:
                mask = torch.full((seqlen, seqlen), float("-inf"), device=tokens.device)
                mask = torch.triu(mask, diagonal=1)
                if start_pos > 0:  # every cached position is visible to every new one
                    mask = torch.hstack(
                        [torch.zeros((seqlen, start_pos), device=tokens.device), mask])
                mask = mask.type_as(h)
            for i, layer in enumerate(self.layers):
                h = layer(h, freqs_cis, mask, None if caches is None else caches[i])
            return self.output(self.norm(h))

        @torch.inference_mode()
        def generate(self, prompt, max_new_tokens: int):
            """Greedy continuation of ``prompt`` (1, T), one token per call after the prompt."""
            caches = [{} for _ in self.layers]
            logits = self(prompt, caches=caches)
            tokens, pos = prompt, prompt.size(1)
            for _ in range(max_new_tokens):
                next_token = logits[:, -1, :].argmax(dim=-1, keepdim=True)
                tokens = torch.cat([tokens, next_token], dim=1)
                logits = self(next_token, start_pos=pos, caches=caches)
                pos += 1
            return tokens

    return Transformer


def encode():
    """The corpus, its sorted characters, and the corpus as a NumPy array of their indices."""
    text = corpus()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    return text, chars, np.array([stoi[c] for c in text], dtype=np.int64)


def get_batch(torch, rng, data, batch: int, block: int):
    """``batch`` random windows of ``block`` tokens and the same windows one token on."""
    ix = rng.integers(0, len(data) - block - 1, size=batch)
    x = np.stack([data[i: i + block] for i in ix])
    y = np.stack([data[i + 1: i + 1 + block] for i in ix])
    return torch.from_numpy(x), torch.from_numpy(y)


def make_model(torch, dtype: str = "float32", initial_state=None):
    """A fresh model over the corpus' characters, in ``dtype``, with ``initial_state`` (a
    state_dict) loaded if given."""
    _, chars, _ = encode()
    model = build(torch)(ModelArgs(vocab_size=len(chars)), dtype).to(getattr(torch, dtype))
    if initial_state is not None:
        model.load_state_dict(initial_state)
    return model


def loss_and_grads(torch, model, seed: int = 0, batch: int = 8, block: int = 16):
    """One batch's cross entropy and every parameter's ``.grad`` after its backward, by name."""
    _, _, data = encode()
    x, y = get_batch(torch, np.random.default_rng(seed), data, batch, block)
    model.zero_grad()
    logits = model(x)
    loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
    loss.backward()
    return loss.item(), {name: p.grad for name, p in model.named_parameters()}


def main(torch, steps: int = 100, seed: int = 0, initial_state=None, dtype: str = "float32",
         batch: int = 8, block: int = 16, lr: float = 3e-3) -> dict:
    """Train for ``steps`` AdamW steps (from ``initial_state``, a state_dict, if given);
    returns the mean loss of the first and of the last five steps, every step's loss, whether
    every parameter got a gradient, a greedy sample, and how far the cached generation's
    last logits are from a full forward pass over the same tokens."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    _, chars, data = encode()
    model = make_model(torch, dtype, initial_state)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95),
                                  weight_decay=0.1)
    losses = []
    model.train()
    for _ in range(steps):
        x, y = get_batch(torch, rng, data, batch, block)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
    grads_set = all(p.grad is not None and bool((p.grad != 0).any())
                    for p in model.parameters())

    model.eval()
    prompt = torch.from_numpy(data[None, :6].copy())
    out = model.generate(prompt, max_new_tokens=12)
    with torch.no_grad():  # the cached last-token logits equal a full pass over the tokens
        caches = [{} for _ in model.layers]
        model(out[:, :-1], caches=caches)
        cached = model(out[:, -1:], start_pos=out.size(1) - 1, caches=caches)
        full = model(out)[:, -1:, :]
    return {
        "initial_loss": sum(losses[:5]) / 5,
        "final_loss": sum(losses[-5:]) / 5,
        "losses": losses,
        "grads_set": grads_set,
        "sample": "".join(chars[i] for i in out[0].tolist()),
        "cache_error": float((cached - full).abs().max()),
    }


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    args = parser.parse_args()
    result = main(importlib.import_module(args.lib), args.steps, dtype=args.dtype)
    print({k: v for k, v in result.items() if k != "losses"})
