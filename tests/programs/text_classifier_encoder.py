"""A padded-batch encoder classifier, as fine-tuning scripts are written in the Hugging Face
era, with everything about padding and masks done by hand: variable-length token sequences
padded by ``pad_sequence(batch_first=True, padding_value=PAD)`` in a ``DataLoader``
``collate_fn``; ``nn.Embedding(padding_idx=PAD)`` for the tokens and a learned
``nn.Embedding`` for the positions; ``nn.TransformerEncoder`` of pre-norm ``batch_first``
layers (with dropout) called with ``src_key_padding_mask=(tokens == PAD)``; a masked mean
over the real tokens (``(h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
.clamp(min=1)``); ``CrossEntropyLoss``, AdamW over two parameter groups (no decay for biases,
norms and embeddings), a ``get_linear_schedule_with_warmup``-style ``LambdaLR``,
``clip_grad_norm_``; evaluation under ``model.eval()`` and ``no_grad`` by ``argmax(-1)``.

The task: does the sequence contain the bigram ``2 3`` (a local pattern anywhere, which
needs positions and attention); the lengths vary from 3 to 16 tokens, so most of each batch
is padding for its short sequences, and the training set holds a few empty ones. The checks
of the masks: the padding row of the token embedding gets no gradient, and a sequence's
logits in a padded batch equal its logits alone.
Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

PAD, VOCAB, MAX_LEN = 0, 8, 16


def sequences(n: int, seed: int) -> list:
    """``n`` (token ids, label) pairs of 3 to 16 tokens from 1..7; half of them hold the
    bigram ``2 3`` (label 1), the others are redrawn until they do not."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        length = int(rng.integers(3, MAX_LEN + 1))
        ids = rng.integers(1, VOCAB, length)
        if i % 2:
            at = int(rng.integers(0, length - 1))
            ids[at:at + 2] = (2, 3)
        else:
            while ((ids[:-1] == 2) & (ids[1:] == 3)).any():
                ids = rng.integers(1, VOCAB, length)
        out.append((ids, int(i % 2)))
    return out


def main(torch, steps: int = 90, seed: int = 0) -> dict:
    """Train for ``steps`` batches; returns the first and last losses, the held-out accuracy,
    the learning rates the schedule set, the largest gradient of the padding embedding row
    and the largest change of a sequence's logits between a padded batch and alone."""
    nn = torch.nn
    pad_sequence = torch.nn.utils.rnn.pad_sequence
    DataLoader = torch.utils.data.DataLoader
    torch.manual_seed(seed)

    def collate(batch):
        tokens = pad_sequence([torch.as_tensor(ids, dtype=torch.long) for ids, _ in batch],
                              batch_first=True, padding_value=PAD)
        return tokens, torch.tensor([label for _, label in batch])

    class EncoderClassifier(nn.Module):
        def __init__(self, dim: int = 32, heads: int = 4, layers: int = 2):
            super().__init__()
            self.tokens = nn.Embedding(VOCAB, dim, padding_idx=PAD)
            self.positions = nn.Embedding(MAX_LEN, dim)
            layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=64, dropout=0.1,
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, 2)

        def forward(self, tokens):
            padding = tokens == PAD
            where = torch.arange(tokens.size(1), device=tokens.device).unsqueeze(0)
            x = self.tokens(tokens) + self.positions(where)
            h = self.norm(self.encoder(x, src_key_padding_mask=padding))
            mask = (~padding).float()
            pooled = (h * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
            return self.head(pooled)

    def linear_warmup(warmup: int, total: int):
        def factor(step: int) -> float:
            if step < warmup:
                return step / max(1, warmup)
            return max(0.0, (total - step) / max(1, total - warmup))
        return factor

    # A few empty sequences, as scraped data has: all padding, their queries attend to no
    # key (zeros, not NaN) and the pooled mean divides by the clamped count.
    train = sequences(640, seed) + [(np.zeros(0, dtype=np.int64), 0)] * 8
    test = sequences(200, seed + 1)
    loader = DataLoader(train, batch_size=32, shuffle=True, collate_fn=collate)

    model = EncoderClassifier()
    no_decay = ("bias", "norm", "tokens", "positions")
    groups = [
        {"params": [p for n, p in model.named_parameters()
                    if not any(k in n for k in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters()
                    if any(k in n for k in no_decay)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=3e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, linear_warmup(steps // 10, steps))
    crit = nn.CrossEntropyLoss()
    losses, lrs, pad_grad = [], [], 0.0
    model.train()
    while len(losses) < steps:
        for tokens, labels in loader:
            loss = crit(model(tokens), labels)
            opt.zero_grad()
            loss.backward()
            pad_grad = max(pad_grad, model.tokens.weight.grad[PAD].abs().max().item())
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            lrs.append(sched.get_last_lr()[0])
            if len(losses) == steps:
                break

    model.eval()
    with torch.no_grad():
        tokens, labels = collate(test)
        logits = model(tokens)
        accuracy = (logits.argmax(-1) == labels).float().mean().item()
        # Padding must not change a sequence's prediction: the shortest sequences, alone.
        shortest = sorted(range(len(test)), key=lambda i: len(test[i][0]))[:4]
        alone = torch.cat([model(collate([test[i]])[0]) for i in shortest])
        padding_effect = (alone - logits[torch.tensor(shortest)]).abs().max().item()
    return {"initial_loss": float(np.mean(losses[:5])), "final_loss": float(np.mean(losses[-5:])),
            "accuracy": accuracy, "steps": len(losses), "first_lr": lrs[0], "max_lr": max(lrs),
            "last_lr": lrs[-1], "pad_grad": pad_grad, "padding_effect": padding_effect,
            "logits_shape": tuple(logits.shape), "padded_len": tokens.size(1)}


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
