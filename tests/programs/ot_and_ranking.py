"""Two small programs in the style of public PyTorch code: entropic optimal transport (a
Sinkhorn solver and a point-cloud flow) and learning to rank (ListNet + RankNet, NDCG@k).

Optimal transport idioms: a squared-Euclidean cost ``torch.cdist(x, y, p=2) ** 2``; uniform
marginals ``torch.full((n,), 1.0 / n)`` and their ``.log()``; log-domain Sinkhorn updates of
the dual potentials by ``torch.logsumexp(..., dim=-1, keepdim=True)`` (and ``dim=-2``), stopped
when ``torch.max(torch.abs(f - f_prev)).item()`` falls under a tolerance; the plan
``torch.exp(log_a + log_b + (f + g - C) / eps)`` checked against the marginals by
``torch.testing.assert_close``; the debiased Sinkhorn divergence
``OT(x, y) - OT(x, x) / 2 - OT(y, y) / 2``; its gradient with respect to the points by
``.backward()`` through the unrolled iterations, and by the envelope theorem (potentials from
``torch.no_grad()`` iterations, ``.detach()``-ed, one differentiable dual evaluation); a point
cloud held in an ``nn.Parameter`` flowed toward a target cloud by ``torch.optim.SGD``; and the
same solver run on a batch of problems by broadcasting over a leading dim, with the
barycentric map ``torch.bmm(plan, y) / a``.

Learning-to-rank idioms: padded lists of documents with a boolean ``mask`` built from
``torch.arange(L)[None, :] < lengths[:, None]``; an MLP scorer (``nn.Sequential``) applied to
``(queries, L, features)`` and ``.squeeze(-1)``-ed; the ListNet loss, a cross-entropy between
``F.softmax(true_rel, dim=1)`` and ``F.log_softmax(scores, dim=1)`` over lists padded by
``masked_fill(~mask, float('-inf'))``; the RankNet pairwise loss on
``scores[:, :, None] - scores[:, None, :]`` by ``F.binary_cross_entropy_with_logits`` with a
``weight=`` mask of valid pairs (both documents real, different grades, upper triangle by
``torch.triu``) and ``.clamp_min(1)`` on the pair count; NDCG@k from
``torch.sort(scores, descending=True, dim=1)``, ``torch.gather`` of the grades, the ideal DCG
from ``torch.topk``, discounts from ``torch.arange(1, k + 1).float()`` and ``.log2()``,
``torch.where`` for lists without relevant documents; the reciprocal rank of the best
document by a double ``torch.argsort``; ``torch.optim.AdamW`` with ``weight_decay`` and
``ReduceLROnPlateau(mode='max')`` stepped on the validation NDCG.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------------------------
# Entropic optimal transport
# ---------------------------------------------------------------------------------------------


def cost_matrix(torch, x, y):
    """Squared Euclidean distances, (..., n, m)."""
    return torch.cdist(x, y, p=2) ** 2


def uniform(torch, n: int, like):
    """The uniform marginal on ``n`` points, in ``like``'s dtype and device."""
    return torch.full((n,), 1.0 / n, dtype=like.dtype, device=like.device)


def sinkhorn_potentials(torch, C, a, b, eps: float, max_iter: int = 500, tol: float = 1e-6):
    """Log-domain Sinkhorn: dual potentials ``f`` (..., n, 1) and ``g`` (..., 1, m) and the
    number of iterations run. ``C`` may carry leading batch dims; ``a`` and ``b`` broadcast."""
    log_a = a.log().unsqueeze(-1)
    log_b = b.log().unsqueeze(-2)
    f = torch.zeros_like(log_a)
    g = torch.zeros_like(log_b)
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        f_prev = f
        f = -eps * torch.logsumexp(log_b + (g - C) / eps, dim=-1, keepdim=True)
        g = -eps * torch.logsumexp(log_a + (f - C) / eps, dim=-2, keepdim=True)
        if torch.max(torch.abs(f - f_prev)).item() < tol:
            break
    return f, g, n_iter


def transport_plan(torch, f, g, C, a, b, eps: float):
    """The primal plan recovered from the potentials."""
    return torch.exp(a.log().unsqueeze(-1) + b.log().unsqueeze(-2) + (f + g - C) / eps)


def entropic_ot(torch, x, y, eps: float = 0.1, max_iter: int = 500, tol: float = 1e-6,
                envelope: bool = False):
    """Entropic OT between uniform clouds ``x`` (..., n, d) and ``y`` (..., m, d): the dual value
    <a, f> + <b, g>, the plan, and the iteration count.

    ``envelope=False`` differentiates through every Sinkhorn iteration; ``envelope=True`` runs
    them without a graph and differentiates the dual objective at the fixed (detached)
    potentials, whose gradient with respect to ``C`` is the plan."""
    a = uniform(torch, x.shape[-2], x)
    b = uniform(torch, y.shape[-2], y)
    C = cost_matrix(torch, x, y)
    if envelope:
        with torch.no_grad():
            f, g, n_iter = sinkhorn_potentials(torch, C, a, b, eps, max_iter, tol)
        f, g = f.detach(), g.detach()
        plan = transport_plan(torch, f, g, C, a, b, eps)
        value = ((a.unsqueeze(-1) * f).sum(dim=(-2, -1)) + (b.unsqueeze(-2) * g).sum(dim=(-2, -1))
                 - eps * (plan.sum(dim=(-2, -1)) - 1.0))
    else:
        f, g, n_iter = sinkhorn_potentials(torch, C, a, b, eps, max_iter, tol)
        plan = transport_plan(torch, f, g, C, a, b, eps)
        value = (a.unsqueeze(-1) * f).sum(dim=(-2, -1)) + (b.unsqueeze(-2) * g).sum(dim=(-2, -1))
    return value, plan, n_iter


def sinkhorn_divergence(torch, x, y, eps: float = 0.1, **kwargs):
    """The debiased divergence S(x, y) = OT(x, y) - OT(x, x) / 2 - OT(y, y) / 2."""
    ot_xy = entropic_ot(torch, x, y, eps, **kwargs)[0]
    ot_xx = entropic_ot(torch, x, x, eps, **kwargs)[0]
    ot_yy = entropic_ot(torch, y, y, eps, **kwargs)[0]
    return ot_xy - 0.5 * ot_xx - 0.5 * ot_yy


def ot_part(torch, n: int = 24, flow_steps: int = 20, batch: int = 3, eps: float = 0.1) -> dict:
    """The marginals of a plan, gradients both ways, a flow by SGD, and a batched solve."""
    nn = torch.nn
    x0 = 0.5 * torch.randn(n, 2)
    y = 0.5 * torch.randn(n + 4, 2) + torch.tensor([2.0, 1.0])

    # one solve: the plan's marginals are the uniform weights
    value, plan, n_iter = entropic_ot(torch, x0, y, eps, tol=1e-5)
    a, b = uniform(torch, n, x0), uniform(torch, n + 4, y)
    torch.testing.assert_close(plan.sum(dim=1), a, atol=1e-4, rtol=0)
    torch.testing.assert_close(plan.sum(dim=0), b, atol=1e-4, rtol=0)
    row_err = torch.max(torch.abs(plan.sum(dim=1) - a)).item()
    col_err = torch.max(torch.abs(plan.sum(dim=0) - b)).item()
    self_div = sinkhorn_divergence(torch, x0, x0.clone(), eps, tol=1e-5).item()

    # gradient through the unrolled loop vs the envelope theorem
    x = x0.clone().requires_grad_(True)
    sinkhorn_divergence(torch, x, y, eps, tol=1e-6).backward()
    grad_unrolled = x.grad.clone()
    x.grad = None
    sinkhorn_divergence(torch, x, y, eps, tol=1e-6, envelope=True).backward()
    grad_envelope = x.grad.clone()
    grad_gap = (torch.linalg.norm(grad_unrolled - grad_envelope)
                / torch.linalg.norm(grad_unrolled)).item()

    # flow the cloud toward the target; each point's gradient carries its weight 1/n
    points = nn.Parameter(x0.clone())
    optimizer = torch.optim.SGD([points], lr=0.25 * n)
    history = []
    for _ in range(flow_steps):
        optimizer.zero_grad()
        loss = sinkhorn_divergence(torch, points, y, eps, tol=1e-4, envelope=True)
        loss.backward()
        optimizer.step()
        history.append(loss.item())
    with torch.no_grad():
        final = sinkhorn_divergence(torch, points, y, eps, tol=1e-4).item()
        centroid_gap = torch.linalg.norm(points.mean(dim=0) - y.mean(dim=0)).item()

    # a batch of problems, solved at once and one by one
    xs = torch.randn(batch, n, 2)
    ys = torch.randn(batch, n, 2) + 1.0
    values, plans, _ = entropic_ot(torch, xs, ys, eps, tol=1e-6)
    mapped = torch.bmm(plans, ys) / uniform(torch, n, xs)[None, :, None]
    loop = torch.stack([entropic_ot(torch, xs[i], ys[i], eps, tol=1e-6)[0]
                        for i in range(batch)])
    return {"value": value.item(), "n_iter": n_iter, "row_err": row_err, "col_err": col_err,
            "self_divergence": self_div, "grad_gap": grad_gap,
            "grad_norm": torch.linalg.norm(grad_unrolled).item(),
            "flow_history": history, "flow_final": final, "centroid_gap": centroid_gap,
            "batch_values_shape": tuple(values.shape), "mapped_shape": tuple(mapped.shape),
            "batch_vs_loop": torch.max(torch.abs(values - loop)).item()}


# ---------------------------------------------------------------------------------------------
# Learning to rank
# ---------------------------------------------------------------------------------------------


def ranking_data(n_queries: int, list_len: int, n_features: int, seed: int):
    """Padded lists as NumPy arrays: features, graded relevance 0..4 (a noisy linear function of
    the features), and the list lengths. Padded slots hold zeros."""
    rng = np.random.default_rng(seed)
    w = np.random.default_rng(99).normal(0.0, 1.0, n_features)
    x = rng.normal(0.0, 1.0, (n_queries, list_len, n_features))
    latent = x @ w / np.sqrt(n_features) + 0.3 * rng.normal(0.0, 1.0, (n_queries, list_len))
    rel = np.clip(np.floor(2.0 * latent + 2.0), 0, 4)
    lengths = rng.integers(list_len // 2, list_len + 1, n_queries)
    pad = np.arange(list_len)[None, :] >= lengths[:, None]
    x[pad] = 0.0
    rel[pad] = 0.0
    return x, rel, lengths


def build_scorer(torch, n_features: int = 8, hidden: int = 32):
    """An MLP document -> score. The last layer has no bias: both losses and the metrics are
    invariant to shifting every score of a list, so its gradient would be zero."""
    nn = torch.nn
    return nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, 1, bias=False))


def padding_mask(torch, lengths, list_len: int):
    return torch.arange(list_len, device=lengths.device)[None, :] < lengths[:, None]


def listnet_loss(torch, scores, rel, mask):
    """Top-one ListNet: cross-entropy between the softmax of the grades and of the scores."""
    F = torch.nn.functional
    target = F.softmax(rel.masked_fill(~mask, float("-inf")), dim=1)
    log_probs = F.log_softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
    return -(target * log_probs.masked_fill(~mask, 0.0)).sum(dim=1).mean()


def ranknet_loss(torch, scores, rel, mask):
    """RankNet: logistic loss on every score difference of a pair with different grades."""
    F = torch.nn.functional
    L = scores.shape[1]
    diff = scores[:, :, None] - scores[:, None, :]
    target = (rel[:, :, None] > rel[:, None, :]).to(scores.dtype)
    upper = torch.triu(torch.ones(L, L, dtype=torch.bool, device=scores.device), diagonal=1)
    valid = mask[:, :, None] & mask[:, None, :] & (rel[:, :, None] != rel[:, None, :]) & upper
    weight = valid.to(scores.dtype)
    loss = F.binary_cross_entropy_with_logits(diff, target, weight=weight, reduction="sum")
    return loss / weight.sum().clamp_min(1.0)


def ndcg_at_k(torch, scores, rel, mask, k: int = 5):
    """Mean NDCG@k (gain 2^rel - 1, discount log2(rank + 1)) over the lists."""
    scores = scores.masked_fill(~mask, float("-inf"))
    rel = rel.masked_fill(~mask, 0.0)
    _, order = torch.sort(scores, descending=True, dim=1)
    ranked = torch.gather(rel, 1, order)[:, :k]
    discounts = (torch.arange(1, k + 1).float() + 1).log2().to(rel.device)
    dcg = ((2.0 ** ranked - 1) / discounts).sum(dim=1)
    ideal, _ = torch.topk(rel, k, dim=1)
    idcg = ((2.0 ** ideal - 1) / discounts).sum(dim=1)
    ndcg = torch.where(idcg > 0, dcg / idcg.clamp_min(1e-10), torch.zeros_like(dcg))
    return ndcg.mean()


def reciprocal_rank_of_best(torch, scores, rel, mask):
    """Mean 1 / (1 + position) of each list's most relevant document under the scores."""
    scores = scores.masked_fill(~mask, float("-inf"))
    position = torch.argsort(torch.argsort(scores, dim=1, descending=True), dim=1)
    best = torch.argmax(rel.masked_fill(~mask, -1.0), dim=1, keepdim=True)
    return (1.0 / (1.0 + torch.gather(position, 1, best).float())).mean()


def ranking_part(torch, epochs: int = 25, batch_size: int = 16, list_len: int = 12,
                 n_features: int = 8, seed: int = 0) -> dict:
    """Train the scorer on ListNet + RankNet; evaluate NDCG@5 on held-out queries each epoch."""
    x_np, rel_np, len_np = ranking_data(96, list_len, n_features, seed)
    x = torch.from_numpy(x_np).float()
    rel = torch.from_numpy(rel_np).float()
    mask = padding_mask(torch, torch.from_numpy(len_np), list_len)
    x_train, rel_train, mask_train = x[:64], rel[:64], mask[:64]
    x_val, rel_val, mask_val = x[64:], rel[64:], mask[64:]

    model = build_scorer(torch, n_features)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5,
                                                           patience=2)

    def evaluate():
        model.eval()
        with torch.no_grad():
            scores = model(x_val).squeeze(-1)
            ndcg = ndcg_at_k(torch, scores, rel_val, mask_val, k=5).item()
            mrr = reciprocal_rank_of_best(torch, scores, rel_val, mask_val).item()
        model.train()
        return ndcg, mrr

    initial_ndcg, initial_mrr = evaluate()
    losses, val_ndcg, lrs = [], [], []
    for _ in range(epochs):
        perm = torch.randperm(x_train.shape[0])
        epoch_loss = 0.0
        for start in range(0, x_train.shape[0], batch_size):
            idx = perm[start:start + batch_size]
            scores = model(x_train[idx]).squeeze(-1)
            loss = (listnet_loss(torch, scores, rel_train[idx], mask_train[idx])
                    + 0.5 * ranknet_loss(torch, scores, rel_train[idx], mask_train[idx]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item()
        losses.append(epoch_loss / (x_train.shape[0] // batch_size))
        ndcg, _ = evaluate()
        val_ndcg.append(ndcg)
        scheduler.step(ndcg)
        lrs.append(optimizer.param_groups[0]["lr"])
    final_ndcg, final_mrr = evaluate()
    return {"initial_loss": losses[0], "final_loss": losses[-1], "initial_ndcg": initial_ndcg,
            "final_ndcg": final_ndcg, "best_ndcg": max(val_ndcg), "initial_mrr": initial_mrr,
            "final_mrr": final_mrr, "lrs": lrs}


def main(torch, flow_steps: int = 20, epochs: int = 25, seed: int = 0) -> dict:
    """Both parts; returns ``{"ot": ..., "rank": ...}``."""
    torch.manual_seed(seed)
    return {"ot": ot_part(torch, flow_steps=flow_steps),
            "rank": ranking_part(torch, epochs=epochs, seed=seed)}


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    args = parser.parse_args()
    print(main(importlib.import_module(args.lib)))
