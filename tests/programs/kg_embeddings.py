"""Knowledge-graph embeddings, written the way public PyTorch KGE code writes them, on a
small synthetic knowledge graph built with NumPy.

The graph: ``CLUSTERS`` groups of ``POSITIONS`` entities laid out on rings. Relations are
``next`` (one step round the ring), ``prev`` (its inverse), ``next2`` (``next`` composed
with itself), ``cross`` (the same position in the next cluster) and ``partner`` (a symmetric
pairing of positions 0-1, 2-3, ...). A random share of the triples is held out for testing.

Two models:

* TransE: ``nn.Embedding`` tables, entity rows re-projected onto the unit sphere every step
  in place on ``.weight.data`` with ``F.normalize(p=2, dim=-1)``, distance
  ``torch.norm(h + r - t, p=1, dim=-1)``, ``nn.MarginRankingLoss`` between each true triple
  and one corrupted triple (head or tail swapped for a random entity), Adagrad.
* RotatE: entity embeddings holding real and imaginary halves (``torch.chunk(emb, 2,
  dim=-1)``), relations as phases ``rel / (emb_range / pi)`` turned into rotations with
  ``torch.cos``/``torch.sin`` (or, with ``complex_form=True``, ``torch.polar`` and
  ``torch.view_as_complex``), distance ``torch.stack([re, im], dim=0).norm(dim=0)`` summed
  over dimensions, and the self-adversarial negative sampling loss with ``F.logsigmoid`` and
  ``F.softmax(neg_score * alpha, dim=1).detach()`` weights, Adam.

Batches come from a ``DataLoader`` whose ``collate_fn`` stacks the triples and draws the
negatives with NumPy (seeded), so two runs with the same ``initial_state`` see the same
negatives whatever library runs them. Evaluation is filtered ranking of the held-out triples
against every entity, for tails and heads: other known true answers are masked to ``-inf``
(``scores[mask] = -inf`` for tails, ``torch.where`` for heads), ranks come from
``torch.argsort(scores, dim=1, descending=True)`` and ``(argsort == target).nonzero()``, and
the metrics are MRR and Hits@1/3/10.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math

import numpy as np

CLUSTERS = 6
POSITIONS = 8
RELATIONS = ("next", "prev", "next2", "cross", "partner")


def knowledge_graph(seed: int = 0, test_share: float = 0.12):
    """``(train, test, n_entities, n_relations)``: int64 arrays of (head, relation, tail)."""
    def entity(c, p):
        return (c % CLUSTERS) * POSITIONS + (p % POSITIONS)

    triples = []
    for c in range(CLUSTERS):
        for p in range(POSITIONS):
            h = entity(c, p)
            triples.append((h, 0, entity(c, p + 1)))
            triples.append((h, 1, entity(c, p - 1)))
            triples.append((h, 2, entity(c, p + 2)))
            triples.append((h, 3, entity(c + 1, p)))
            triples.append((h, 4, entity(c, p ^ 1)))
    triples = np.array(triples, dtype=np.int64)
    rng = np.random.default_rng(seed + 1000)
    order = rng.permutation(len(triples))
    n_test = int(round(test_share * len(triples)))
    return (triples[order[n_test:]], triples[order[:n_test]], CLUSTERS * POSITIONS,
            len(RELATIONS))


def make_collate(torch, rng, n_entities: int, negatives: int):
    """A ``collate_fn``: the batch's triples as a (B, 3) long tensor, plus ``negatives``
    random entities per triple (B, K) and a NumPy coin per triple (True: corrupt the head,
    else the tail), all drawn from the NumPy generator ``rng``."""
    def collate(batch):
        positive = torch.from_numpy(np.stack(batch).astype(np.int64))
        negative = torch.from_numpy(rng.integers(0, n_entities, size=(len(batch), negatives)))
        corrupt_head = torch.from_numpy(rng.random(len(batch)) < 0.5)
        return positive, negative, corrupt_head
    return collate


def build(torch):
    """The two model classes for ``torch``: ``(TransE, RotatE)``."""
    nn = torch.nn
    F = torch.nn.functional

    class TransE(nn.Module):
        def __init__(self, n_entities, n_relations, dim=16, p_norm=1):
            super().__init__()
            self.p_norm = p_norm
            self.ent = nn.Embedding(n_entities, dim)
            self.rel = nn.Embedding(n_relations, dim)
            bound = 6.0 / math.sqrt(dim)
            nn.init.uniform_(self.ent.weight, -bound, bound)
            nn.init.uniform_(self.rel.weight, -bound, bound)
            # relations are normalized once, as in the original paper
            self.rel.weight.data = F.normalize(self.rel.weight.data, p=2, dim=-1)

        def normalize_entities(self):
            self.ent.weight.data.copy_(F.normalize(self.ent.weight.data, p=2, dim=-1))

        def distance(self, h, r, t):
            return torch.norm(h + r - t, p=self.p_norm, dim=-1)

        def forward(self, triples):
            """Distances (smaller is truer) of (..., 3) index triples."""
            h = self.ent(triples[..., 0])
            r = self.rel(triples[..., 1])
            t = self.ent(triples[..., 2])
            return self.distance(h, r, t)

        def score_all(self, heads, rels, tails, predict_tail=True):
            """Scores (larger is truer) of every entity as the tail (or head) of each query."""
            all_e = self.ent.weight.unsqueeze(0)  # (1, E, D)
            r = self.rel(rels).unsqueeze(1)
            if predict_tail:
                return -self.distance(self.ent(heads).unsqueeze(1), r, all_e)
            return -self.distance(all_e, r, self.ent(tails).unsqueeze(1))

    class RotatE(nn.Module):
        def __init__(self, n_entities, n_relations, dim=16, gamma=6.0, epsilon=2.0,
                     complex_form=False):
            super().__init__()
            self.gamma = gamma
            self.complex_form = complex_form
            self.emb_range = (gamma + epsilon) / dim
            self.entity_embedding = nn.Parameter(torch.zeros(n_entities, 2 * dim))
            self.relation_embedding = nn.Parameter(torch.zeros(n_relations, dim))
            nn.init.uniform_(self.entity_embedding, -self.emb_range, self.emb_range)
            nn.init.uniform_(self.relation_embedding, -self.emb_range, self.emb_range)

        def distance(self, head, rel, tail):
            """Sum over dimensions of |h * e^{i phase} - t|, broadcasting h, r, t."""
            phase = rel / (self.emb_range / math.pi)
            if self.complex_form:
                re_h, im_h = torch.chunk(head, 2, dim=-1)
                re_t, im_t = torch.chunk(tail, 2, dim=-1)
                h = torch.view_as_complex(torch.stack([re_h, im_h], dim=-1).contiguous())
                t = torch.view_as_complex(torch.stack([re_t, im_t], dim=-1).contiguous())
                rotation = torch.polar(torch.ones_like(phase), phase)
                return (h * rotation - t).abs().sum(dim=-1)
            re_h, im_h = torch.chunk(head, 2, dim=-1)
            re_t, im_t = torch.chunk(tail, 2, dim=-1)
            re_r, im_r = torch.cos(phase), torch.sin(phase)
            re_s = re_h * re_r - im_h * im_r - re_t
            im_s = re_h * im_r + im_h * re_r - im_t
            return torch.stack([re_s, im_s], dim=0).norm(dim=0).sum(dim=-1)

        def forward(self, positive, negative=None, corrupt_head=None):
            """gamma - distance: (B, 1) for the true triples, or (B, K) for the negatives,
            which replace the head (where ``corrupt_head``) or the tail of each triple."""
            h = self.entity_embedding[positive[:, 0]].unsqueeze(1)
            r = self.relation_embedding[positive[:, 1]].unsqueeze(1)
            t = self.entity_embedding[positive[:, 2]].unsqueeze(1)
            if negative is None:
                return self.gamma - self.distance(h, r, t)
            neg = torch.index_select(self.entity_embedding, 0, negative.view(-1))
            neg = neg.view(negative.shape[0], negative.shape[1], -1)
            which = corrupt_head.view(-1, 1, 1)
            heads = torch.where(which, neg, h)
            tails = torch.where(which, t, neg)
            return self.gamma - self.distance(heads, r, tails)

        def score_all(self, heads, rels, tails, predict_tail=True):
            all_e = self.entity_embedding.unsqueeze(0)
            r = self.relation_embedding[rels].unsqueeze(1)
            if predict_tail:
                return self.gamma - self.distance(self.entity_embedding[heads].unsqueeze(1),
                                                  r, all_e)
            return self.gamma - self.distance(all_e, r,
                                              self.entity_embedding[tails].unsqueeze(1))

    return TransE, RotatE


def transe_loss(torch, model, criterion, positive, negative, corrupt_head):
    """Margin ranking between each true triple and one corrupted copy (the first negative
    replaces its head or its tail)."""
    corrupted = positive.clone()
    corrupted[:, 0] = torch.where(corrupt_head, negative[:, 0], positive[:, 0])
    corrupted[:, 2] = torch.where(corrupt_head, positive[:, 2], negative[:, 0])
    pos_dist = model(positive)
    neg_dist = model(corrupted)
    target = -torch.ones_like(pos_dist)  # -1: the first input (pos_dist) should be smaller
    return criterion(pos_dist, neg_dist, target)


def rotate_loss(torch, model, positive, negative, corrupt_head, alpha: float = 1.0):
    """Self-adversarial negative sampling loss of RotatE."""
    F = torch.nn.functional
    neg_score = model(positive, negative, corrupt_head)
    neg_score = (F.softmax(neg_score * alpha, dim=1).detach()
                 * F.logsigmoid(-neg_score)).sum(dim=1)
    pos_score = F.logsigmoid(model(positive)).squeeze(dim=1)
    return -(pos_score.mean() + neg_score.mean()) / 2


def filtered_ranks(torch, model, test, known: np.ndarray, n_entities: int):
    """Filtered ranks (1 is best) of the test triples' tails, then heads, as a long tensor.
    ``known`` holds every true triple (train and test)."""
    tails_of, heads_of = {}, {}
    for h, r, t in known.tolist():
        tails_of.setdefault((h, r), set()).add(t)
        heads_of.setdefault((r, t), set()).add(h)
    tail_mask = np.zeros((len(test), n_entities), dtype=bool)
    head_mask = np.zeros((len(test), n_entities), dtype=bool)
    for i, (h, r, t) in enumerate(test.tolist()):
        tail_mask[i, sorted(tails_of[(h, r)] - {t})] = True
        head_mask[i, sorted(heads_of[(r, t)] - {h})] = True
    test_t = torch.from_numpy(test)
    heads, rels, tails = test_t[:, 0], test_t[:, 1], test_t[:, 2]
    ranks = []
    with torch.no_grad():
        scores = model.score_all(heads, rels, tails, predict_tail=True)
        scores[torch.from_numpy(tail_mask)] = float("-inf")
        argsort = torch.argsort(scores, dim=1, descending=True)
        ranks.append((argsort == tails.unsqueeze(1)).nonzero()[:, 1] + 1)

        scores = model.score_all(heads, rels, tails, predict_tail=False)
        scores = torch.where(torch.from_numpy(head_mask),
                             torch.full_like(scores, float("-inf")), scores)
        argsort = torch.argsort(scores, dim=1, descending=True)
        ranks.append((argsort == heads.unsqueeze(1)).nonzero()[:, 1] + 1)
    return torch.cat(ranks)


def ranking_metrics(torch, ranks) -> dict:
    ranks = ranks.double()
    out = {"mrr": (1.0 / ranks).mean().item()}
    for k in (1, 3, 10):
        out[f"hits@{k}"] = (ranks <= k).double().mean().item()
    return out


def make_models(torch, dtype: str = "float32", initial_state=None, dim: int = 16,
                complex_form: bool = False, p_norm: int = 1):
    """``{"transe": ..., "rotate": ...}`` in ``dtype``, loading ``initial_state`` (a dict of
    two state_dicts) if given; TransE's distance is the L``p_norm`` norm."""
    TransE, RotatE = build(torch)
    _, _, n_ent, n_rel = knowledge_graph()
    real = getattr(torch, dtype)
    models = {"transe": TransE(n_ent, n_rel, dim, p_norm).to(real),
              "rotate": RotatE(n_ent, n_rel, dim, complex_form=complex_form).to(real)}
    if initial_state is not None:
        for name, model in models.items():
            model.load_state_dict(initial_state[name])
    return models


def loss_and_grads(torch, models, seed: int = 0, batch: int = 32, negatives: int = 8):
    """Both models' losses on one batch of the first training triples, with NumPy-drawn
    negatives, and every parameter's ``.grad`` after backward."""
    train, _, n_ent, _ = knowledge_graph(seed)
    collate = make_collate(torch, np.random.default_rng(seed), n_ent, negatives)
    positive, negative, corrupt_head = collate(list(train[:batch]))
    out = {}
    for name, model in models.items():
        model.zero_grad()
        if name == "transe":
            loss = transe_loss(torch, model, torch.nn.MarginRankingLoss(margin=1.0),
                               positive, negative, corrupt_head)
        else:
            loss = rotate_loss(torch, model, positive, negative, corrupt_head)
        loss.backward()
        out[name] = (loss.item(), {n: p.grad for n, p in model.named_parameters()})
    return out


def main(torch, epochs: int = 40, seed: int = 0, initial_state=None, dtype: str = "float32",
         batch: int = 32, negatives: int = 8, numpy_order: bool = False,
         complex_form: bool = False) -> dict:
    """Train TransE and RotatE for ``epochs`` epochs each; returns per model every step's
    loss, the mean of the first and last five, the filtered ranks (tails, then heads) of the
    held-out triples with their MRR and Hits@k, and the same before training. ``numpy_order``
    takes each epoch's triple order from NumPy instead of the DataLoader's shuffling (for
    identical batches across libraries)."""
    torch.manual_seed(seed)
    train, test, n_ent, _ = knowledge_graph(seed)
    known = np.concatenate([train, test])
    models = make_models(torch, dtype, initial_state, complex_form=complex_form)
    results = {}
    for name, model in models.items():
        rng = np.random.default_rng(seed)
        collate = make_collate(torch, rng, n_ent, negatives)
        before_ranks = filtered_ranks(torch, model, test, known, n_ent)
        before = {**ranking_metrics(torch, before_ranks), "ranks": before_ranks.tolist()}
        if name == "transe":
            optimizer = torch.optim.Adagrad(model.parameters(), lr=0.1)
            criterion = torch.nn.MarginRankingLoss(margin=1.0)
        else:
            optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
        generator = torch.Generator().manual_seed(seed)
        losses = []
        model.train()
        for _ in range(epochs):
            if numpy_order:
                data = list(train[rng.permutation(len(train))])
                loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=False,
                                                     collate_fn=collate)
            else:
                loader = torch.utils.data.DataLoader(list(train), batch_size=batch,
                                                     shuffle=True, generator=generator,
                                                     collate_fn=collate)
            for positive, negative, corrupt_head in loader:
                if name == "transe":
                    model.normalize_entities()
                    loss = transe_loss(torch, model, criterion, positive, negative,
                                       corrupt_head)
                else:
                    loss = rotate_loss(torch, model, positive, negative, corrupt_head)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        model.eval()
        if name == "transe":
            model.normalize_entities()
        ranks = filtered_ranks(torch, model, test, known, n_ent)
        results[name] = {"initial_loss": sum(losses[:5]) / 5,
                         "final_loss": sum(losses[-5:]) / 5, "losses": losses,
                         "before": before, "ranks": ranks.tolist(),
                         **ranking_metrics(torch, ranks)}
    return results


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    args = parser.parse_args()
    start = time.perf_counter()
    result = main(importlib.import_module(args.lib), args.epochs, dtype=args.dtype)
    for model_name, r in result.items():
        r["before"].pop("ranks")
        print(model_name, {k: v for k, v in r.items() if k not in ("losses", "ranks")})
    print(f"{time.perf_counter() - start:.2f}s")
