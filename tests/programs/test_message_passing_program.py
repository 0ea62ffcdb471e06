"""The hand-written message-passing networks of ``message_passing.py``, run with gpugrad and
with PyTorch: the four convolutions (GraphSAGE mean by ``index_add_``/``bincount``, GIN sum by
``scatter_add_``, multi-head GAT with the edge softmax by ``scatter_reduce("amax")``, max
aggregation by ``scatter_reduce("amax")``) learn the communities of a stochastic block model
and, batched into one big graph with mean+max readout, tell cycles from paths, as PyTorch's
do. From the same weights in float64 both libraries give the same logits, loss and gradients
for every layer type; the graph utilities (``unique(dim=1)``, self-loops, batching with
``repeat_interleave``, the global pools) are checked against NumPy."""

from __future__ import annotations

import functools

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import both, load

MP = load("message_passing")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])


@functools.cache
def _node_runs(conv):
    return both(lambda lib: MP.main(lib, "node", conv))


@pytest.mark.parametrize("conv", MP.CONVS)
def test_node_classification_like_torch(conv):
    ours, theirs = _node_runs(conv)
    # PyTorch (seeds 0-5): validation 0.90-1.0, test 0.91-1.0 for every convolution
    for result in (ours, theirs):
        assert result["initial_test_acc"] < 0.7, result
        assert result["final_loss"] < 0.7 * result["initial_loss"], result
        assert result["val_acc"] >= 0.8 and result["test_acc"] >= 0.8, result
        assert result["val_acc"] == result["best_val"], result  # the best state was restored
        assert result["best_epoch"] < result["epochs_run"] <= 200, result
        assert result["grads_set"], result
        assert result["output"] == ((MP.NODES, MP.BLOCKS), "float32"), result
        assert result["mask_sizes"] == (30, 40, 80), result
    assert abs(ours["test_acc"] - theirs["test_acc"]) <= 0.15, (ours, theirs)
    for key in ("edge_counts", "n_params"):
        assert ours[key] == theirs[key], key
    counts = ours["edge_counts"]
    assert counts["raw"] == counts["pairs"] + 40 and counts["undirected"] == 2 * counts["pairs"]
    loops = MP.NODES if conv in ("gat", "max") else 0
    assert counts["used"] == counts["undirected"] + loops


@pytest.mark.parametrize("conv", ["gin", "sage", "max"])
def test_graph_classification_like_torch(conv):
    ours, theirs = both(lambda lib: MP.main(lib, "graph", conv))
    # PyTorch (seed 0): validation accuracy 1.0 within 10 epochs for all three
    for result in (ours, theirs):
        assert result["val_acc"] >= 0.9 and result["train_acc"] >= 0.9, result
        assert result["final_loss"] < 0.2 * result["initial_loss"], result
        assert result["epochs_run"] <= 40, result
    for key in ("val_nodes", "val_edges", "n_params"):
        assert ours[key] == theirs[key], key


# ----------------------------------------------------------------------------- same weights


def _twins(make):
    """``make(lib)`` for both libraries in float64, PyTorch's loaded with gpugrad's state."""
    gpugrad.manual_seed(0)
    ours = make(gpugrad).double()
    torch.manual_seed(0)
    theirs = make(torch).double()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    theirs.load_state_dict({k: torch.from_numpy(v.detach().numpy().copy())
                            for k, v in state.items()})
    return ours, theirs


def _forward_backward(lib, model, inputs, target, mask=None):
    """Logits, cross-entropy loss (on ``mask`` if given) and the gradients of every parameter
    and of the node features, from a model in training mode without dropout."""
    x = lib.from_numpy(inputs[0].copy()).requires_grad_(True)
    rest = [lib.from_numpy(a.copy()) if isinstance(a, np.ndarray) else a for a in inputs[1:]]
    model.train()
    logits = model(x, *rest)
    y = lib.from_numpy(target)
    if mask is not None:
        m = lib.from_numpy(mask)
        loss = lib.nn.CrossEntropyLoss()(logits[m], y[m])
    else:
        loss = lib.nn.CrossEntropyLoss()(logits, y)
    model.zero_grad()
    loss.backward()
    grads = {name: p.grad.numpy().copy() for name, p in model.named_parameters()}
    grads["x"] = x.grad.numpy().copy()
    return logits.detach().numpy(), loss.item(), grads


def _assert_same(ours, theirs):
    (l_ours, loss_ours, g_ours), (l_theirs, loss_theirs, g_theirs) = ours, theirs
    np.testing.assert_allclose(l_ours, l_theirs, rtol=1e-10, atol=1e-12, err_msg="logits")
    assert loss_ours == pytest.approx(loss_theirs, rel=1e-10)
    assert list(g_ours) == list(g_theirs)
    overall = max(np.abs(g).max() for g in g_theirs.values())
    for name, g in g_theirs.items():
        # a bias followed by BatchNorm gets a gradient of zero plus rounding
        atol = max(1e-10 * np.abs(g).max(), 1e-12 * overall)
        np.testing.assert_allclose(g_ours[name], g, rtol=0, atol=atol, err_msg=name)


@pytest.mark.parametrize("conv", MP.CONVS)
def test_same_weights_same_node_logits_loss_and_gradients(conv):
    ours, theirs = _twins(lambda lib: MP.build(lib)["node"](conv, MP.FEATURES, MP.HIDDEN,
                                                            MP.BLOCKS, dropout=0.0))
    x, raw, labels, _ = MP.make_sbm()
    self_loops = conv in ("gat", "max")
    edge_index = MP.node_graph(torch, self_loops=self_loops)[1].numpy()
    mask = np.random.default_rng(1).random(MP.NODES) < 0.3
    results = [_forward_backward(lib, model, (x.astype(np.float64), edge_index), labels, mask)
               for lib, model in ((gpugrad, ours), (torch, theirs))]
    _assert_same(*results)
    assert MP.node_graph(gpugrad, self_loops=self_loops)[1].numpy().tolist() == \
        edge_index.tolist()


@pytest.mark.parametrize("conv", ["gin", "sage", "max"])
def test_same_weights_same_graph_logits_loss_and_gradients(conv):
    """A batch of twelve cycles and paths through the three-layer model and its mean+max
    readout, in float64."""
    ours, theirs = _twins(lambda lib: MP.build(lib)["graph"](
        conv, 1 if conv == "gin" else MP.DEGREES, MP.HIDDEN, 2, dropout=0.0))
    graphs = MP.make_cycles_and_paths(count=12, seed=3)
    results = []
    for lib, model in ((gpugrad, ours), (torch, theirs)):
        edge_index, batch, y = MP.collate(lib, graphs)
        x = MP.node_features(lib, conv, edge_index, batch.size(0)).double()
        x = x + 0.1 * lib.from_numpy(
            np.random.default_rng(4).standard_normal(tuple(x.shape)))  # break the ties
        results.append(_forward_backward(
            lib, model, (x.numpy(), edge_index.numpy(), batch.numpy(), len(graphs)),
            y.numpy()))
    _assert_same(*results)


def test_gat_edge_softmax_matches_numpy():
    """One multi-head GAT layer's attention coefficients (recovered from its output with
    one-hot projections) are the softmax over each node's incoming edges."""
    ours, theirs = _twins(lambda lib: MP.build(lib)["gat"](5, 3, heads=2))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 5))
    edge_index = np.array([[0, 1, 2, 3, 4, 5, 0, 2, 1], [1, 1, 1, 0, 0, 2, 2, 2, 4]])
    outs = [m(lib.from_numpy(x), lib.from_numpy(edge_index)).detach().numpy()
            for lib, m in ((gpugrad, ours), (torch, theirs))]
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12, atol=1e-12)
    state = {k: v.detach().numpy() for k, v in ours.state_dict().items()}
    h = (x @ state["lin.weight"].T).reshape(6, 2, 3)
    a_src = (h * state["att_src"]).sum(-1)
    a_dst = (h * state["att_dst"]).sum(-1)
    src, dst = edge_index
    e = a_src[src] + a_dst[dst]
    e = np.exp(np.where(e > 0, e, 0.2 * e))
    expected = np.zeros((6, 2, 3))
    for node in range(6):
        incoming = dst == node
        if incoming.any():
            alpha = e[incoming] / e[incoming].sum(0)
            expected[node] = (alpha[:, :, None] * h[src[incoming]]).sum(0)
    np.testing.assert_allclose(outs[0], expected.reshape(6, 6) + state["bias"], rtol=1e-10,
                               atol=1e-12)


# ----------------------------------------------------------------------------- graph utilities


@LIBS
def test_undirected_unique_and_self_loops(lib):
    _, raw, _, pairs = MP.make_sbm()
    undirected = MP.to_undirected(lib, lib.from_numpy(raw))
    expected = np.unique(np.concatenate([raw, raw[::-1]], 1), axis=1)
    assert expected.shape[1] == 2 * pairs
    np.testing.assert_array_equal(undirected.numpy(), expected)
    assert undirected.dtype == lib.int64
    looped = MP.add_self_loops(lib, lib.cat([undirected, lib.tensor([[3], [3]])], 1), MP.NODES)
    assert tuple(looped.shape) == (2, 2 * pairs + MP.NODES)
    np.testing.assert_array_equal(looped[:, -MP.NODES:].numpy(),
                                  np.tile(np.arange(MP.NODES), (2, 1)))
    assert int((looped[0] == looped[1]).sum()) == MP.NODES


@LIBS
def test_batching_and_global_pools(lib):
    """Three graphs, the middle one empty: offsets, the ``batch`` vector, and the mean and
    max pools (an empty graph pools to zeros) against NumPy."""
    graphs = [(np.array([[0, 1], [1, 2]]), 3, 0), (np.zeros((2, 0), np.int64), 0, 1),
              (np.array([[0], [1]]), 2, 1)]
    edge_index, batch, y = MP.collate(lib, graphs)
    assert batch.tolist() == [0, 0, 0, 2, 2] and y.tolist() == [0, 1, 1]
    assert edge_index.tolist() == [[0, 1, 1, 2, 3, 4], [1, 0, 2, 1, 4, 3]]
    x = np.random.default_rng(6).standard_normal((5, 4))
    mean = MP.global_mean_pool(lib, lib.from_numpy(x), batch, 3).numpy()
    peak = MP.global_max_pool(lib, lib.from_numpy(x), batch, 3).numpy()
    np.testing.assert_allclose(mean, [x[:3].mean(0), np.zeros(4), x[3:].mean(0)], rtol=1e-12)
    np.testing.assert_array_equal(peak, [x[:3].max(0), np.zeros(4), x[3:].max(0)])
    features = MP.node_features(lib, "sage", edge_index, 5)
    assert features.tolist() == [[0, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0],
                                 [0, 1, 0, 0], [0, 1, 0, 0]]
    assert features.dtype == lib.float32
