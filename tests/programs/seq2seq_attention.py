"""A sequence-to-sequence model with additive attention, in the style of the translation
tutorials: a GRU encoder, a decoder that attends over the encoder's outputs (``bmm`` of softmax
weights), teacher forcing during training and ``topk`` greedy decoding after, ``NLLLoss`` over
``log_softmax``, SOS/EOS tokens, and the trained model saved with ``torch.save`` and loaded into
fresh modules. The task: reverse a short sequence of letters.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import io
import random


def pairs():
    """Sixty (source, target) pairs: 2 to 5 letters and the same letters reversed."""
    words = "a b c d e f g h".split()
    rng = random.Random(0)
    out = []
    for _ in range(60):
        n = rng.randint(2, 5)
        src = [rng.choice(words) for _ in range(n)]
        out.append((src, list(reversed(src))))
    return out


def main(torch, epochs: int = 8, seed: int = 0) -> dict:
    """Train for ``epochs``; returns the first and last epoch's mean loss and the share of
    target positions (padding included) that greedy decoding of the reloaded model gets
    right."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(seed)
    random.seed(seed)
    SOS, EOS, MAX = 0, 1, 7
    vocab = {w: i + 2 for i, w in enumerate("a b c d e f g h".split())}
    device = torch.device("cpu")

    class Encoder(nn.Module):
        def __init__(self, n, hidden):
            super().__init__()
            self.embedding = nn.Embedding(n, hidden)
            self.gru = nn.GRU(hidden, hidden, batch_first=True)
            self.dropout = nn.Dropout(0.1)

        def forward(self, x):
            embedded = self.dropout(self.embedding(x))
            return self.gru(embedded)

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden):
            super().__init__()
            self.Wa = nn.Linear(hidden, hidden)
            self.Ua = nn.Linear(hidden, hidden)
            self.Va = nn.Linear(hidden, 1)

        def forward(self, query, keys):
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            context = torch.bmm(weights, keys)
            return context, weights

    class Decoder(nn.Module):
        def __init__(self, hidden, n):
            super().__init__()
            self.embedding = nn.Embedding(n, hidden)
            self.attention = BahdanauAttention(hidden)
            self.gru = nn.GRU(2 * hidden, hidden, batch_first=True)
            self.out = nn.Linear(hidden, n)
            self.dropout = nn.Dropout(0.1)

        def forward(self, encoder_outputs, encoder_hidden, target=None):
            batch_size = encoder_outputs.size(0)
            decoder_input = torch.empty(batch_size, 1, dtype=torch.long,
                                        device=device).fill_(SOS)
            decoder_hidden = encoder_hidden
            outputs, attentions = [], []
            for i in range(MAX):
                embedded = self.dropout(self.embedding(decoder_input))
                query = decoder_hidden.permute(1, 0, 2)
                context, attn = self.attention(query, encoder_outputs)
                out, decoder_hidden = self.gru(torch.cat((embedded, context), dim=2),
                                               decoder_hidden)
                out = self.out(out)
                outputs.append(out)
                attentions.append(attn)
                if target is not None:
                    decoder_input = target[:, i].unsqueeze(1)
                else:
                    _, topi = out.topk(1)
                    decoder_input = topi.squeeze(-1).detach()
            outputs = torch.cat(outputs, dim=1)
            return F.log_softmax(outputs, dim=-1), decoder_hidden, torch.cat(attentions, dim=1)

    data = pairs()
    n = len(vocab) + 2
    X = torch.zeros((len(data), MAX), dtype=torch.long)
    Y = torch.zeros((len(data), MAX), dtype=torch.long)
    for k, (s, t) in enumerate(data):
        X[k, :len(s) + 1] = torch.tensor([vocab[w] for w in s] + [EOS])
        Y[k, :len(t) + 1] = torch.tensor([vocab[w] for w in t] + [EOS])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, Y), batch_size=12,
                                         sampler=torch.utils.data.RandomSampler(
                                             torch.utils.data.TensorDataset(X, Y)))
    enc, dec = Encoder(n, 24).to(device), Decoder(24, n).to(device)
    eo = torch.optim.Adam(enc.parameters(), lr=0.01)
    do = torch.optim.Adam(dec.parameters(), lr=0.01)
    crit = nn.NLLLoss()
    losses = []
    for _ in range(epochs):
        total = 0
        for x, y in loader:
            eo.zero_grad()
            do.zero_grad()
            eout, ehid = enc(x)
            dout, _, _ = dec(eout, ehid, y)
            loss = crit(dout.view(-1, dout.size(-1)), y.view(-1))
            loss.backward()
            eo.step()
            do.step()
            total += loss.item()
        losses.append(total / len(loader))
    buf = io.BytesIO()
    torch.save({"enc": enc.state_dict(), "dec": dec.state_dict()}, buf)
    buf.seek(0)
    state = torch.load(buf)
    enc2, dec2 = Encoder(n, 24), Decoder(24, n)
    enc2.load_state_dict(state["enc"])
    dec2.load_state_dict(state["dec"])
    enc2.eval()
    dec2.eval()
    with torch.no_grad():
        eout, ehid = enc2(X)
        dout, _, attn = dec2(eout, ehid)
        _, ids = dout.topk(1)
        acc = (ids.squeeze(-1) == Y).float().mean().item()
    return {"initial_loss": losses[0], "final_loss": losses[-1], "accuracy": acc,
            "attn_shape": tuple(attn.shape)}


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
