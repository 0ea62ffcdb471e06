"""A text classifier in the style of the torchtext-era tutorials and their transformer
successors: token ids in a map-style ``Dataset``; for a bag-of-embeddings classifier a
``collate_fn`` that flattens the batch into one id tensor plus ``offsets`` (``cumsum`` of the
lengths) for ``nn.EmbeddingBag(mode="sum")``, trained with SGD and ``StepLR``; for the
transformer a ``collate_fn`` that pads
with ``pad_sequence`` and builds the key padding mask. The transformer: a ``[CLS]`` token,
sinusoidal positions in a ``register_buffer``, ``nn.TransformerEncoder`` of pre-norm
(``norm_first=True``) ``batch_first`` layers with ``src_key_padding_mask`` and a final
``LayerNorm``, trained with ``CrossEntropyLoss(label_smoothing=...)``, AdamW, ``OneCycleLR``
stepped every batch, ``clip_grad_norm_``; accuracy by ``argmax(-1)`` under
``inference_mode``, and a mean over the real tokens by ``masked_fill``.

The tasks: for the bag, is token 4 more frequent than token 5 (a count, which a bag can
learn); for the transformer, does token 2 come before token 3 (an order, which needs the
positions and attention). Written once against the module
``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

PAD, CLS, VOCAB = 0, 1, 10


def sentences(n: int, seed: int) -> list:
    """``n`` (token ids, order label, count label) triples of 4 to 11 tokens, each holding
    tokens 2 and 3 once: the order label says whether 2 comes first, the count label whether
    token 4 is more frequent than token 5."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.integers(4, 12))
        ids = rng.integers(4, VOCAB, length)
        first, second = rng.choice(length, 2, replace=False)
        ids[first], ids[second] = 2, 3
        out.append((ids, int(first < second), int((ids == 4).sum() > (ids == 5).sum())))
    return out


def main(torch, steps: int = 120, bag_steps: int = 60, seed: int = 0) -> dict:
    """Train the bag baseline for ``bag_steps`` and the transformer for ``steps`` batches;
    returns the transformer's first and last losses, both models' held-out accuracies, the
    learning rates ``OneCycleLR`` set and the shapes of the encoder's output and its mean."""
    nn = torch.nn
    pad_sequence = torch.nn.utils.rnn.pad_sequence
    DataLoader, Dataset = torch.utils.data.DataLoader, torch.utils.data.Dataset
    torch.manual_seed(seed)

    class Sentences(Dataset):
        def __init__(self, pairs):
            self.pairs = pairs

        def __len__(self):
            return len(self.pairs)

        def __getitem__(self, i):
            ids, order, count = self.pairs[i]
            return torch.as_tensor(ids, dtype=torch.int64), order, count

    def collate_bag(batch):
        labels = torch.tensor([count for _, _, count in batch], dtype=torch.int64)
        lengths = torch.tensor([len(ids) for ids, _, _ in batch])
        offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths[:-1]]).cumsum(dim=0)
        return torch.cat([ids for ids, _, _ in batch]), offsets, labels

    def collate_padded(batch):
        seqs = [torch.cat([torch.tensor([CLS]), ids]) for ids, _, _ in batch]
        tokens = pad_sequence(seqs, batch_first=True, padding_value=PAD)
        return tokens, tokens == PAD, torch.tensor([order for _, order, _ in batch])

    class BagClassifier(nn.Module):
        def __init__(self, dim: int = 16):
            super().__init__()
            self.embedding = nn.EmbeddingBag(VOCAB, dim, mode="sum")
            self.fc = nn.Linear(dim, 2)
            self.embedding.weight.data.uniform_(-0.5, 0.5)
            self.fc.weight.data.uniform_(-0.5, 0.5)
            self.fc.bias.data.zero_()

        def forward(self, text, offsets):
            return self.fc(self.embedding(text, offsets))

    class PositionalEncoding(nn.Module):
        def __init__(self, dim: int, max_len: int = 32):
            super().__init__()
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
            pe = torch.zeros(max_len, dim)
            pe[:, 0::2] = torch.sin(position * div_term)
            pe[:, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe.unsqueeze(0), persistent=False)

        def forward(self, x):
            return x + self.pe[:, :x.size(1)]

    class TransformerClassifier(nn.Module):
        def __init__(self, dim: int = 32, heads: int = 4, layers: int = 2):
            super().__init__()
            self.embed = nn.Embedding(VOCAB, dim, padding_idx=PAD)
            self.pos = PositionalEncoding(dim)
            layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=64, dropout=0.0,
                                               activation="gelu", batch_first=True,
                                               norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(dim),
                                                 enable_nested_tensor=False)
            self.head = nn.Linear(dim, 2)
            # Unit-scale inputs after the sqrt(dim) factor, so positions are not drowned out;
            # the padding row, overwritten by the init, is zeroed again.
            nn.init.normal_(self.embed.weight, std=dim ** -0.5)
            with torch.no_grad():
                self.embed.weight[PAD].zero_()

        def forward(self, tokens, padding_mask):
            x = self.pos(self.embed(tokens) * math.sqrt(self.embed.embedding_dim))
            x = self.encoder(x, src_key_padding_mask=padding_mask)
            return self.head(x[:, 0]), x

    train = Sentences(sentences(480, seed))
    test = Sentences(sentences(200, seed + 1))

    # The bag of embeddings: the classic offsets form, SGD and StepLR.
    bag = BagClassifier()
    bag_opt = torch.optim.SGD(bag.parameters(), lr=2.0)
    bag_sched = torch.optim.lr_scheduler.StepLR(bag_opt, 1, gamma=0.9)
    bag_loader = DataLoader(train, batch_size=32, shuffle=True, collate_fn=collate_bag)
    crit = nn.CrossEntropyLoss()
    done = 0
    while done < bag_steps:
        bag.train()
        for text, offsets, label in bag_loader:
            bag_opt.zero_grad()
            loss = crit(bag(text, offsets), label)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(bag.parameters(), 0.1)
            bag_opt.step()
            done += 1
            if done == bag_steps:
                break
        bag_sched.step()
    bag.eval()
    with torch.inference_mode():
        text, offsets, label = collate_bag([test[i] for i in range(len(test))])
        bag_acc = (bag(text, offsets).argmax(1) == label).sum().item() / len(label)

    # The transformer.
    model = TransformerClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    loader = DataLoader(train, batch_size=32, shuffle=True, collate_fn=collate_padded,
                        drop_last=True)
    epochs = math.ceil(steps / len(loader))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, epochs=epochs,
                                                steps_per_epoch=len(loader), pct_start=0.2)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    losses, lrs = [], []
    for _ in range(epochs):
        model.train()
        for tokens, mask, label in loader:
            logits, _ = model(tokens, mask)
            loss = crit(logits, label)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            lrs.append(sched.get_last_lr()[0])
            if len(losses) == steps:
                break
    model.eval()
    with torch.inference_mode():
        tokens, mask, label = collate_padded([test[i] for i in range(len(test))])
        logits, hidden = model(tokens, mask)
        pred = logits.argmax(-1)
        acc = (pred == label).float().mean().item()
        # A mean over the real tokens only: padded positions masked out.
        keep = (~mask).unsqueeze(-1)
        mean = hidden.masked_fill(~keep, 0.0).sum(1) / keep.sum(1)
        finite = bool(torch.isfinite(hidden).all())
    return {"initial_loss": float(np.mean(losses[:5])), "final_loss": float(np.mean(losses[-5:])),
            "accuracy": acc, "bag_accuracy": bag_acc, "max_lr": max(lrs), "last_lr": lrs[-1],
            "steps": len(losses), "hidden_shape": tuple(hidden.shape),
            "pooled_shape": tuple(mean.shape), "finite": finite, "grad": hidden.requires_grad}


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
