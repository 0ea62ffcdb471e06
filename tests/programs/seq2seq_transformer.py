"""A sequence-to-sequence transformer in the style of the translation tutorials built on
``nn.Transformer`` (``batch_first=True``): token embeddings scaled by sqrt(d_model) plus
sinusoidal positions kept in a ``register_buffer``, a causal target mask from
``nn.Transformer.generate_square_subsequent_mask``, padding masks for the source, the target
and the memory, ``CrossEntropyLoss(ignore_index=PAD, label_smoothing=...)``, ``Adam`` with
``betas=(0.9, 0.98), eps=1e-9`` under a warmup ``LambdaLR``, and ``clip_grad_norm_``. Dropout
is 0 so that both libraries train the same model. After training, in ``eval()`` mode under
``no_grad``: batched greedy decoding (``argmax``, ``torch.cat``, finished rows padded by
``masked_fill``) and a small beam search (``log_softmax``, ``topk`` over beams times
vocabulary, beam and token recovered by ``div(rounding_mode="floor")`` and ``%``).

The task: reverse a sequence of 3 to 6 random digits. Written once against the module
``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

PAD, BOS, EOS, DIGITS = 0, 1, 2, 10
VOCAB = DIGITS + 3
MIN_LEN, MAX_LEN = 3, 6


def digit_pairs(n: int, seed: int) -> list:
    """``n`` (source, target) pairs of token lists: 3 to 6 random digits, and the same digits
    reversed between BOS and EOS."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        src = [int(t) for t in rng.integers(3, VOCAB, int(rng.integers(MIN_LEN, MAX_LEN + 1)))]
        out.append((src, [BOS, *reversed(src), EOS]))
    return out


def build_model(torch, d_model: int = 32):
    """The tutorial's ``Seq2SeqTransformer`` (two encoder and two decoder layers, four heads,
    no dropout), its matrices re-initialized by ``xavier_uniform_``."""
    nn = torch.nn

    class PositionalEncoding(nn.Module):
        """Adds sin/cos waves of geometrically spaced frequencies, one pair per two features;
        the (1, maxlen, emb_size) table is a buffer: saved and moved, never trained."""

        def __init__(self, emb_size: int, maxlen: int = 64):
            super().__init__()
            position = torch.arange(maxlen, dtype=torch.float32).unsqueeze(1)
            frequency = torch.pow(10000.0, -torch.arange(0, emb_size, 2) / emb_size)
            table = torch.zeros(maxlen, emb_size)
            table[:, 0::2] = torch.sin(position * frequency)
            table[:, 1::2] = torch.cos(position * frequency)
            self.register_buffer("table", table.unsqueeze(0))

        def forward(self, embedded):
            return embedded + self.table[:, :embedded.size(1)]

    class TokenEmbedding(nn.Module):
        def __init__(self, vocab_size: int, emb_size: int):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, emb_size)
            self.emb_size = emb_size

        def forward(self, tokens):
            return self.embedding(tokens.long()) * math.sqrt(self.emb_size)

    class Seq2SeqTransformer(nn.Module):
        def __init__(self, layers: int, emb_size: int, nhead: int, vocab_size: int,
                     dim_feedforward: int):
            super().__init__()
            self.transformer = nn.Transformer(
                d_model=emb_size, nhead=nhead, num_encoder_layers=layers,
                num_decoder_layers=layers, dim_feedforward=dim_feedforward, dropout=0.0,
                batch_first=True)
            self.generator = nn.Linear(emb_size, vocab_size)
            self.src_tok_emb = TokenEmbedding(vocab_size, emb_size)
            self.tgt_tok_emb = TokenEmbedding(vocab_size, emb_size)
            self.positional_encoding = PositionalEncoding(emb_size)

        def forward(self, src, tgt, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                    memory_key_padding_mask):
            src_emb = self.positional_encoding(self.src_tok_emb(src))
            tgt_emb = self.positional_encoding(self.tgt_tok_emb(tgt))
            outs = self.transformer(src_emb, tgt_emb, src_mask, tgt_mask, None,
                                    src_padding_mask, tgt_padding_mask,
                                    memory_key_padding_mask)
            return self.generator(outs)

        def encode(self, src, src_mask, src_padding_mask):
            return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)),
                                            src_mask, src_padding_mask)

        def decode(self, tgt, memory, tgt_mask, memory_key_padding_mask):
            return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)),
                                            memory, tgt_mask,
                                            memory_key_padding_mask=memory_key_padding_mask)

    model = Seq2SeqTransformer(2, d_model, 4, VOCAB, 64)
    for p in model.parameters():
        if p.dim() > 1:
            nn.init.xavier_uniform_(p)
    return model


def collate(torch, pairs):
    """Source and target token lists padded into two (N, longest) int64 tensors."""
    pad_sequence = torch.nn.utils.rnn.pad_sequence
    src = pad_sequence([torch.tensor(s) for s, _ in pairs], batch_first=True,
                       padding_value=PAD)
    tgt = pad_sequence([torch.tensor(t) for _, t in pairs], batch_first=True,
                       padding_value=PAD)
    return src, tgt


def greedy_decode(torch, model, src, max_len: int = MAX_LEN + 2):
    """Batched greedy decoding: every row extends by its most likely token until it emits
    EOS; finished rows are padded. Returns (N, <= max_len) token ids, BOS first."""
    nn = torch.nn
    with torch.no_grad():
        src_padding_mask = src == PAD
        src_mask = torch.zeros((src.shape[1], src.shape[1])).type(torch.bool)
        memory = model.encode(src, src_mask, src_padding_mask)
        ys = torch.full((src.shape[0], 1), BOS, dtype=torch.long)
        finished = torch.zeros(src.shape[0], dtype=torch.bool)
        for _ in range(max_len - 1):
            tgt_mask = nn.Transformer.generate_square_subsequent_mask(ys.size(1))
            out = model.decode(ys, memory, tgt_mask, src_padding_mask)
            prob = model.generator(out[:, -1])
            next_word = prob.argmax(dim=1).masked_fill(finished, PAD)
            ys = torch.cat([ys, next_word.unsqueeze(1)], dim=1)
            finished = finished | (next_word == EOS)
            if bool(finished.all()):
                break
    return ys


def beam_search(torch, model, src, max_len: int = MAX_LEN + 2, beam: int = 3):
    """Beam search for one source row (1, S): keeps the ``beam`` best prefixes by summed
    log-probability; a finished prefix only extends by PAD, at no cost. Returns the best
    prefix's token ids and its score."""
    nn = torch.nn
    with torch.no_grad():
        memory = model.encode(src, None, src == PAD).expand(beam, -1, -1)
        ys = torch.full((beam, 1), BOS, dtype=torch.long)
        scores = torch.zeros(beam)
        scores[1:] = float("-inf")  # the beams start equal: keep only the first
        not_pad = torch.arange(VOCAB) != PAD
        for _ in range(max_len - 1):
            tgt_mask = nn.Transformer.generate_square_subsequent_mask(ys.size(1))
            out = model.decode(ys, memory, tgt_mask, None)
            log_probs = torch.log_softmax(model.generator(out[:, -1]), dim=-1)
            done = ((ys[:, -1] == EOS) | (ys[:, -1] == PAD)).unsqueeze(1)
            # an open beam may not emit PAD; a finished one emits only PAD, for free
            log_probs = log_probs.masked_fill(~done & ~not_pad, float("-inf"))
            log_probs = log_probs.masked_fill(done & not_pad, float("-inf"))
            log_probs = log_probs.masked_fill(done & ~not_pad, 0.0)
            candidates = (scores.unsqueeze(1) + log_probs).view(-1)
            scores, flat = candidates.topk(beam)
            origin = torch.div(flat, VOCAB, rounding_mode="floor")
            token = flat % VOCAB
            ys = torch.cat([ys[origin], token.unsqueeze(1)], dim=1)
            if bool(((token == EOS) | (token == PAD)).all()):
                break
        best = scores.argmax()
    return ys[best], scores[best].item()


def strip(tokens) -> list:
    """The digits between BOS and the first EOS (or the end)."""
    out = []
    for t in tokens[1:]:
        if t in (EOS, PAD):
            break
        out.append(t)
    return out


def main(torch, steps: int = 160, batch_size: int = 64, lr: float = 6e-3, seed: int = 0,
         keep_model: bool = False) -> dict:
    """Train for ``steps`` batches; returns the first and last training losses (the last
    averaged over the final ten steps), the exact-match accuracies of greedy decoding (200
    held-out pairs) and of beam search (the first 20), and a few facts the test compares;
    with ``keep_model``, the trained model too (under ``"model"``)."""
    nn = torch.nn
    torch.manual_seed(seed)
    model = build_model(torch)
    loss_fn = nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=0.1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-9)
    warmup = 20
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                  lambda step: min(1.0, (step + 1) / warmup))

    def create_mask(src, tgt):
        src_seq_len, tgt_seq_len = src.shape[1], tgt.shape[1]
        tgt_mask = nn.Transformer.generate_square_subsequent_mask(tgt_seq_len)
        src_mask = torch.zeros((src_seq_len, src_seq_len)).type(torch.bool)
        return src_mask, tgt_mask, src == PAD, tgt == PAD

    train_pairs = digit_pairs(steps * batch_size, seed=1)
    losses = []
    model.train()
    for step in range(steps):
        src, tgt = collate(torch, train_pairs[step * batch_size:(step + 1) * batch_size])
        tgt_input, tgt_out = tgt[:, :-1], tgt[:, 1:]
        src_mask, tgt_mask, src_padding_mask, tgt_padding_mask = create_mask(src, tgt_input)
        logits = model(src, tgt_input, src_mask, tgt_mask, src_padding_mask, tgt_padding_mask,
                       src_padding_mask)
        optimizer.zero_grad()
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())

    model.eval()
    test_pairs = digit_pairs(200, seed=2)
    src, _ = collate(torch, test_pairs)
    decoded = greedy_decode(torch, model, src).tolist()
    greedy_hits = sum(strip(row) == list(reversed(s)) for row, (s, _) in zip(decoded, test_pairs))
    beam_hits = sum(strip(beam_search(torch, model, torch.tensor([s]))[0].tolist())
                    == list(reversed(s)) for s, _ in test_pairs[:20])
    result = {"initial_loss": losses[0], "final_loss": sum(losses[-10:]) / 10,
              "greedy_accuracy": greedy_hits / len(test_pairs), "beam_accuracy": beam_hits / 20,
              "buffers": [name for name, _ in model.named_buffers()],
              "n_params": sum(p.numel() for p in model.parameters()),
              "decoded_shape": tuple(greedy_decode(torch, model, src[:5]).shape),
              "training": model.training, "lr": scheduler.get_last_lr()[0]}
    if keep_model:
        result["model"] = model
    return result


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--steps", type=int, default=160)
    args = parser.parse_args()
    start = time.perf_counter()
    print(main(importlib.import_module(args.lib), args.steps))
    print(f"{time.perf_counter() - start:.1f} s")
