"""A sequence classifier over sentences of different lengths, in the style of the sentiment
and intent classifiers people write with packed sequences: token ids in a ``Dataset``, a
``collate_fn`` that pads the batch with ``pad_sequence`` and keeps the lengths, an
``Embedding`` with ``padding_idx``, ``pack_padded_sequence(..., enforce_sorted=False)`` into a
bidirectional ``LSTM`` with ``batch_first``, the two directions' last hidden states
concatenated into a linear head, ``CrossEntropyLoss``, ``Adam`` and ``clip_grad_norm_``.

The task: is token 3 more frequent than token 5 in the sentence? (The whole sentence must be
read; padding must not count.) Written once against the module ``torch`` passed to ``main``:
``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

PAD, VOCAB = 0, 8


def sentences(n: int, seed: int) -> list:
    """``n`` (token ids, label) pairs of 3 to 12 tokens."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        ids = rng.integers(1, VOCAB, rng.integers(3, 13))
        out.append((ids, int((ids == 3).sum() > (ids == 5).sum())))
    return out


def main(torch, steps: int = 60, seed: int = 0) -> dict:
    """Train for ``steps`` batches; returns the first and last losses and the accuracy on
    held-out sentences."""
    nn = torch.nn
    pack_padded_sequence = torch.nn.utils.rnn.pack_padded_sequence
    pad_sequence = torch.nn.utils.rnn.pad_sequence
    DataLoader, Dataset = torch.utils.data.DataLoader, torch.utils.data.Dataset
    torch.manual_seed(seed)

    class Sentences(Dataset):
        def __init__(self, pairs):
            self.pairs = pairs

        def __len__(self):
            return len(self.pairs)

        def __getitem__(self, i):
            ids, label = self.pairs[i]
            return torch.tensor(ids, dtype=torch.long), label

    def collate(batch):
        seqs, labels = zip(*batch)
        lengths = torch.tensor([len(s) for s in seqs])
        return pad_sequence(list(seqs), batch_first=True, padding_value=PAD), lengths, \
            torch.tensor(labels)

    class Classifier(nn.Module):
        def __init__(self, embed: int = 8, hidden: int = 16):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, embed, padding_idx=PAD)
            self.lstm = nn.LSTM(embed, hidden, batch_first=True, bidirectional=True)
            self.head = nn.Linear(2 * hidden, 2)

        def forward(self, ids, lengths):
            packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True,
                                          enforce_sorted=False)
            _, (h_n, _) = self.lstm(packed)
            return self.head(torch.cat([h_n[-2], h_n[-1]], dim=1))

    train = DataLoader(Sentences(sentences(640, seed=1)), batch_size=32, shuffle=True,
                       collate_fn=collate)
    model = Classifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    while len(losses) < steps:
        for ids, lengths, labels in train:
            optimizer.zero_grad()
            loss = loss_fn(model(ids, lengths), labels)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            losses.append(loss.item())
            if len(losses) == steps:
                break
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for ids, lengths, labels in DataLoader(Sentences(sentences(200, seed=2)),
                                               batch_size=50, collate_fn=collate):
            correct += (model(ids, lengths).argmax(1) == labels).sum().item()
            total += len(labels)
    return {"initial_loss": float(np.mean(losses[:5])), "final_loss": float(np.mean(losses[-5:])),
            "accuracy": correct / total}
