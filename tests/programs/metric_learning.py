"""A siamese embedding network trained for retrieval, as metric-learning repositories write it:
P-classes-by-K-samples batches drawn by hand (``randperm``, ``nonzero``), embeddings put on the
unit sphere by ``F.normalize``, batch-hard mining on a ``torch.cdist`` matrix (the hardest
positive by a masked ``max``, the hardest negative by ``topk(largest=False)`` over a
``masked_fill``-ed row), ``nn.TripletMarginLoss`` on the mined triplets plus a contrastive loss
written by hand on ``F.cosine_similarity`` of random pairs, ``clip_grad_norm_`` (its returned
norm logged), a ``MultiStepLR`` scheduler; then recall@1 on held-out classes with the diagonal
filled by ``fill_diagonal_``, and ``F.triplet_margin_with_distance_loss`` with a cosine
distance as a check. The data: noisy points around class prototypes seen through a fixed
nonlinear map.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np


def _points(n_classes: int, per_class: int, seed: int):
    """Points of ``n_classes`` classes in 16-D: a prototype each seen through a fixed random
    tanh layer (8 informative features), then 8 features of pure noise the embedding must
    learn to ignore."""
    rng = np.random.default_rng(seed)
    prototypes = rng.normal(0.0, 1.0, (n_classes, 6))
    labels = np.repeat(np.arange(n_classes), per_class)
    latent = prototypes[labels] + rng.normal(0.0, 0.3, (labels.size, 6))
    mix = np.random.default_rng(1234).normal(0.0, 0.8, (6, 8))
    noise = rng.normal(0.0, 0.8, (labels.size, 8))
    x = np.concatenate([np.tanh(latent @ mix), noise], axis=1)
    return x.astype(np.float32), labels.astype(np.int64)


def main(torch, steps: int = 120, seed: int = 0) -> dict:
    """Train for ``steps`` batches; returns the loss curve's ends, recall@1 before and after
    training on classes never trained on, and a few sanity numbers."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(seed)
    # Train on classes 0..7, evaluate retrieval on classes 8..11 (never seen in training).
    x_np, y_np = _points(12, 40, seed)
    train = y_np < 8
    x_train, y_train = torch.from_numpy(x_np[train]), torch.from_numpy(y_np[train])
    x_test, y_test = torch.from_numpy(x_np[~train]), torch.from_numpy(y_np[~train])

    class EmbeddingNet(nn.Module):
        def __init__(self, in_dim=16, hidden=48, out_dim=8):
            super().__init__()
            self.body = nn.Sequential(
                nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
                nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            )
            self.head = nn.Linear(hidden, out_dim)

        def forward(self, x):
            return F.normalize(self.head(self.body(x)), p=2, dim=1)

    def sample_pk_batch(labels, P=4, K=6):
        """P classes, K samples each: the usual batch for batch-hard mining."""
        classes = torch.unique(labels)
        chosen = classes[torch.randperm(len(classes))[:P]]
        index = []
        for c in chosen:
            members = (labels == c).nonzero(as_tuple=True)[0]
            index.append(members[torch.randperm(members.numel())[:K]])
        return torch.cat(index)

    def batch_hard(embeddings, labels):
        dist = torch.cdist(embeddings, embeddings, p=2)
        same = labels.unsqueeze(0) == labels.unsqueeze(1)
        eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
        positive_mask = same & ~eye
        hardest_pos = (dist * positive_mask.float()).max(dim=1).indices
        neg_dist = dist.masked_fill(same, float("inf"))
        hardest_neg = neg_dist.topk(1, dim=1, largest=False).indices.squeeze(1)
        return hardest_pos, hardest_neg, dist

    def contrastive(a, b, same, margin=0.5):
        """Pulls same-class pairs together, pushes others apart past ``margin`` in cosine
        distance (Hadsell et al. style, written on cosine similarity)."""
        d = 1 - F.cosine_similarity(a, b, dim=1, eps=1e-8)
        return torch.where(same, d.pow(2), F.relu(margin - d).pow(2)).mean()

    def recall_at_1(model, x, y):
        model.eval()
        with torch.no_grad():
            emb = model(x)
            dist = torch.cdist(emb, emb)
            dist.fill_diagonal_(float("inf"))
            nearest = dist.argmin(dim=1)
        model.train()
        return (y[nearest] == y).float().mean().item()

    model = EmbeddingNet()
    triplet = nn.TripletMarginLoss(margin=0.3, p=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[60, 100], gamma=0.3)
    recall_before = recall_at_1(model, x_test, y_test)

    losses, norms, active = [], [], []
    for _ in range(steps):
        idx = sample_pk_batch(y_train)
        xb, yb = x_train[idx], y_train[idx]
        emb = model(xb)
        pos, neg, dist = batch_hard(emb.detach(), yb)
        loss_t = triplet(emb, emb[pos], emb[neg])
        pairs = torch.randint(0, len(idx), (2, 32))
        loss_c = contrastive(emb[pairs[0]], emb[pairs[1]], yb[pairs[0]] == yb[pairs[1]])
        loss = loss_t + 0.5 * loss_c
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=2.0)
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        norms.append(float(total_norm))
        # how many mined triplets still violate the margin
        gap = dist.gather(1, pos[:, None]) - dist.gather(1, neg[:, None]) + 0.3
        active.append((gap > 0).sum().item() / len(idx))

    recall_after = recall_at_1(model, x_test, y_test)
    model.eval()
    with torch.no_grad():
        emb = model(x_test)
        # the same triplets through the functional API with a cosine distance
        a, p, n = emb[0:20:2], emb[1:20:2], emb[-10:]
        cosine_trip = F.triplet_margin_with_distance_loss(
            a, p, n, distance_function=lambda u, v: 1.0 - F.cosine_similarity(u, v),
            margin=0.2)
        by_hand = F.relu(F.cosine_similarity(a, n) - F.cosine_similarity(a, p) + 0.2).mean()
        pdist = nn.PairwiseDistance(p=2)(a, p)
        direct = (a - p).norm(dim=1)
    return {
        "initial_loss": float(np.mean(losses[:5])),
        "final_loss": float(np.mean(losses[-10:])),
        "recall_before": recall_before,
        "recall_after": recall_after,
        "unit_norm": float((emb.norm(dim=1) - 1).abs().max()),
        "grad_norm_first": norms[0],
        "finite_norms": bool(np.all(np.isfinite(norms))),
        "active_first": float(np.mean(active[:5])),
        "active_last": float(np.mean(active[-10:])),
        "cosine_triplet_gap": abs(cosine_trip.item() - by_hand.item()),
        "pairwise_gap": float((pdist - direct).abs().max()),
        "lr_end": optimizer.param_groups[0]["lr"],
    }


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
