"""A bidirectional LSTM with a CRF on top, tagging named entities (B/I/O), written the way the
PyTorch tutorial on dynamic decisions writes it: one sentence at a time, the CRF's forward
algorithm and Viterbi decoding as Python loops over the tags with a hand-written
``log_sum_exp`` and ``argmax`` (``.item()``), the transition scores as an ``nn.Parameter`` edited
through ``.data``, and plain SGD with weight decay. Thousands of tiny ops per training step.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

START_TAG, STOP_TAG = "<START>", "<STOP>"

TRAINING_DATA = [
    ("anna moved from paris to the city of new york last spring".split(),
     "B O O B O O O O B I O O".split()),
    ("the ship left old harbour with peter and maria on board".split(),
     "O O O B I O B O B O O".split()),
    ("georgia tech is far from cape town".split(), "B I O O O B I".split()),
    ("peter wrote to anna from the lake".split(), "B O O B O O O".split()),
]


def build(torch, embedding_dim: int = 8, hidden_dim: int = 8):
    """The model class, the vocabularies and ``prepare_sequence``, for ``torch``."""
    nn = torch.nn
    word_to_ix = {}
    for sentence, _ in TRAINING_DATA:
        for word in sentence:
            word_to_ix.setdefault(word, len(word_to_ix))
    tag_to_ix = {"B": 0, "I": 1, "O": 2, START_TAG: 3, STOP_TAG: 4}

    def argmax(vec):
        _, idx = torch.max(vec, 1)
        return idx.item()

    def prepare_sequence(seq, to_ix):
        return torch.tensor([to_ix[w] for w in seq], dtype=torch.long)

    def log_sum_exp(vec):
        """log(sum(exp(vec))) of a (1, n) row, shifted by its max for stability."""
        max_score = vec[0, argmax(vec)]
        max_score_broadcast = max_score.view(1, -1).expand(1, vec.size()[1])
        return max_score + torch.log(torch.sum(torch.exp(vec - max_score_broadcast)))

    class BiLSTMCRF(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden_dim = hidden_dim
            self.tagset_size = len(tag_to_ix)
            self.word_embeds = nn.Embedding(len(word_to_ix), embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim // 2, num_layers=1,
                                bidirectional=True)
            self.hidden2tag = nn.Linear(hidden_dim, self.tagset_size)
            # transitions[i, j]: the score of moving from tag j to tag i.
            self.transitions = nn.Parameter(torch.randn(self.tagset_size, self.tagset_size))
            self.transitions.data[tag_to_ix[START_TAG], :] = -10000
            self.transitions.data[:, tag_to_ix[STOP_TAG]] = -10000
            self.hidden = self.init_hidden()

        def init_hidden(self):
            return (torch.randn(2, 1, self.hidden_dim // 2),
                    torch.randn(2, 1, self.hidden_dim // 2))

        def _forward_alg(self, feats):
            init_alphas = torch.full((1, self.tagset_size), -10000.0)
            init_alphas[0][tag_to_ix[START_TAG]] = 0.0
            forward_var = init_alphas
            for feat in feats:
                alphas_t = []
                for next_tag in range(self.tagset_size):
                    emit_score = feat[next_tag].view(1, -1).expand(1, self.tagset_size)
                    trans_score = self.transitions[next_tag].view(1, -1)
                    next_tag_var = forward_var + trans_score + emit_score
                    alphas_t.append(log_sum_exp(next_tag_var).view(1))
                forward_var = torch.cat(alphas_t).view(1, -1)
            terminal_var = forward_var + self.transitions[tag_to_ix[STOP_TAG]]
            return log_sum_exp(terminal_var)

        def _get_lstm_features(self, sentence):
            self.hidden = self.init_hidden()
            embeds = self.word_embeds(sentence).view(len(sentence), 1, -1)
            lstm_out, self.hidden = self.lstm(embeds, self.hidden)
            lstm_out = lstm_out.view(len(sentence), self.hidden_dim)
            return self.hidden2tag(lstm_out)

        def _score_sentence(self, feats, tags):
            score = torch.zeros(1)
            tags = torch.cat([torch.tensor([tag_to_ix[START_TAG]], dtype=torch.long), tags])
            for i, feat in enumerate(feats):
                score = score + self.transitions[tags[i + 1], tags[i]] + feat[tags[i + 1]]
            return score + self.transitions[tag_to_ix[STOP_TAG], tags[-1]]

        def _viterbi_decode(self, feats):
            backpointers = []
            init_vvars = torch.full((1, self.tagset_size), -10000.0)
            init_vvars[0][tag_to_ix[START_TAG]] = 0
            forward_var = init_vvars
            for feat in feats:
                bptrs_t, viterbivars_t = [], []
                for next_tag in range(self.tagset_size):
                    next_tag_var = forward_var + self.transitions[next_tag]
                    best_tag_id = argmax(next_tag_var)
                    bptrs_t.append(best_tag_id)
                    viterbivars_t.append(next_tag_var[0][best_tag_id].view(1))
                forward_var = (torch.cat(viterbivars_t) + feat).view(1, -1)
                backpointers.append(bptrs_t)
            terminal_var = forward_var + self.transitions[tag_to_ix[STOP_TAG]]
            best_tag_id = argmax(terminal_var)
            path_score = terminal_var[0][best_tag_id]
            best_path = [best_tag_id]
            for bptrs_t in reversed(backpointers):
                best_tag_id = bptrs_t[best_tag_id]
                best_path.append(best_tag_id)
            start = best_path.pop()
            assert start == tag_to_ix[START_TAG]
            best_path.reverse()
            return path_score, best_path

        def neg_log_likelihood(self, sentence, tags):
            feats = self._get_lstm_features(sentence)
            return self._forward_alg(feats) - self._score_sentence(feats, tags)

        def forward(self, sentence):
            return self._viterbi_decode(self._get_lstm_features(sentence))

    return BiLSTMCRF, word_to_ix, tag_to_ix, prepare_sequence


def main(torch, epochs: int = 30, seed: int = 0) -> dict:
    """Train for ``epochs`` passes over the sentences; returns the mean loss of the first and
    the last pass and the share of tags Viterbi decoding gets right after training."""
    torch.manual_seed(seed)
    BiLSTMCRF, word_to_ix, tag_to_ix, prepare_sequence = build(torch)
    model = BiLSTMCRF()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, weight_decay=1e-4)
    epoch_losses = []
    for _ in range(epochs):
        total = 0.0
        for sentence, tags in TRAINING_DATA:
            model.zero_grad()
            sentence_in = prepare_sequence(sentence, word_to_ix)
            targets = torch.tensor([tag_to_ix[t] for t in tags], dtype=torch.long)
            loss = model.neg_log_likelihood(sentence_in, targets)
            loss.backward()
            optimizer.step()
            total += loss.item()
        epoch_losses.append(total / len(TRAINING_DATA))
    right = count = 0
    with torch.no_grad():
        for sentence, tags in TRAINING_DATA:
            _, path = model(prepare_sequence(sentence, word_to_ix))
            right += sum(p == tag_to_ix[t] for p, t in zip(path, tags))
            count += len(tags)
    return {"initial_loss": epoch_losses[0], "final_loss": epoch_losses[-1],
            "accuracy": right / count}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib), args.epochs))
