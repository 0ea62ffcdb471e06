"""The optimal-transport and learning-to-rank programs of ``ot_and_ranking.py``, run with gpugrad
and with PyTorch: both solve Sinkhorn to plans with the right marginals, flow a point cloud onto
its target, and train a scorer whose validation NDCG@5 rises; and from the same data and weights
in float64 the two libraries give the same plans, divergences, gradients (unrolled and by the
envelope theorem), ranking losses, AdamW steps and metrics."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

PROG = load("ot_and_ranking")


def test_ot_and_ranking_run_like_torch():
    ours, theirs = both(PROG.main)
    for result in (ours, theirs):
        ot, rank = result["ot"], result["rank"]
        # PyTorch (seed 0): value 5.2 after 83 iterations, marginal errors < 4e-6
        assert 5 <= ot["n_iter"] < 500, ot
        assert ot["row_err"] < 1e-4 and ot["col_err"] < 1e-4, ot
        assert abs(ot["self_divergence"]) < 1e-4, ot
        assert ot["grad_gap"] < 1e-3, ot  # unrolled and envelope gradients agree
        history = ot["flow_history"]
        assert len(history) == 20, ot
        assert ot["flow_final"] < 0.01 * history[0], ot
        assert all(b <= a + 1e-4 for a, b in zip(history, history[1:])), history
        assert ot["centroid_gap"] < 0.05, ot
        assert ot["batch_values_shape"] == (3,) and ot["mapped_shape"] == (3, 24, 2), ot
        assert ot["batch_vs_loop"] < 1e-5, ot
        # PyTorch (seed 0): NDCG@5 0.48 -> 0.985, loss 2.46 -> 1.72
        assert rank["final_loss"] < 0.8 * rank["initial_loss"], rank
        assert rank["final_ndcg"] > 0.9 and rank["final_ndcg"] > rank["initial_ndcg"] + 0.2, rank
        assert rank["final_mrr"] > rank["initial_mrr"], rank
        lrs = rank["lrs"]
        assert len(lrs) == 25 and lrs[0] == 5e-3, lrs
        assert all(b <= a for a, b in zip(lrs, lrs[1:])) and lrs[-1] < lrs[0], lrs
    # different random streams: compare outcomes, not bits
    assert 0.5 < ours["ot"]["value"] / theirs["ot"]["value"] < 2, (ours["ot"], theirs["ot"])
    assert abs(ours["rank"]["final_ndcg"] - theirs["rank"]["final_ndcg"]) < 0.05


def _clouds(seed=3, n=12, m=15, batch=2):
    rng = np.random.default_rng(seed)
    return {"x": 0.6 * rng.normal(size=(n, 2)), "y": 0.6 * rng.normal(size=(m, 2)) + [1.5, 0.5],
            "xs": rng.normal(size=(batch, n, 2)), "ys": rng.normal(size=(batch, m, 2)) + 1.0}


def test_float64_same_plan_divergence_and_gradients():
    """150 Sinkhorn iterations (``tol=0`` runs them all) from the same clouds in float64."""
    clouds = _clouds()

    def run(lib):
        t = {k: lib.from_numpy(v.copy()) for k, v in clouds.items()}
        value, plan, n_iter = PROG.entropic_ot(lib, t["x"], t["y"], 0.1, max_iter=150, tol=0.0)
        assert plan.dtype == lib.float64 and n_iter == 150
        lib.testing.assert_close(plan.sum(dim=0), PROG.uniform(lib, 15, t["y"]), atol=1e-12,
                                 rtol=0)
        x = t["x"].clone().requires_grad_(True)
        div = PROG.sinkhorn_divergence(lib, x, t["y"], 0.1, max_iter=150, tol=0.0)
        div.backward()
        grad_unrolled = x.grad.clone()
        x.grad = None
        div_env = PROG.sinkhorn_divergence(lib, x, t["y"], 0.1, max_iter=150, tol=0.0,
                                           envelope=True)
        div_env.backward()
        values, plans, _ = PROG.entropic_ot(lib, t["xs"], t["ys"], 0.1, max_iter=150, tol=0.0)
        mapped = lib.bmm(plans, t["ys"]) / PROG.uniform(lib, 12, t["xs"])[None, :, None]
        return {"value": value.item(), "plan": plan.numpy(), "div": div.item(),
                "div_env": div_env.item(), "grad_unrolled": grad_unrolled.numpy(),
                "grad_envelope": x.grad.numpy(), "values": values.numpy(),
                "plans": plans.numpy(), "mapped": mapped.numpy()}

    mine, ref = run(gpugrad), run(torch)
    for key in ref:
        scale = np.abs(ref[key]).max()
        np.testing.assert_allclose(mine[key], ref[key], rtol=0, atol=1e-10 * scale, err_msg=key)
    assert ref["div"] > 0.1
    # converged potentials: the envelope gradient is the unrolled one
    np.testing.assert_allclose(ref["grad_envelope"], ref["grad_unrolled"], rtol=0,
                               atol=1e-6 * np.abs(ref["grad_unrolled"]).max())


def twin_scorers(seed=0):
    gpugrad.manual_seed(seed)
    ours = PROG.build_scorer(gpugrad).double()
    torch.manual_seed(seed)
    theirs = PROG.build_scorer(torch).double()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in state.items()})
    return ours, theirs


def test_float64_same_ranking_losses_gradients_and_adamw_steps():
    x_np, rel_np, len_np = PROG.ranking_data(10, 12, 8, seed=5)
    ours, theirs = twin_scorers()

    def run(lib, model):
        x, rel = lib.from_numpy(x_np.copy()), lib.from_numpy(rel_np.copy())
        mask = PROG.padding_mask(lib, lib.from_numpy(len_np.copy()), 12)
        optimizer = lib.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
        out = {"listnet": [], "ranknet": [], "ndcg": [], "mrr": []}
        for step in range(4):
            scores = model(x).squeeze(-1)
            listnet = PROG.listnet_loss(lib, scores, rel, mask)
            ranknet = PROG.ranknet_loss(lib, scores, rel, mask)
            loss = listnet + 0.5 * ranknet
            optimizer.zero_grad()
            loss.backward()
            if step == 0:
                out["grads"] = [p.grad.numpy().copy() for p in model.parameters()]
            optimizer.step()
            out["listnet"].append(listnet.item())
            out["ranknet"].append(ranknet.item())
            with lib.no_grad():
                scores = model(x).squeeze(-1)
                out["ndcg"].append(PROG.ndcg_at_k(lib, scores, rel, mask, k=5).item())
                out["mrr"].append(PROG.reciprocal_rank_of_best(lib, scores, rel, mask).item())
        out["weights"] = [p.detach().numpy().copy() for p in model.parameters()]
        return out

    mine, ref = run(gpugrad, ours), run(torch, theirs)
    for key in ("listnet", "ranknet"):
        np.testing.assert_allclose(mine[key], ref[key], rtol=1e-10, err_msg=key)
    for key in ("grads", "weights"):
        for i, (a, b) in enumerate(zip(mine[key], ref[key])):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-10 * np.abs(b).max(),
                                       err_msg=f"{key}[{i}]")
    # float32 in parts (``.float()`` discounts and positions): equal up to summation order
    np.testing.assert_allclose(mine["ndcg"], ref["ndcg"], rtol=1e-6)
    np.testing.assert_allclose(mine["mrr"], ref["mrr"], rtol=1e-6)


def test_metric_edge_cases_and_plateau_schedule():
    """NDCG is 1 for the ideal order and 0 (by ``torch.where``) for a list with no relevant
    document; RankNet is 0 with no valid pair (``clamp_min``); ReduceLROnPlateau(mode='max')
    halves the rate after ``patience`` epochs without improvement."""
    results = []
    for lib in (gpugrad, torch):
        rel = lib.tensor([[3.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
        mask = lib.tensor([[True, True, True, False], [True, True, False, False]])
        scores = lib.tensor([[2.0, 1.0, 0.0, 9.0], [0.3, 0.1, 5.0, 5.0]])
        per_list = [PROG.ndcg_at_k(lib, scores[i:i + 1], rel[i:i + 1], mask[i:i + 1], k=3).item()
                    for i in range(2)]
        assert per_list == pytest.approx([1.0, 0.0]), (lib.__name__, per_list)
        flat = lib.zeros(2, 4, requires_grad=True)
        none = PROG.ranknet_loss(lib, flat, lib.zeros(2, 4), mask)
        none.backward()
        assert none.item() == 0.0 and float(flat.grad.abs().sum()) == 0.0
        model = lib.nn.Linear(2, 1)
        optimizer = lib.optim.AdamW(model.parameters(), lr=1.0, weight_decay=0.1)
        scheduler = lib.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5,
                                                             patience=2)
        lrs = []
        for metric in (0.5, 0.6, 0.6, 0.6, 0.6, 0.7, 0.7, 0.65, 0.7, 0.7, 0.71):
            scheduler.step(metric)
            lrs.append(optimizer.param_groups[0]["lr"])
        results.append((per_list, lrs))
    assert results[0] == results[1], results
