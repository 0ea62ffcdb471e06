"""Word vectors by skip-gram with negative sampling, written the way word2vec tutorials write
it: a vocabulary counted from a corpus, negatives drawn with ``torch.multinomial`` from the
unigram distribution raised to 3/4, two ``nn.Embedding`` tables, scores through
``torch.sigmoid`` and ``torch.log``, ``Adagrad``, a running loss kept with
``torch.lerp``, and nearest neighbours by ``F.cosine_similarity`` and ``topk``.

The corpus pairs words that share contexts (days with days, numbers with numbers); the test is
that each word's nearest neighbour is one of its kind. Written once against the module
``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

KINDS = {
    "day": ["monday", "tuesday", "friday", "sunday"],
    "number": ["three", "seven", "nine", "twelve"],
    "colour": ["red", "green", "blue", "yellow"],
}
FRAMES = {
    "day": ["see you on {}", "the shop is closed on {}", "every {} we meet"],
    "number": ["i counted {} apples", "she is {} years old", "add {} more"],
    "colour": ["the wall is {}", "a {} car passed", "paint it {} again"],
}


def corpus(sentences: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    kinds = list(KINDS)
    out = []
    for _ in range(sentences):
        kind = kinds[rng.integers(len(kinds))]
        frame = FRAMES[kind][rng.integers(3)]
        out.append(frame.format(KINDS[kind][rng.integers(4)]).split())
    return out


def main(torch, epochs: int = 4, dim: int = 16, window: int = 2, negatives: int = 4,
         seed: int = 0) -> dict:
    """Train; returns the first and last running losses and the share of kind words whose
    nearest neighbour is of their kind."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(seed)
    sentences = corpus(400, seed)
    counts: dict = {}
    for sentence in sentences:
        for word in sentence:
            counts[word] = counts.get(word, 0) + 1
    vocab = sorted(counts)
    index = {w: i for i, w in enumerate(vocab)}
    noise = torch.tensor([counts[w] for w in vocab], dtype=torch.float) ** 0.75
    noise /= noise.sum()

    pairs = [(index[s[i]], index[s[j]]) for s in sentences for i in range(len(s))
             for j in range(max(0, i - window), min(len(s), i + window + 1)) if j != i]
    centers = torch.tensor([p[0] for p in pairs])
    contexts = torch.tensor([p[1] for p in pairs])

    class SkipGram(nn.Module):
        def __init__(self):
            super().__init__()
            self.center = nn.Embedding(len(vocab), dim)
            self.context = nn.Embedding(len(vocab), dim)
            nn.init.uniform_(self.center.weight, -0.5 / dim, 0.5 / dim)
            nn.init.zeros_(self.context.weight)

        def forward(self, center, context, negative):
            c = self.center(center)  # (B, D)
            positive = torch.sigmoid((c * self.context(context)).sum(-1))
            negative = torch.sigmoid(
                -torch.bmm(self.context(negative), c.unsqueeze(-1)).squeeze(-1))
            return -(torch.log(positive + 1e-7) + torch.log(negative + 1e-7).sum(-1)).mean()

    model = SkipGram()
    optimizer = torch.optim.Adagrad(model.parameters(), lr=0.3)
    running = None
    history = []
    for _ in range(epochs):
        order = torch.randperm(len(pairs))
        for start in range(0, len(pairs), 256):
            batch = order[start:start + 256]
            negative = torch.multinomial(noise, len(batch) * negatives, replacement=True)
            loss = model(centers[batch], contexts[batch], negative.view(len(batch), negatives))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            value = loss.detach()
            running = value if running is None else torch.lerp(running, value, 0.1)
        history.append(running.item())

    vectors = model.center.weight.detach()
    right = total = 0
    for words in KINDS.values():
        for word in words:
            similarity = F.cosine_similarity(vectors[index[word]].unsqueeze(0), vectors, dim=1)
            nearest = similarity.topk(2).indices[1].item()  # [0] is the word itself
            right += vocab[nearest] in words
            total += 1
    return {"initial_loss": history[0], "final_loss": history[-1], "neighbours": right / total}
