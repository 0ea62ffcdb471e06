"""A batched, vectorized sequence tagger with a linear-chain CRF on top, in the style of the
efficient public NER code (not the one-sentence-at-a-time tutorial of ``bilstm_crf.py``):
the whole padded batch goes through the encoder, the forward algorithm and Viterbi at once,
with one Python loop over time steps only.

Idioms: sentences of different lengths padded by
``nn.utils.rnn.pad_sequence(batch_first=True, padding_value=PAD)``; masks
``(tokens != PAD)`` as ``.bool()`` and ``.float()``, lengths ``mask.sum(1)``;
``nn.Embedding(padding_idx=0)``; either ``pack_padded_sequence(enforce_sorted=False)`` into an
``nn.LSTM(bidirectional=True, batch_first=True)`` and back by
``pad_packed_sequence(batch_first=True, total_length=...)``, or a small
``nn.TransformerEncoder`` with learned positions and ``src_key_padding_mask=~mask``; a
``CRF`` module with ``transitions = nn.Parameter(torch.randn(T, T))`` and
``start_transitions``/``end_transitions`` (``nn.init.uniform_``); masks that default to
``torch.ones_like(tags, dtype=torch.uint8)`` as in the older CRF packages; the batched forward
algorithm (``torch.logsumexp(score.unsqueeze(2) + transitions + emissions[:, i].unsqueeze(1),
dim=1)`` kept or not by ``torch.where(mask[:, i].unsqueeze(1), next_score, score)``); the gold
path score written two ways (a loop with advanced indexing
``emissions[torch.arange(B), i, tags[:, i]]`` and ``transitions[tags[:, i - 1], tags[:, i]]``,
or all at once with ``emissions.gather(2, tags.unsqueeze(2))``), both ending on
``tags.gather(1, seq_ends.unsqueeze(1))`` with ``seq_ends = mask.long().sum(1) - 1``;
reductions ``'none'``/``'sum'``/``'mean'``/``'token_mean'``; batched Viterbi with
``max(dim=1)`` returning values and indices, a history list of backpointers, and
backtracking per sequence either with ``.tolist()``/``reversed`` and Python loops, or on the
stacked history with ``hist[:seq_end].flip(0)`` and ``.item()``; training with
``optim.Adam`` and ``nn.utils.clip_grad_norm_``; token accuracy under the mask, computed under
``torch.no_grad()`` with ``model.eval()``.

The data: tags drawn from a BIO Markov chain over two entity types; each word is drawn from
its entity type's words (shared by B and I) or the O words, with a little noise, so B and I
can only be told apart by context.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

PAD = 0
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
NUM_TAGS = len(TAGS)
# word ids: O words 1..8, PER words 9..14, LOC words 15..20
WORDS = {0: np.arange(1, 9), 1: np.arange(9, 15), 2: np.arange(9, 15),
         3: np.arange(15, 21), 4: np.arange(15, 21)}
VOCAB = 21
# tag -> next tag probabilities (a BIO chain: I-X only after B-X or I-X)
TRANSITIONS = np.array([
    [0.60, 0.20, 0.00, 0.20, 0.00],
    [0.30, 0.05, 0.60, 0.05, 0.00],
    [0.55, 0.10, 0.25, 0.10, 0.00],
    [0.30, 0.05, 0.00, 0.05, 0.60],
    [0.55, 0.10, 0.00, 0.10, 0.25],
])
START = np.array([0.6, 0.2, 0.0, 0.2, 0.0])


def make_sentences(n: int, seed: int, min_len: int = 2, max_len: int = 10,
                   noise: float = 0.05) -> list:
    """``n`` (word ids, tag ids) pairs of NumPy int64 arrays of ``min_len..max_len`` tokens."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        length = int(rng.integers(min_len, max_len + 1))
        tags = [int(rng.choice(NUM_TAGS, p=START))]
        for _ in range(length - 1):
            tags.append(int(rng.choice(NUM_TAGS, p=TRANSITIONS[tags[-1]])))
        words = [int(rng.choice(WORDS[t])) if rng.random() > noise
                 else int(rng.integers(1, VOCAB)) for t in tags]
        out.append((np.array(words, dtype=np.int64), np.array(tags, dtype=np.int64)))
    return out


def collate(torch, pairs) -> tuple:
    """Pads a list of (words, tags) into ``(tokens, tags, mask)``, batch first."""
    pad_sequence = torch.nn.utils.rnn.pad_sequence
    words = [torch.tensor(w, dtype=torch.long) for w, _ in pairs]
    tags = [torch.from_numpy(t) for _, t in pairs]
    tokens = pad_sequence(words, batch_first=True, padding_value=PAD)
    tags = pad_sequence(tags, batch_first=True, padding_value=0)
    mask = (tokens != PAD).bool()
    return tokens, tags, mask


def build_crf(torch):
    nn = torch.nn

    class CRF(nn.Module):
        """A linear-chain CRF over ``num_tags`` tags, batch first. ``forward`` returns the
        log-likelihood of the gold tags (negate it for a loss)."""

        def __init__(self, num_tags: int):
            super().__init__()
            self.num_tags = num_tags
            self.start_transitions = nn.Parameter(torch.empty(num_tags))
            self.end_transitions = nn.Parameter(torch.empty(num_tags))
            self.transitions = nn.Parameter(torch.randn(num_tags, num_tags))
            nn.init.uniform_(self.start_transitions, -0.1, 0.1)
            nn.init.uniform_(self.end_transitions, -0.1, 0.1)
            with torch.no_grad():
                self.transitions.mul_(0.1)

        def forward(self, emissions, tags, mask=None, reduction: str = "mean",
                    score_mode: str = "loop"):
            if reduction not in ("none", "sum", "mean", "token_mean"):
                raise ValueError(f"invalid reduction: {reduction}")
            if mask is None:
                mask = torch.ones_like(tags, dtype=torch.uint8)
            if score_mode == "loop":
                numerator = self._score_loop(emissions, tags, mask)
            else:
                numerator = self._score_gather(emissions, tags, mask)
            denominator = self._normalizer(emissions, mask)
            llh = numerator - denominator
            if reduction == "none":
                return llh
            if reduction == "sum":
                return llh.sum()
            if reduction == "mean":
                return llh.mean()
            return llh.sum() / mask.float().sum()

        def _score_loop(self, emissions, tags, mask):
            batch_size, seq_length = tags.shape
            mask = mask.float()
            arange = torch.arange(batch_size)
            score = self.start_transitions[tags[:, 0]]
            score = score + emissions[arange, 0, tags[:, 0]]
            for i in range(1, seq_length):
                score = score + self.transitions[tags[:, i - 1], tags[:, i]] * mask[:, i]
                score = score + emissions[arange, i, tags[:, i]] * mask[:, i]
            seq_ends = mask.long().sum(dim=1) - 1
            last_tags = tags.gather(1, seq_ends.unsqueeze(1)).squeeze(1)
            return score + self.end_transitions[last_tags]

        def _score_gather(self, emissions, tags, mask):
            fmask = mask.float()
            emit = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, L)
            trans = self.transitions[tags[:, :-1], tags[:, 1:]]  # (B, L - 1)
            score = (emit * fmask).sum(1) + (trans * fmask[:, 1:]).sum(1)
            score = score + self.start_transitions[tags[:, 0]]
            seq_ends = mask.long().sum(1) - 1
            last_tags = tags.gather(1, seq_ends.unsqueeze(1)).squeeze(1)
            return score + self.end_transitions[last_tags]

        def _normalizer(self, emissions, mask):
            seq_length = emissions.size(1)
            score = self.start_transitions + emissions[:, 0]
            for i in range(1, seq_length):
                broadcast_score = score.unsqueeze(2)
                broadcast_emissions = emissions[:, i].unsqueeze(1)
                next_score = broadcast_score + self.transitions + broadcast_emissions
                next_score = torch.logsumexp(next_score, dim=1)
                score = torch.where(mask[:, i].unsqueeze(1), next_score, score)
            score = score + self.end_transitions
            return torch.logsumexp(score, dim=1)

        def decode(self, emissions, mask=None, backtrack: str = "lists"):
            """The best tag sequence of each sentence, as a list of lists of ints."""
            if mask is None:
                mask = emissions.new_ones(emissions.shape[:2], dtype=torch.uint8)
            batch_size, seq_length = mask.shape
            score = self.start_transitions + emissions[:, 0]
            history = []
            for i in range(1, seq_length):
                broadcast_score = score.unsqueeze(2)
                broadcast_emission = emissions[:, i].unsqueeze(1)
                next_score = broadcast_score + self.transitions + broadcast_emission
                next_score, indices = next_score.max(dim=1)
                score = torch.where(mask[:, i].unsqueeze(1), next_score, score)
                history.append(indices)
            score += self.end_transitions
            seq_ends = mask.long().sum(dim=1) - 1

            best_tags_list = []
            if backtrack == "lists":
                for idx in range(batch_size):
                    _, best_last_tag = score[idx].max(dim=0)
                    best_tags = [best_last_tag.item()]
                    for hist in reversed(history[: seq_ends[idx]]):
                        best_last_tag = hist[idx][best_tags[-1]]
                        best_tags.append(best_last_tag.item())
                    best_tags.reverse()
                    best_tags_list.append(best_tags)
            else:
                hist = torch.stack(history, dim=0) if history else \
                    torch.zeros(0, batch_size, self.num_tags, dtype=torch.long)
                best_last = score.argmax(dim=1).tolist()
                for idx, seq_end in enumerate(seq_ends.tolist()):
                    path = [best_last[idx]]
                    for step in hist[:seq_end, idx].flip(0):
                        path.append(step[path[-1]].item())
                    best_tags_list.append(path[::-1])
            return best_tags_list

    return CRF


def build_tagger(torch, encoder: str = "lstm", embed: int = 16, hidden: int = 16,
                 dropout: float = 0.1, max_len: int = 16):
    nn = torch.nn
    pack_padded_sequence = nn.utils.rnn.pack_padded_sequence
    pad_packed_sequence = nn.utils.rnn.pad_packed_sequence
    CRF = build_crf(torch)

    class Tagger(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(VOCAB, embed, padding_idx=PAD)
            if encoder == "lstm":
                self.lstm = nn.LSTM(embed, hidden // 2, num_layers=1, bidirectional=True,
                                    batch_first=True)
            else:
                self.positions = nn.Embedding(max_len, embed)
                layer = nn.TransformerEncoderLayer(embed, nhead=2, dim_feedforward=2 * embed,
                                                   dropout=dropout, batch_first=True)
                self.transformer = nn.TransformerEncoder(layer, num_layers=1,
                                                         enable_nested_tensor=False)
            self.dropout = nn.Dropout(dropout)
            self.hidden2tag = nn.Linear(hidden if encoder == "lstm" else embed, NUM_TAGS)
            self.crf = CRF(NUM_TAGS)

        def _emissions(self, tokens, mask):
            x = self.dropout(self.embedding(tokens))
            if encoder == "lstm":
                lengths = mask.sum(1)
                packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                              enforce_sorted=False)
                out, _ = self.lstm(packed)
                h, _ = pad_packed_sequence(out, batch_first=True,
                                           total_length=tokens.size(1))
            else:
                pos = torch.arange(tokens.size(1)).unsqueeze(0).expand_as(tokens)
                h = self.transformer(x + self.positions(pos), src_key_padding_mask=~mask)
            return self.hidden2tag(self.dropout(h))

        def forward(self, tokens, tags, mask, reduction: str = "mean",
                    score_mode: str = "loop"):
            """The negative log-likelihood of the gold tags."""
            emissions = self._emissions(tokens, mask)
            return -self.crf(emissions, tags, mask=mask, reduction=reduction,
                             score_mode=score_mode)

        def predict(self, tokens, mask, backtrack: str = "lists"):
            return self.crf.decode(self._emissions(tokens, mask), mask, backtrack=backtrack)

    return Tagger()


def token_accuracy(torch, model, batches) -> float:
    """The fraction of real (unpadded) tokens tagged right by Viterbi."""
    model.eval()
    correct = total = 0.0
    with torch.no_grad():
        for tokens, tags, mask in batches:
            paths = model.predict(tokens, mask)
            pred = torch.zeros_like(tags)
            for i, path in enumerate(paths):
                pred[i, : len(path)] = torch.tensor(path)
            fmask = mask.float()
            correct += ((pred == tags).float() * fmask).sum().item()
            total += fmask.sum().item()
    model.train()
    return correct / total


def main(torch, encoder: str = "lstm", epochs: int = 6, n_train: int = 96, batch_size: int = 16,
         lr: float = 2e-2, seed: int = 0, reduction: str = "mean") -> dict:
    """Trains the tagger; returns the losses and the held-out token accuracy before and
    after training."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train = make_sentences(n_train, seed=seed + 1)
    valid = [collate(torch, make_sentences(32, seed=seed + 2)[i: i + 16]) for i in (0, 16)]
    model = build_tagger(torch, encoder=encoder)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    initial_acc = token_accuracy(torch, model, valid)

    losses = []
    for _ in range(epochs):
        order = rng.permutation(len(train))
        for start in range(0, len(train), batch_size):
            batch = [train[j] for j in order[start: start + batch_size]]
            tokens, tags, mask = collate(torch, batch)
            optimizer.zero_grad()
            loss = model(tokens, tags, mask, reduction=reduction)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=5.0)
            optimizer.step()
            losses.append(loss.item())

    per_epoch = len(losses) // epochs
    return {
        "initial_loss": float(np.mean(losses[:per_epoch])),
        "final_loss": float(np.mean(losses[-per_epoch:])),
        "initial_acc": initial_acc,
        "final_acc": token_accuracy(torch, model, valid),
        "steps": len(losses),
        "transitions": model.crf.transitions.detach().numpy().copy(),
    }


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--encoder", default="lstm", choices=("lstm", "transformer"))
    args = parser.parse_args()
    result = main(importlib.import_module(args.lib), encoder=args.encoder)
    result.pop("transitions")
    print(result)
