"""A tiny speech recogniser trained with CTC, in the style of public PyTorch ASR tutorials,
on synthetic "utterances": each of ``VOCAB`` phonemes has its own log-mel-like spectral
pattern (drawn once by NumPy), and an utterance is two to five phonemes, each held for a random
number of frames with a little jitter and noise, with short pauses between some of them. The
utterances of a batch have different lengths and are padded with zeros.

Idioms: features (N, T, F) padded by a collate function, with the lengths and the targets
padded (N, S) as well as concatenated (sum of the target lengths,); SpecAugment under
``torch.no_grad()`` on a ``.clone()`` of the batch: a frequency band zeroed by slicing
assignment ``spec[i, :, f0:f0 + w] = 0`` and a time band by ``masked_fill_`` with a boolean
mask from ``torch.arange``; a ``nn.Conv1d`` front end with ``stride=2`` over
``x.transpose(1, 2)`` and the output lengths by
``torch.div(lengths + 2 * pad - k, stride, rounding_mode='floor') + 1``;
``nn.utils.rnn.pack_padded_sequence(..., batch_first=True, enforce_sorted=False)`` into a
two-layer bidirectional ``nn.GRU`` with dropout (its ``flatten_parameters()`` called first
in ``forward``) and ``pad_packed_sequence`` back; a ``nn.Linear`` to ``VOCAB + 1`` classes
with the blank at 0;
``F.log_softmax(logits, dim=2).transpose(0, 1)`` into ``nn.CTCLoss(blank=0,
zero_infinity=True)``; ``torch.optim.AdamW`` with ``lr_scheduler.OneCycleLR`` stepped every
batch and ``nn.utils.clip_grad_norm_``; greedy decoding (``argmax(-1)``,
``torch.unique_consecutive``, the blanks dropped by a boolean index) and a small CTC prefix
beam search in Python that extends each prefix only by the ``torch.topk`` labels of each
frame; the phoneme error rate by the edit distance, in Python.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

VOCAB = 6  # phonemes 1..VOCAB; 0 is the CTC blank
FEATS = 16  # "mel" bins
BLANK = 0
KERNEL, STRIDE, PAD = 3, 2, 1  # the Conv1d front end


def phoneme_patterns(seed: int = 123) -> np.ndarray:
    """(VOCAB + 1, FEATS): row 0 is silence, row p the log-mel pattern of phoneme p."""
    rng = np.random.default_rng(seed)
    patterns = rng.normal(0.0, 1.0, (VOCAB + 1, FEATS))
    patterns[0] = -1.0
    return patterns


def utterances(n: int, seed: int, min_len: int = 2, max_len: int = 5) -> list:
    """``n`` (features (T, FEATS) float32, labels list) pairs."""
    rng = np.random.default_rng(seed)
    patterns = phoneme_patterns()
    out = []
    for _ in range(n):
        labels = [int(p) for p in rng.integers(1, VOCAB + 1, rng.integers(min_len, max_len + 1))]
        frames = [patterns[0]] * int(rng.integers(1, 4))
        for i, p in enumerate(labels):
            if i and (labels[i - 1] == p or rng.random() < 0.3):  # a pause
                frames += [patterns[0]] * int(rng.integers(2, 4))
            for _ in range(int(rng.integers(4, 8))):
                frames.append(patterns[p] * rng.uniform(0.8, 1.2))
        frames += [patterns[0]] * int(rng.integers(1, 4))
        feats = np.stack(frames) + rng.normal(0.0, 0.3, (len(frames), FEATS))
        out.append((feats.astype(np.float32), labels))
    return out


def collate(torch, batch, dtype=None):
    """Padded features (N, T, F), their lengths (N,), the padded targets (N, S), the target
    lengths (N,) and the concatenated targets (sum of the target lengths,)."""
    dtype = dtype or torch.get_default_dtype()
    feats = [torch.tensor(f, dtype=dtype) for f, _ in batch]
    labels = [torch.tensor(y, dtype=torch.long) for _, y in batch]
    pad_sequence = torch.nn.utils.rnn.pad_sequence
    x = pad_sequence(feats, batch_first=True)  # zeros after each utterance
    lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.long)
    targets = pad_sequence(labels, batch_first=True, padding_value=BLANK)
    target_lengths = torch.tensor([len(y) for y in labels], dtype=torch.long)
    return x, lengths, targets, target_lengths, torch.cat(labels)


def spec_augment(torch, x, lengths, freq_width: int = 3, time_width: int = 4):
    """One frequency band and one time band per utterance set to zero, on a copy."""
    spec = x.clone()
    with torch.no_grad():
        n, t, f = spec.shape
        frames = torch.arange(t)
        for i in range(n):
            w = int(torch.randint(0, freq_width + 1, (1,)).item())
            f0 = int(torch.randint(0, f - w + 1, (1,)).item())
            spec[i, :, f0:f0 + w] = 0
            w = int(torch.randint(0, time_width + 1, (1,)).item())
            t0 = int(torch.randint(0, max(int(lengths[i]) - w, 0) + 1, (1,)).item())
            mask = (frames >= t0) & (frames < t0 + w)
            spec[i].masked_fill_(mask.unsqueeze(1), 0.0)
    return spec


def conv_lengths(torch, lengths):
    """The number of frames the strided Conv1d leaves of each utterance."""
    return torch.div(lengths + 2 * PAD - KERNEL, STRIDE, rounding_mode="floor") + 1


def build(torch, channels: int = 32, hidden: int = 32, dropout: float = 0.1):
    nn = torch.nn
    utils = torch.nn.utils.rnn
    F = torch.nn.functional

    class SpeechModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(FEATS, channels, KERNEL, stride=STRIDE, padding=PAD)
            self.gru = nn.GRU(channels, hidden, num_layers=2, batch_first=True,
                              bidirectional=True, dropout=dropout)
            self.fc = nn.Linear(2 * hidden, VOCAB + 1)

        def forward(self, x, lengths):
            """(T', N, VOCAB + 1) log-probabilities and the output lengths (N,)."""
            x = F.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)  # (N, T', C)
            out_lengths = conv_lengths(torch, lengths)
            packed = utils.pack_padded_sequence(x, out_lengths.cpu(), batch_first=True,
                                                enforce_sorted=False)
            self.gru.flatten_parameters()  # as ASR code does before a (cuDNN) RNN call
            out, _ = self.gru(packed)
            out, _ = utils.pad_packed_sequence(out, batch_first=True)
            logits = self.fc(out)
            return F.log_softmax(logits, dim=2).transpose(0, 1), out_lengths

    return SpeechModel()


def greedy_decode(torch, log_probs, out_lengths) -> list:
    """Best path: the argmax of each frame, repeats merged, blanks dropped."""
    best = log_probs.transpose(0, 1).argmax(-1)  # (N, T')
    hyps = []
    for i in range(best.shape[0]):
        path = torch.unique_consecutive(best[i, :int(out_lengths[i])])
        hyps.append(path[path != BLANK].tolist())
    return hyps


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def prefix_beam_search(torch, log_probs, beam: int = 4, prune: int = 3) -> list:
    """CTC prefix beam search over one utterance's (T, C) log-probabilities: each prefix
    keeps the log-probabilities of ending in a blank and in a label; each frame extends the
    ``beam`` best prefixes by the ``prune`` most likely labels of the frame."""
    beams = {(): (0.0, -math.inf)}  # prefix -> (log p ending in blank, log p ending in label)
    for t in range(log_probs.shape[0]):
        frame = log_probs[t]
        top_lp, top_ix = torch.topk(frame, prune)
        nxt: dict = {}
        for prefix, (p_b, p_nb) in beams.items():
            for lp, c in zip(top_lp.tolist(), top_ix.tolist()):
                if c == BLANK:
                    b, nb = nxt.get(prefix, (-math.inf, -math.inf))
                    nxt[prefix] = (_logaddexp(b, lp + _logaddexp(p_b, p_nb)), nb)
                    continue
                last = prefix[-1] if prefix else None
                extended = prefix + (c,)
                b, nb = nxt.get(extended, (-math.inf, -math.inf))
                if c == last:  # a repeat needs a blank in between
                    nxt[extended] = (b, _logaddexp(nb, lp + p_b))
                    b, nb = nxt.get(prefix, (-math.inf, -math.inf))
                    nxt[prefix] = (b, _logaddexp(nb, lp + p_nb))
                else:
                    nxt[extended] = (b, _logaddexp(nb, lp + _logaddexp(p_b, p_nb)))
        beams = dict(sorted(nxt.items(), key=lambda kv: -_logaddexp(*kv[1]))[:beam])
    best = max(beams.items(), key=lambda kv: _logaddexp(*kv[1]))
    return list(best[0])


def edit_distance(a, b) -> int:
    """Levenshtein distance between two label sequences."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def error_rate(hyps, refs) -> float:
    """Total edits over total reference labels."""
    return sum(edit_distance(h, r) for h, r in zip(hyps, refs)) / sum(len(r) for r in refs)


def evaluate(torch, model, batch, device, beam: bool = False) -> dict:
    """CTC loss (padded and concatenated targets) and error rates on ``batch``."""
    x, lengths, targets, target_lengths, flat = collate(torch, batch)
    ctc = torch.nn.CTCLoss(blank=BLANK, zero_infinity=True)
    model.eval()
    with torch.no_grad():
        log_probs, out_lengths = model(x.to(device), lengths.to(device))
        loss = ctc(log_probs, targets.to(device), out_lengths, target_lengths.to(device))
        loss_flat = ctc(log_probs, flat.to(device), out_lengths, target_lengths.to(device))
    refs = [y for _, y in batch]
    result = {"loss": loss.item(), "loss_flat": loss_flat.item(),
              "greedy_per": error_rate(greedy_decode(torch, log_probs, out_lengths), refs)}
    if beam:
        hyps = [prefix_beam_search(torch, log_probs[:int(out_lengths[i]), i])
                for i in range(len(batch))]
        result["beam_per"] = error_rate(hyps, refs)
    model.train()
    return result


def main(torch, steps: int = 60, batch_size: int = 8, seed: int = 0) -> dict:
    """Train for ``steps`` batches; returns the held-out loss and error rates before and after,
    the training losses' ends, the learning rates and the gradient norms."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(seed)
    train = utterances(steps * batch_size, seed=1)
    held_out = utterances(24, seed=2)
    model = build(torch).to(device)
    ctc = torch.nn.CTCLoss(blank=BLANK, zero_infinity=True)
    ctc_sum = torch.nn.CTCLoss(blank=BLANK, reduction="sum", zero_infinity=True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=steps,
                                                    pct_start=0.25)
    before = evaluate(torch, model, held_out, device)
    losses, sums, rates, norms = [], [], [], []
    model.train()
    for step in range(steps):
        batch = train[step * batch_size:(step + 1) * batch_size]
        x, lengths, targets, target_lengths, _ = collate(torch, batch)
        x, lengths = x.to(device), lengths.to(device)
        targets, target_lengths = targets.to(device), target_lengths.to(device)
        x = spec_augment(torch, x, lengths)
        log_probs, out_lengths = model(x, lengths)
        loss = ctc(log_probs, targets, out_lengths, target_lengths)
        optimizer.zero_grad()
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)))
        rates.append(optimizer.param_groups[0]["lr"])  # the rate this step uses
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        sums.append(ctc_sum(log_probs.detach(), targets, out_lengths, target_lengths).item())
    after = evaluate(torch, model, held_out, device, beam=True)
    return {"initial_loss": before["loss"], "final_loss": after["loss"],
            "initial_loss_flat": before["loss_flat"], "final_loss_flat": after["loss_flat"],
            "initial_per": before["greedy_per"], "final_per": after["greedy_per"],
            "beam_per": after["beam_per"], "train_losses": losses, "train_sums": sums,
            "rates": rates, "grad_norms": norms}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib)))
