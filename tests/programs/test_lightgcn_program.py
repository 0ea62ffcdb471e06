"""The implicit-feedback recommenders of ``lightgcn_recommender.py`` (LightGCN on a sparse
normalized user-item graph, spelled the current and the legacy way, NGCF, and BPR matrix
factorization with dense and with sparse embedding gradients), run with gpugrad and with
PyTorch: every variant learns to rank held-out items far above chance, the graph models beat
plain MF, and gpugrad's losses and recall land in a band around PyTorch's (the random streams
differ). From the same weights in float64, with the BPR triples drawn by NumPy and the dropouts
off, the two libraries' losses agree step for step. The graph tensor (each construction
against NumPy's matrix, the edgeless cold-start items, the degrees by ``torch.sparse.sum``) and
the ranking metrics (against a NumPy reference from fixed embeddings) are checked on their
own."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

PROGRAM = load("lightgcn_recommender")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
GRAPH_VARIANTS = ("lightgcn", "legacy", "ngcf")
EPOCHS = 12
NNZ = 5352  # both directions of the 2676 training interactions of the seed-0 data


@functools.cache
def _trained(variant):
    """Both libraries' 12-epoch runs of ``variant`` (shared by the tests below)."""
    return both(lambda m: PROGRAM.main(m, variant, epochs=EPOCHS, log_every=0))


@pytest.mark.parametrize("variant", PROGRAM.VARIANTS)
def test_recommender_trains_like_torch(variant):
    ours, theirs = _trained(variant)
    # PyTorch, seeds 0-3: BPR 0.66-0.70 -> 0.24-0.35; recall@10 0.26-0.32 (LightGCN),
    # 0.19-0.25 (NGCF), 0.17-0.20 (MF) against 0.045 for a random ranking
    assert_trains_like_torch(ours, theirs, shrink=0.55)
    for result in (ours, theirs):
        assert result["initial_recall"] < 0.1, result
        assert result["recall"] >= 0.12 and result["ndcg"] >= 0.1, result
        assert result["recall"] > 2.5 * result["random_recall"], result
        if variant in ("lightgcn", "legacy"):
            assert result["recall"] >= 0.2, result
        assert result["hits"] == result["isin_hits"], result  # gather on the mask == isin
        assert result["excluded"] and result["trained_in_top"] == 0, result
        assert result["grads_set"], result
        assert result["score_dtype"] == "float32", result
        if variant in GRAPH_VARIANTS:
            assert result["nnz"] == NNZ, result
            assert result["coalesced"] == (variant != "ngcf"), result
            assert result["graph_error"] < 1e-7 and result["asymmetry"] == 0.0, result
            assert result["row_sum_error"] < 1e-6 and result["spmm_error"] < 1e-6, result
    assert abs(ours["recall"] - theirs["recall"]) <= 0.07, (ours, theirs)
    assert abs(ours["ndcg"] - theirs["ndcg"]) <= 0.07, (ours, theirs)
    for key in ("n_params", "n_train", "n_test", "random_recall"):
        assert ours[key] == theirs[key], key


def test_graph_models_beat_matrix_factorization():
    """In each library, propagating over the graph ranks the held-out items better than MF."""
    for k in (0, 1):
        mf = _trained("mf")[k]["recall"]
        for variant in ("lightgcn", "legacy"):
            assert _trained(variant)[k]["recall"] > mf + 0.05, (variant, k)


def _same_start_state(variant, dtype):
    """gpugrad's freshly initialized weights, and the same as PyTorch tensors (via NumPy)."""
    gpugrad.manual_seed(0)
    state = PROGRAM.make_model(gpugrad, variant, None, dtype).state_dict()
    return state, {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in state.items()}


@pytest.mark.parametrize("variant, dtype, rel", [
    ("lightgcn", "float64", 1e-9),
    # The graph is normalized in float32 by the library (``rowsum.pow(-0.5)``), where PyTorch's
    # result is one ulp off the correctly rounded one for some degrees; the float64 training
    # then starts from adjacency values that differ by ~6e-8 relative.
    ("legacy", "float64", 1e-8),
    ("ngcf", "float64", 1e-9),
    ("mf", "float64", 1e-9),
    ("mf_sparse", "float64", 1e-9),
    ("lightgcn", "float32", 1e-5),
])
def test_same_start_trains_as_torch(variant, dtype, rel):
    """From gpugrad's initial weights copied into PyTorch's model, with NumPy drawing the
    epochs' order and negatives and every dropout at rate 0 (the dropout code still runs), three
    epochs of Adam give the same BPR loss at every step and the same ranking metrics."""
    ours_state, theirs_state = _same_start_state(variant, dtype)
    assert list(ours_state) == list(PROGRAM.make_model(torch, variant, None, dtype)
                                    .state_dict())
    run = dict(epochs=3, dtype=dtype, sampling="numpy", dropout=0.0, log_every=0)
    ours = PROGRAM.main(gpugrad, variant, initial_state=ours_state, **run)
    theirs = PROGRAM.main(torch, variant, initial_state=theirs_state, **run)
    assert len(ours["step_losses"]) == len(theirs["step_losses"]) == 33
    np.testing.assert_allclose(ours["step_losses"], theirs["step_losses"], rtol=rel)
    assert ours["step_losses"][-1] < 0.95 * ours["step_losses"][0]
    assert ours["score_dtype"] == theirs["score_dtype"] == dtype
    for key in ("initial_recall", "initial_ndcg", "recall", "ndcg"):
        assert ours[key] == pytest.approx(theirs[key], rel=1e-6, abs=1e-9), key


@LIBS
@pytest.mark.parametrize("variant", GRAPH_VARIANTS)
def test_graph_tensor(lib, variant):
    """The normalized bipartite adjacency as each variant builds it: NumPy's matrix, the
    user-user and item-item blocks empty, the cold items' rows and columns empty (their
    infinite ``d^-1/2`` zeroed in the legacy construction), symmetric, every row of a node
    with edges summing (over ``D^-1/2 A D^-1/2``) to ``sum_j 1/sqrt(d_i d_j)``."""
    train, _ = PROGRAM.make_interactions()
    n_users, n_items = PROGRAM.USERS, PROGRAM.ITEMS
    graph = PROGRAM.graph_tensor(lib, variant, train, n_users, n_items)
    assert graph.is_sparse and graph.layout == lib.sparse_coo and graph.dtype == lib.float32
    assert tuple(graph.shape) == (n_users + n_items,) * 2 and graph._nnz() == NNZ
    assert graph.is_coalesced() == (variant != "ngcf")
    dense = graph.to_dense().numpy()
    reference = PROGRAM.dense_adjacency(train, n_users, n_items)
    np.testing.assert_allclose(dense, reference, rtol=2.5e-7, atol=0)
    assert not dense[:n_users, :n_users].any() and not dense[n_users:, n_users:].any()
    assert not dense[-PROGRAM.COLD:].any() and not dense[:, -PROGRAM.COLD:].any()
    assert np.isfinite(dense).all()
    if variant != "legacy":  # normalized in NumPy: the values are NumPy's, bit for bit
        r, c, data = PROGRAM.normalized_adjacency(train, n_users, n_items)
        coalesced = graph.coalesce()
        order = np.lexsort((c, r))
        np.testing.assert_array_equal(coalesced.indices().numpy(), np.vstack((r, c))[:, order])
        np.testing.assert_array_equal(coalesced.values().numpy(), data[order])
    degrees = lib.sparse.sum(graph, dim=1).to_dense().numpy()
    np.testing.assert_allclose(degrees, reference.sum(1), rtol=1e-6, atol=1e-7)


def _numpy_metrics(users_emb, items_emb, train, test, k):
    """Recall@k, precision@k and NDCG@k computed with NumPy loops over the users."""
    scores = users_emb @ items_emb.T
    scores[train[:, 0], train[:, 1]] = -np.inf
    recalls, hit_counts, ndcgs = [], [], []
    for u in range(scores.shape[0]):
        held_out = set(test[test[:, 0] == u, 1].tolist())
        top = np.argsort(-scores[u], kind="stable")[:k]
        hit = np.array([i in held_out for i in top], dtype=float)
        recalls.append(hit.sum() / len(held_out))
        hit_counts.append(hit.sum())
        gains = 1.0 / np.log2(np.arange(2, k + 2))
        ndcgs.append((hit * gains).sum() / gains[:min(len(held_out), k)].sum())
    return np.mean(recalls), np.mean(hit_counts) / k, np.mean(ndcgs), int(np.sum(hit_counts))


@LIBS
def test_ranking_metrics_match_numpy(lib):
    """``evaluate`` on fixed float64 embeddings (those of MF, so the scores are their dot
    products) gives NumPy's recall, precision and NDCG; ties do not occur."""
    train, test = PROGRAM.make_interactions()
    rng = np.random.default_rng(7)
    users_emb = rng.standard_normal((PROGRAM.USERS, PROGRAM.DIM))
    items_emb = rng.standard_normal((PROGRAM.ITEMS, PROGRAM.DIM))
    model = PROGRAM.make_model(lib, "mf", dtype="float64")
    model.load_state_dict({"user_embedding.weight": lib.from_numpy(users_emb),
                           "item_embedding.weight": lib.from_numpy(items_emb)})
    test_mask = lib.zeros(PROGRAM.USERS, PROGRAM.ITEMS, dtype=lib.float64)
    test_mask[lib.from_numpy(test[:, 0]), lib.from_numpy(test[:, 1])] = 1.0
    test_items = [lib.from_numpy(test[test[:, 0] == u, 1]) for u in range(PROGRAM.USERS)]
    got = PROGRAM.evaluate(lib, model, lib.from_numpy(train.T.copy()), test_mask, test_items)
    recall, precision, ndcg, hits = _numpy_metrics(users_emb, items_emb, train, test,
                                                   PROGRAM.TOP_K)
    assert got["hits"] == got["isin_hits"] == hits and hits > 0
    assert got["recall"] == pytest.approx(recall, rel=1e-12)
    assert got["precision"] == pytest.approx(precision, rel=1e-12)
    assert got["ndcg"] == pytest.approx(ndcg, rel=1e-12)
    assert got["excluded"] and got["score_dtype"] == "float64"
    assert model.training  # evaluate puts the model back in training mode
