"""A character-level language model, as PyTorch tutorials and makemore-style notebooks write
one: a vocabulary from the text, random (B, T) windows, five model variants (bigram, an MLP
over a fixed context written with raw tensors, an RNN cell unrolled by hand, a GRU layer, a
small transformer), AdamW or hand-written SGD, an evaluation under ``no_grad``, and sampling
with ``multinomial``.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

try:
    from .corpus import corpus
except ImportError:  # run as a script
    from corpus import corpus

VARIANTS = ("bigram", "mlp", "rnn", "gru", "transformer")


def main(torch, variant: str = "bigram", steps: int = 150, seed: int = 0) -> dict:
    """Train ``variant`` for ``steps`` steps; returns the loss before training, the validation
    loss after, and a sampled line."""
    nn = torch.nn
    F = torch.nn.functional
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)

    batch_size, block_size, n_embd, eval_iters = 16, 16, 32, 10
    text = corpus()
    chars = sorted(list(set(text)))
    vocab_size = len(chars)
    stoi = {ch: i for i, ch in enumerate(chars)}
    itos = {i: ch for i, ch in enumerate(chars)}
    encode = lambda s: [stoi[c] for c in s]  # noqa: E731  (the tutorials' idiom)
    decode = lambda l: "".join([itos[i] for i in l])  # noqa: E731, E741

    data = torch.tensor(encode(text), dtype=torch.long)
    n = int(0.9 * len(data))
    train_data, val_data = data[:n], data[n:]

    def get_batch(split):
        d = train_data if split == "train" else val_data
        ix = torch.randint(len(d) - block_size, (batch_size,))
        x = torch.stack([d[i:i + block_size] for i in ix])
        y = torch.stack([d[i + 1:i + block_size + 1] for i in ix])
        return x.to(device), y.to(device)

    class BigramLanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

        def forward(self, idx, targets=None):
            logits = self.token_embedding_table(idx)  # (B, T, C)
            if targets is None:
                return logits, None
            B, T, C = logits.shape
            return logits, F.cross_entropy(logits.view(B * T, C), targets.view(B * T))

    class RNNLanguageModel(nn.Module):
        """An Elman cell unrolled over time by hand."""

        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab_size, n_embd)
            self.cell = nn.RNNCell(n_embd, n_embd)
            self.lm_head = nn.Linear(n_embd, vocab_size)

        def forward(self, idx, targets=None):
            emb = self.wte(idx)
            h = torch.zeros(idx.size(0), n_embd, device=idx.device)
            hiddens = []
            for t in range(idx.size(1)):
                h = self.cell(emb[:, t, :], h)
                hiddens.append(h)
            logits = self.lm_head(torch.stack(hiddens, 1))
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
            return logits, loss

    class GRULanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab_size, n_embd)
            self.gru = nn.GRU(n_embd, n_embd, batch_first=True)
            self.lm_head = nn.Linear(n_embd, vocab_size)

        def forward(self, idx, targets=None):
            out, _ = self.gru(self.wte(idx))
            logits = self.lm_head(out)
            loss = None
            if targets is not None:
                loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
            return logits, loss

    class Head(nn.Module):
        """One head of causal self-attention."""

        def __init__(self, head_size):
            super().__init__()
            self.key = nn.Linear(n_embd, head_size, bias=False)
            self.query = nn.Linear(n_embd, head_size, bias=False)
            self.value = nn.Linear(n_embd, head_size, bias=False)
            self.register_buffer("tril", torch.tril(torch.ones(block_size, block_size)))
            self.dropout = nn.Dropout(0.1)

        def forward(self, x):
            B, T, C = x.shape
            k, q = self.key(x), self.query(x)
            wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
            wei = wei.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
            wei = self.dropout(F.softmax(wei, dim=-1))
            return wei @ self.value(x)

    class MultiHeadAttention(nn.Module):
        def __init__(self, num_heads, head_size):
            super().__init__()
            self.heads = nn.ModuleList([Head(head_size) for _ in range(num_heads)])
            self.proj = nn.Linear(head_size * num_heads, n_embd)

        def forward(self, x):
            return self.proj(torch.cat([h(x) for h in self.heads], dim=-1))

    class Block(nn.Module):
        def __init__(self, n_head):
            super().__init__()
            self.sa = MultiHeadAttention(n_head, n_embd // n_head)
            self.ffwd = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.ReLU(),
                                      nn.Linear(4 * n_embd, n_embd), nn.Dropout(0.1))
            self.ln1, self.ln2 = nn.LayerNorm(n_embd), nn.LayerNorm(n_embd)

        def forward(self, x):
            x = x + self.sa(self.ln1(x))
            return x + self.ffwd(self.ln2(x))

    class TransformerLanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.token_embedding_table = nn.Embedding(vocab_size, n_embd)
            self.position_embedding_table = nn.Embedding(block_size, n_embd)
            self.blocks = nn.Sequential(*[Block(n_head=4) for _ in range(2)])
            self.ln_f = nn.LayerNorm(n_embd)
            self.lm_head = nn.Linear(n_embd, vocab_size)

        def forward(self, idx, targets=None):
            B, T = idx.shape
            tok_emb = self.token_embedding_table(idx)
            pos_emb = self.position_embedding_table(torch.arange(T, device=idx.device))
            logits = self.lm_head(self.ln_f(self.blocks(tok_emb + pos_emb)))
            if targets is None:
                return logits, None
            B, T, C = logits.shape
            return logits, F.cross_entropy(logits.view(B * T, C), targets.view(B * T))

    def generate(model, idx, max_new_tokens):
        for _ in range(max_new_tokens):
            logits, _ = model(idx[:, -block_size:])
            probs = F.softmax(logits[:, -1, :], dim=-1)
            idx_next = torch.multinomial(probs, num_samples=1)
            idx = torch.cat((idx, idx_next), dim=1)
        return idx

    if variant == "mlp":
        return _mlp(torch, text, stoi, itos, steps)

    model = {"bigram": BigramLanguageModel, "rnn": RNNLanguageModel, "gru": GRULanguageModel,
             "transformer": TransformerLanguageModel}[variant]().to(device)
    lr = 3e-3 if variant == "transformer" else 1e-2
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ["train", "val"]:
            losses = torch.zeros(eval_iters)
            for k in range(eval_iters):
                X, Y = get_batch(split)
                _, loss = model(X, Y)
                losses[k] = loss.item()
            out[split] = losses.mean()
        model.train()
        return out

    initial = estimate_loss()["val"].item()
    for _ in range(steps):
        xb, yb = get_batch("train")
        _, loss = model(xb, yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    final = estimate_loss()["val"].item()

    model.eval()
    context = torch.zeros((1, 1), dtype=torch.long, device=device)
    sample = decode(generate(model, context, max_new_tokens=60)[0].tolist())
    return {"initial_loss": initial, "final_loss": final, "sample": sample}


def _mlp(torch, text: str, stoi: dict, itos: dict, steps: int) -> dict:
    """makemore's MLP: three characters of context, embeddings in a raw table ``C``, one tanh
    layer, parameters updated by hand."""
    F = torch.nn.functional
    block_size, emb, hidden = 3, 8, 64
    X, Y = [], []
    for line in text.splitlines():
        context = [0] * block_size
        for ch in line + "\n":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]
    X, Y = torch.tensor(X), torch.tensor(Y)
    n = int(0.9 * len(X))
    Xtr, Ytr, Xva, Yva = X[:n], Y[:n], X[n:], Y[n:]

    vocab_size = len(stoi)
    C = torch.randn((vocab_size, emb))
    W1 = torch.randn((block_size * emb, hidden)) * (5 / 3) / (block_size * emb) ** 0.5
    b1 = torch.randn(hidden) * 0.01
    W2 = torch.randn((hidden, vocab_size)) * 0.01
    b2 = torch.zeros(vocab_size)
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True

    def split_loss(Xs, Ys):
        h = torch.tanh(C[Xs].view(-1, block_size * emb) @ W1 + b1)
        return F.cross_entropy(h @ W2 + b2, Ys)

    with torch.no_grad():
        initial = split_loss(Xva, Yva).item()
    for i in range(steps * 2):
        ix = torch.randint(0, Xtr.shape[0], (32,))
        loss = split_loss(Xtr[ix], Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.2 if i < steps else 0.05
        for p in parameters:
            p.data += -lr * p.grad
    with torch.no_grad():
        final = split_loss(Xva, Yva).item()

    out, context = [], [0] * block_size
    with torch.no_grad():
        while len(out) < 60:
            h = torch.tanh(C[torch.tensor([context])].view(1, -1) @ W1 + b1)
            probs = F.softmax(h @ W2 + b2, dim=1)
            ix = torch.multinomial(probs, num_samples=1).item()
            context = context[1:] + [ix]
            out.append(ix)
            if ix == 0:
                break
    return {"initial_loss": initial, "final_loss": final,
            "sample": "".join(itos[i] for i in out)}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--variant", default="bigram", choices=VARIANTS)
    parser.add_argument("--steps", type=int, default=150)
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib), args.variant, args.steps))
