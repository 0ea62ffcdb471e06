"""The sparse-adjacency GCN and GAT of ``sparse_gcn.py``, run with gpugrad and with PyTorch:
all three variants (the legacy ``torch.sparse.FloatTensor`` with ``torch.spmm``,
``torch.sparse_coo_tensor`` with ``torch.sparse.mm`` and ``adj @ x`` on an uncoalesced tensor,
and attention scores put into a sparse tensor whose values carry the gradient) learn the three
communities, and gpugrad's losses land in a band around PyTorch's (the random streams differ).
From the same weights in float64, without dropout, the two libraries train to the same losses.
The adjacency tensor itself (nnz, coalescing, ``indices()``, ``to_dense()``) and one attention
head (forward against a NumPy reference, gradients against PyTorch's, gradcheck of the sparse
product in its values and its dense operand) are checked on their own."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

SPARSE_GCN = load("sparse_gcn")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
NNZ = 924  # 2 * 372 edges + 180 self-loops for the seed-0 graph


@functools.cache
def _trained(variant):
    """Both libraries' 120-epoch runs of ``variant`` (shared by the tests below)."""
    return both(lambda m: SPARSE_GCN.main(m, variant))


@pytest.mark.parametrize("variant", SPARSE_GCN.VARIANTS)
def test_sparse_gcn_trains_like_torch(variant):
    ours, theirs = _trained(variant)
    # PyTorch (seed 0): 1.15 -> 0.12 (GCN), 1.12 -> 0.26 (GAT); other seeds 0.07-0.10, 0.21-0.30
    assert_trains_like_torch(ours, theirs, shrink=0.4, rel=0.5)
    for result in (ours, theirs):
        assert result["test_acc"] >= 0.8 and result["val_acc"] >= 0.8, result
        assert result["initial_test_acc"] < 0.6, result
        assert result["train_acc"] >= 0.95, result
        assert result["grads_set"], result  # every parameter reached through the sparse product
        assert result["output_dtype"] == "float32", result
        assert result["nnz"] == NNZ and result["coalesced"] == (False, True, NNZ), result
        assert result["adj_layout"] == "sparse_coo", result
        assert result["adj_error"] < 1e-7 and result["asymmetry"] == 0.0, result
        assert result["spmm_error"] < 1e-6, result
    for key in ("edges", "splits", "n_params"):
        assert ours[key] == theirs[key], key
    assert ours["edges"] == (2, NNZ) and ours["splits"] == (30, 50, 100)


def test_legacy_and_current_spellings_train_alike():
    """``"kipf"`` and ``"coo"`` are one model (same draws, same matrix; only the spelling of
    the tensor and of the product, and the order of the entries, differ): in each library their
    losses agree to float32 rounding."""
    for k in (0, 1):
        kipf, coo = _trained("kipf")[k], _trained("coo")[k]
        np.testing.assert_allclose(kipf["losses"], coo["losses"], rtol=1e-4)
        assert abs(kipf["test_acc"] - coo["test_acc"]) <= 0.01  # one test node at most


def _same_start_state(variant, dtype):
    """gpugrad's freshly initialized weights, and the same as PyTorch tensors (via NumPy)."""
    gpugrad.manual_seed(0)
    state = SPARSE_GCN.make_model(gpugrad, variant, dtype).state_dict()
    return state, {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in state.items()}


@pytest.mark.parametrize("variant, dtype, rel", [("kipf", "float64", 1e-9),
                                                 ("coo", "float64", 1e-9),
                                                 ("gat", "float64", 1e-9),
                                                 ("gat", "float32", 1e-4)])
def test_same_start_trains_as_torch(variant, dtype, rel):
    """From gpugrad's initial weights copied into PyTorch's model, without dropout, 25 Adam
    steps (weight decay) give the same training and validation losses at every step."""
    ours_state, theirs_state = _same_start_state(variant, dtype)
    assert list(ours_state) == list(SPARSE_GCN.make_model(torch, variant, dtype).state_dict())
    run = dict(epochs=25, dtype=dtype, dropout=0.0, log_every=0)
    ours = SPARSE_GCN.main(gpugrad, variant, initial_state=ours_state, **run)
    theirs = SPARSE_GCN.main(torch, variant, initial_state=theirs_state, **run)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=rel)
    np.testing.assert_allclose(ours["val_losses"], theirs["val_losses"], rtol=rel)
    assert ours["losses"][-1] < 0.9 * ours["losses"][0]
    assert ours["output_dtype"] == theirs["output_dtype"] == dtype
    assert ours["initial_test_acc"] == theirs["initial_test_acc"]


@LIBS
@pytest.mark.parametrize("variant", ["kipf", "coo"])
def test_adjacency_tensor(lib, variant):
    """The normalized adjacency as built: a COO tensor not marked coalesced, whose
    ``indices()`` need ``coalesce()`` first (``_indices()`` do not); coalesced, its entries are
    sorted row-major and its dense form is NumPy's matrix; listing every entry twice and
    coalescing sums the duplicates."""
    features, edges, _ = SPARSE_GCN.make_graph()
    n = features.shape[0]
    adj, built_coalesced = SPARSE_GCN.sparse_adjacency(lib, variant, edges, n)
    assert not built_coalesced and adj.is_sparse and adj.layout == lib.sparse_coo
    assert tuple(adj.shape) == (n, n) and adj.dtype == lib.float32
    assert adj._nnz() == NNZ and tuple(adj._indices().shape) == (2, NNZ)
    with pytest.raises(RuntimeError, match="coalesce"):
        adj.indices()
    r, c, data = SPARSE_GCN.normalized_adjacency(edges, n)  # sorted row-major
    coalesced = adj.coalesce()
    assert coalesced.is_coalesced() and coalesced._nnz() == NNZ
    np.testing.assert_array_equal(coalesced.indices().numpy(), np.vstack((r, c)))
    np.testing.assert_array_equal(coalesced.values().numpy(), data)
    dense = adj.to_dense().numpy()
    np.testing.assert_allclose(dense, SPARSE_GCN.dense_adjacency(edges, n), rtol=1e-7)
    twice = lib.sparse_coo_tensor(lib.cat([adj._indices(), adj._indices()], 1),
                                  lib.cat([adj._values(), adj._values()]), (n, n))
    assert twice._nnz() == 2 * NNZ and twice.coalesce()._nnz() == NNZ
    np.testing.assert_allclose(twice.coalesce().values().numpy(), 2 * data, rtol=1e-7)


def _attention_head(lib, params, x, edge_index):
    """One ``SparseGraphAttention`` head (no dropout) with these weights: its output and the
    gradients of ``sum(out * upstream)`` for W, a_src, a_dst and the input."""
    _, _, SparseGraphAttention, _ = SPARSE_GCN.build(lib)
    head = SparseGraphAttention(*params["W"].shape, dropout=0.0).double()
    head.load_state_dict({k: lib.from_numpy(v) for k, v in params.items()})
    inputs = lib.from_numpy(x).requires_grad_()
    out = head(inputs, lib.from_numpy(edge_index))
    upstream = np.random.default_rng(3).standard_normal(tuple(out.shape))
    (out * lib.from_numpy(upstream)).sum().backward()
    return {"out": out.detach().numpy(), "x": inputs.grad.numpy(),
            **{k: getattr(head, k).grad.numpy() for k in params}}


def test_attention_head_matches_numpy_and_torch():
    """From the same weights in float64, a head's output is the row-wise softmax over each
    node's neighbours (a NumPy reference), and gpugrad's gradients (W, both attention vectors,
    the input) are PyTorch's: the attention vectors' only way to the loss is the sparse
    tensor's values."""
    features, edges, _ = SPARSE_GCN.make_graph()
    n = features.shape[0]
    r, c, _ = SPARSE_GCN.normalized_adjacency(edges, n)
    edge_index = np.vstack((r, c))
    x = SPARSE_GCN.normalize_rows(features).astype(np.float64)
    rng = np.random.default_rng(2)
    params = {"W": rng.normal(0, 0.5, (SPARSE_GCN.WORDS, 6)),
              "a_src": rng.normal(0, 0.5, (6, 1)), "a_dst": rng.normal(0, 0.5, (6, 1))}
    ours, theirs = (_attention_head(lib, params, x, edge_index) for lib in (gpugrad, torch))
    for key in ("out", "x", "W", "a_src", "a_dst"):
        scale = np.abs(theirs[key]).max()
        assert scale > 1e-6, key
        np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-12, atol=1e-12 * scale,
                                   err_msg=key)
    h = x @ params["W"]
    logits = (h @ params["a_dst"])[r, 0] + (h @ params["a_src"])[c, 0]
    logits = np.where(logits > 0, logits, 0.2 * logits)
    scores = np.zeros((n, n))
    scores[r, c] = np.exp(logits)
    reference = (scores / scores.sum(1, keepdims=True)) @ h
    np.testing.assert_allclose(ours["out"], reference, rtol=1e-12, atol=1e-12)


@LIBS
def test_sparse_product_gradcheck(lib):
    """Float64 central differences of ``torch.sparse.mm(sparse_coo_tensor(i, v), h)`` and of
    ``torch.spmm`` in the values ``v`` and the dense ``h`` (uncoalesced entries, one of them
    listed twice)."""
    i = lib.tensor([[2, 0, 1, 2, 0], [0, 1, 1, 0, 3]])
    rng = np.random.default_rng(5)
    v = lib.from_numpy(rng.standard_normal(5)).requires_grad_()
    h = lib.from_numpy(rng.standard_normal((4, 3))).requires_grad_()

    def product(v, h):
        return lib.sparse.mm(lib.sparse_coo_tensor(i, v, (3, 4)), h)

    def legacy(v, h):
        return lib.spmm(lib.sparse_coo_tensor(i, v, (3, 4)), h)

    expected = np.zeros((3, 4))
    np.add.at(expected, (i.numpy()[0], i.numpy()[1]), v.detach().numpy())
    np.testing.assert_allclose(product(v, h).detach().numpy(),
                               expected @ h.detach().numpy(), rtol=1e-12)
    assert lib.autograd.gradcheck(product, (v, h))
    assert lib.autograd.gradcheck(legacy, (v, h))
