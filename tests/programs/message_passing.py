"""Graph neural networks written by hand on an ``edge_index`` of shape (2, E), the way many
public repositories write them without a graph library: message passing is indexing by the
edge ends and scattering the messages back to their targets.

Idioms: an undirected edge list made by ``torch.cat([ei, ei.flip(0)], 1)`` and its duplicates
dropped by ``torch.unique(edge_index, dim=1)``; self-loops appended with
``torch.cat([edge_index, torch.arange(N).repeat(2, 1)], dim=1)`` (and first removed by a
boolean mask ``edge_index[0] != edge_index[1]``); four convolutions:

``"sage"``
    GraphSAGE mean aggregation: ``torch.zeros(N, F).index_add_(0, dst, x[src])`` divided by
    the in-degree ``torch.bincount(dst, minlength=N).clamp(min=1)``, plus a root weight.
``"gin"``
    GIN sum aggregation: ``torch.zeros_like(x).scatter_add_(0, index, x[src])`` with
    ``index = dst.unsqueeze(-1).expand_as(src)``, ``(1 + eps) * x + aggr`` with a trainable
    ``eps``, then an ``nn.Sequential`` MLP with ``nn.BatchNorm1d``.
``"gat"``
    Multi-head graph attention: ``lin(x).view(-1, heads, out)``, per-head scores
    ``(h * att).sum(-1)``, ``F.leaky_relu(negative_slope=0.2)``, the edge softmax by
    ``scatter_reduce(0, dst, e, reduce="amax", include_self=False)`` for each target's
    maximum, ``torch.exp`` and ``index_add_`` for the normalizer, dropout on the attention
    coefficients, heads concatenated by ``.view(-1, heads * out)`` or averaged by ``.mean(1)``.
``"max"``
    Max aggregation: ``scatter_reduce(0, index, x[src], reduce="amax", include_self=False)``.

Two tasks: node classification on a synthetic stochastic-block-model graph (NumPy; three
communities, faint features, some edges listed twice or in both directions), trained on a
``train_mask`` and early-stopped on the ``val_mask`` accuracy with the best
``copy.deepcopy(model.state_dict())``; and graph classification (cycles against paths, nodes
relabelled at random, a constant feature or the one-hot degree), where small graphs are
batched into one big graph by offsetting their node ids (a ``DataLoader`` over the list of
graphs, ``shuffle=True``, with the batching as its ``collate_fn``), the ``batch`` vector is
``torch.repeat_interleave(torch.arange(B), sizes)``, and the graph readout concatenates a
global mean pool (``index_add_`` over ``bincount``) and a global max pool
(``scatter_reduce(..., reduce="amax")``). Both use ``Adam``, ``nn.CrossEntropyLoss``,
dropout, ``model.train()``/``model.eval()`` and ``torch.no_grad()``.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import copy
import functools

import numpy as np

CONVS = ("sage", "gin", "gat", "max")
NODES, BLOCKS, FEATURES = 150, 3, 12
HIDDEN, HEADS = 16, 4
DEGREES = 4  # one-hot degree features of the graph task: 0, 1, 2, 3+


# ----------------------------------------------------------------------------- data (NumPy)

def make_sbm(n: int = NODES, blocks: int = BLOCKS, features: int = FEATURES,
             p_in: float = 0.15, p_out: float = 0.005, seed: int = 0, shift: float = 1.0):
    """A stochastic block model: labels by block, edges (each pair once, ``i < j``) with
    probability ``p_in`` inside a block and ``p_out`` across, then 20 of them listed again
    and 20 more listed reversed, as scraped edge lists often are; Gaussian features whose
    column ``label`` is shifted by ``shift``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, blocks, n).astype(np.int64)
    same = labels[:, None] == labels[None, :]
    upper = np.triu(rng.random((n, n)) < np.where(same, p_in, p_out), 1)
    src, dst = np.nonzero(upper)
    again = rng.choice(len(src), 20, replace=False)
    flipped = rng.choice(len(src), 20, replace=False)
    src, dst = (np.concatenate([src, src[again], dst[flipped]]),
                np.concatenate([dst, dst[again], src[flipped]]))
    x = rng.standard_normal((n, features)).astype(np.float32)
    x[np.arange(n), labels] += shift
    return x, np.stack([src, dst]).astype(np.int64), labels, int(upper.sum())


def make_cycles_and_paths(count: int = 96, low: int = 5, high: int = 12, seed: int = 0):
    """``count`` graphs, alternately a cycle (label 1) and a path (label 0) on ``low`` to
    ``high`` nodes, each node relabelled by a random permutation; each edge listed once."""
    rng = np.random.default_rng(seed)
    graphs = []
    for k in range(count):
        size = int(rng.integers(low, high + 1))
        label = (k + 1) % 2
        src = np.arange(size if label else size - 1)
        dst = (src + 1) % size
        perm = rng.permutation(size)
        graphs.append((np.stack([perm[src], perm[dst]]).astype(np.int64), size, label))
    return graphs


# ----------------------------------------------------------------------------- graph utilities

def to_undirected(torch, edge_index):
    """Both directions of every edge, each listed once (sorted lexicographically)."""
    edge_index = torch.cat([edge_index, edge_index.flip(0)], 1)
    return torch.unique(edge_index, dim=1)


def add_self_loops(torch, edge_index, num_nodes):
    mask = edge_index[0] != edge_index[1]
    edge_index = edge_index[:, mask]
    loops = torch.arange(num_nodes, device=edge_index.device).repeat(2, 1)
    return torch.cat([edge_index, loops], dim=1)


def collate(torch, graphs):
    """A list of ``(edge_index, num_nodes, label)`` as one big graph: edge ids offset by the
    number of nodes before each graph, the ``batch`` vector, and the labels."""
    sizes = torch.tensor([n for _, n, _ in graphs])
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)[:-1]])
    edge_index = torch.cat([torch.from_numpy(ei) + offsets[i]
                            for i, (ei, _, _) in enumerate(graphs)], dim=1)
    edge_index = to_undirected(torch, edge_index)
    batch = torch.repeat_interleave(torch.arange(len(graphs)), sizes)
    y = torch.tensor([label for _, _, label in graphs])
    return edge_index, batch, y


def node_features(torch, conv, edge_index, num_nodes):
    """GIN gets a constant feature (its sum aggregation counts the neighbours); the mean and
    max aggregations cannot tell a constant's neighbourhoods apart, so they get the in-degree
    one-hot, ``F.one_hot(torch.bincount(dst, minlength=N).clamp(max=3), 4)``."""
    if conv == "gin":
        return torch.ones(num_nodes, 1, device=edge_index.device)
    degree = torch.bincount(edge_index[1], minlength=num_nodes).clamp(max=DEGREES - 1)
    return torch.nn.functional.one_hot(degree, DEGREES).float()


def global_mean_pool(torch, x, batch, size):
    total = torch.zeros(size, x.size(1), dtype=x.dtype, device=x.device).index_add_(0, batch, x)
    count = torch.bincount(batch, minlength=size).clamp(min=1)
    return total / count.unsqueeze(-1).to(x.dtype)


def global_max_pool(torch, x, batch, size):
    index = batch.unsqueeze(-1).expand_as(x)
    out = torch.zeros(size, x.size(1), dtype=x.dtype, device=x.device)
    return out.scatter_reduce(0, index, x, reduce="amax", include_self=False)


# ----------------------------------------------------------------------------- layers and models

def build(torch):
    """The convolutions and the two models, made from ``torch``."""
    nn, F = torch.nn, torch.nn.functional

    class SAGEConv(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.lin_l = nn.Linear(in_channels, out_channels)
            self.lin_r = nn.Linear(in_channels, out_channels, bias=False)

        def forward(self, x, edge_index):
            src, dst = edge_index
            num_nodes = x.size(0)
            aggr = torch.zeros(num_nodes, x.size(1), dtype=x.dtype, device=x.device)
            aggr.index_add_(0, dst, x[src])
            deg = torch.bincount(dst, minlength=num_nodes).clamp(min=1)
            aggr = aggr / deg.unsqueeze(-1).to(x.dtype)
            return self.lin_l(aggr) + self.lin_r(x)

    class GINConv(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.mlp = nn.Sequential(nn.Linear(in_channels, out_channels),
                                     nn.BatchNorm1d(out_channels), nn.ReLU(),
                                     nn.Linear(out_channels, out_channels))
            self.eps = nn.Parameter(torch.zeros(1))

        def forward(self, x, edge_index):
            src, dst = edge_index
            messages = x[src]
            index = dst.unsqueeze(-1).expand_as(messages)
            aggr = torch.zeros_like(x).scatter_add_(0, index, messages)
            return self.mlp((1 + self.eps) * x + aggr)

    class GATConv(nn.Module):
        def __init__(self, in_channels, out_channels, heads=1, concat=True, dropout=0.0):
            super().__init__()
            self.heads, self.out_channels = heads, out_channels
            self.concat, self.dropout = concat, dropout
            self.lin = nn.Linear(in_channels, heads * out_channels, bias=False)
            self.att_src = nn.Parameter(torch.empty(1, heads, out_channels))
            self.att_dst = nn.Parameter(torch.empty(1, heads, out_channels))
            self.bias = nn.Parameter(torch.zeros(heads * out_channels if concat
                                                 else out_channels))
            nn.init.xavier_uniform_(self.lin.weight)
            nn.init.xavier_uniform_(self.att_src)
            nn.init.xavier_uniform_(self.att_dst)

        def forward(self, x, edge_index):
            H, C = self.heads, self.out_channels
            src, dst = edge_index
            num_nodes = x.size(0)
            h = self.lin(x).view(-1, H, C)
            alpha_src = (h * self.att_src).sum(dim=-1)
            alpha_dst = (h * self.att_dst).sum(dim=-1)
            e = F.leaky_relu(alpha_src[src] + alpha_dst[dst], negative_slope=0.2)  # (E, H)
            index = dst.unsqueeze(-1).expand_as(e)
            e_max = e.new_zeros((num_nodes, H)).scatter_reduce(0, index, e, reduce="amax",
                                                               include_self=False)
            e = torch.exp(e - e_max[dst])
            denom = torch.zeros(num_nodes, H, dtype=e.dtype, device=e.device)
            denom.index_add_(0, dst, e)
            alpha = e / (denom[dst] + 1e-16)
            alpha = F.dropout(alpha, p=self.dropout, training=self.training)
            out = torch.zeros(num_nodes, H, C, dtype=h.dtype, device=h.device)
            out.index_add_(0, dst, h[src] * alpha.unsqueeze(-1))
            out = out.view(-1, H * C) if self.concat else out.mean(dim=1)
            return out + self.bias

    class MaxConv(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.lin = nn.Linear(in_channels, out_channels)
            self.root = nn.Linear(in_channels, out_channels, bias=False)

        def forward(self, x, edge_index):
            src, dst = edge_index
            h = F.relu(self.lin(x))
            index = dst.unsqueeze(-1).expand(-1, h.size(1))
            aggr = torch.zeros_like(h).scatter_reduce(0, index, h[src], reduce="amax",
                                                      include_self=False)
            return aggr + self.root(x)

    def conv_layers(conv, in_channels, hidden, out_channels, dropout):
        if conv == "gat":
            return (GATConv(in_channels, hidden // HEADS, heads=HEADS, dropout=dropout),
                    GATConv(hidden, out_channels, heads=2, concat=False, dropout=dropout))
        layer = {"sage": SAGEConv, "gin": GINConv, "max": MaxConv}[conv]
        return layer(in_channels, hidden), layer(hidden, out_channels)

    class NodeClassifier(nn.Module):
        def __init__(self, conv, in_channels, hidden, num_classes, dropout=0.5):
            super().__init__()
            self.conv1, self.conv2 = conv_layers(conv, in_channels, hidden, num_classes,
                                                 dropout)
            self.dropout = dropout
            self.act = F.elu if conv == "gat" else F.relu

        def forward(self, x, edge_index):
            x = F.dropout(x, p=self.dropout, training=self.training)
            x = self.act(self.conv1(x, edge_index))
            x = F.dropout(x, p=self.dropout, training=self.training)
            return self.conv2(x, edge_index)

    class GraphClassifier(nn.Module):
        def __init__(self, conv, in_channels, hidden, num_classes, layers=3, dropout=0.2):
            super().__init__()
            layer = {"sage": SAGEConv, "gin": GINConv, "max": MaxConv}[conv]
            self.convs = nn.ModuleList(
                [layer(in_channels if i == 0 else hidden, hidden) for i in range(layers)])
            self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(),
                                      nn.Dropout(dropout), nn.Linear(hidden, num_classes))

        def forward(self, x, edge_index, batch, num_graphs):
            for conv in self.convs:
                x = F.relu(conv(x, edge_index))
            pooled = torch.cat([global_mean_pool(torch, x, batch, num_graphs),
                                global_max_pool(torch, x, batch, num_graphs)], dim=1)
            return self.head(pooled)

    return {"sage": SAGEConv, "gin": GINConv, "gat": GATConv, "max": MaxConv,
            "node": NodeClassifier, "graph": GraphClassifier}


def node_graph(torch, seed: int = 0, self_loops: bool = False):
    """The SBM graph as tensors: features, the undirected edge index (self-loops appended if
    asked), labels, and the edge counts along the way."""
    x, raw, labels, pairs = make_sbm(seed=seed)
    raw = torch.from_numpy(raw)
    edge_index = to_undirected(torch, raw)
    counts = {"raw": int(raw.size(1)), "pairs": pairs, "undirected": int(edge_index.size(1))}
    if self_loops:
        edge_index = add_self_loops(torch, edge_index, x.shape[0])
    counts["used"] = int(edge_index.size(1))
    return torch.from_numpy(x), edge_index, torch.from_numpy(labels), counts


def masks(torch, num_nodes: int, train: int = 30, val: int = 40):
    perm = torch.randperm(num_nodes)
    train_mask = torch.zeros(num_nodes, dtype=torch.bool)
    val_mask = torch.zeros(num_nodes, dtype=torch.bool)
    test_mask = torch.zeros(num_nodes, dtype=torch.bool)
    train_mask[perm[:train]] = True
    val_mask[perm[train:train + val]] = True
    test_mask[perm[train + val:]] = True
    return train_mask, val_mask, test_mask


def train_nodes(torch, conv: str, epochs: int, patience: int, seed: int) -> dict:
    nn = torch.nn
    device = "cuda" if torch.cuda.is_available() else "cpu"
    x, edge_index, y, counts = node_graph(torch, seed, self_loops=conv in ("gat", "max"))
    x, edge_index, y = x.to(device), edge_index.to(device), y.to(device)
    train_mask, val_mask, test_mask = (m.to(device) for m in masks(torch, x.size(0)))
    dropout = 0.5
    model = build(torch)["node"](conv, FEATURES, HIDDEN, BLOCKS, dropout).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()

    @torch.no_grad()
    def evaluate():
        model.eval()
        pred = model(x, edge_index).argmax(dim=1)
        return [((pred[m] == y[m]).sum().item() / m.sum().item())
                for m in (train_mask, val_mask, test_mask)]

    initial_test = evaluate()[2]
    losses, best_val, best_epoch, best_state, waited = [], -1.0, -1, None, 0
    for epoch in range(epochs):
        model.train()
        optimizer.zero_grad()
        out = model(x, edge_index)
        loss = criterion(out[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        val_acc = evaluate()[1]
        if val_acc > best_val:
            best_val, best_epoch, waited = val_acc, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited >= patience:
                break
    grads_set = all(p.grad is not None and bool((p.grad != 0).any())
                    for p in model.parameters())
    model.load_state_dict(best_state)
    train_acc, val_acc, test_acc = evaluate()
    with torch.no_grad():
        logits = model(x, edge_index)
    return {"initial_loss": float(np.mean(losses[:3])), "final_loss": float(np.mean(losses[-5:])),
            "epochs_run": len(losses), "best_epoch": best_epoch, "best_val": best_val,
            "train_acc": train_acc, "val_acc": val_acc, "test_acc": test_acc,
            "initial_test_acc": initial_test, "edge_counts": counts,
            "mask_sizes": (int(train_mask.sum()), int(val_mask.sum()), int(test_mask.sum())),
            "grads_set": grads_set, "output": (tuple(logits.shape),
                                               str(logits.dtype).rsplit(".", 1)[-1]),
            "n_params": sum(p.numel() for p in model.parameters())}


def train_graphs(torch, conv: str, epochs: int, patience: int, seed: int,
                 batch_size: int = 16) -> dict:
    nn = torch.nn
    device = "cuda" if torch.cuda.is_available() else "cpu"
    graphs = make_cycles_and_paths(seed=seed)
    train_set, val_set = graphs[:64], graphs[64:]
    val_edges, val_batch, val_y = (t.to(device) for t in collate(torch, val_set))
    val_x = node_features(torch, conv, val_edges, val_batch.size(0))
    model = build(torch)["graph"](conv, val_x.size(1), HIDDEN, 2).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True,
                                         collate_fn=functools.partial(collate, torch))

    @torch.no_grad()
    def evaluate(edge_index, batch, y, x):
        model.eval()
        pred = model(x, edge_index, batch, y.size(0)).argmax(dim=-1)
        return (pred == y).float().mean().item()

    losses, best_val, best_epoch, best_state, waited = [], -1.0, -1, None, 0
    for epoch in range(epochs):
        model.train()
        epoch_loss = 0.0
        for edge_index, batch, y in loader:
            edge_index, batch, y = edge_index.to(device), batch.to(device), y.to(device)
            x = node_features(torch, conv, edge_index, batch.size(0))
            optimizer.zero_grad()
            loss = criterion(model(x, edge_index, batch, y.size(0)), y)
            loss.backward()
            optimizer.step()
            epoch_loss += loss.item() * y.size(0)
        losses.append(epoch_loss / len(train_set))
        val_acc = evaluate(val_edges, val_batch, val_y, val_x)
        if val_acc > best_val:
            best_val, best_epoch, waited = val_acc, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited >= patience:
                break
    model.load_state_dict(best_state)
    train_edges, train_batch, train_y = (t.to(device) for t in collate(torch, train_set))
    train_x = node_features(torch, conv, train_edges, train_batch.size(0))
    return {"initial_loss": losses[0], "final_loss": float(np.mean(losses[-3:])),
            "epochs_run": len(losses), "best_epoch": best_epoch, "best_val": best_val,
            "train_acc": evaluate(train_edges, train_batch, train_y, train_x),
            "val_acc": evaluate(val_edges, val_batch, val_y, val_x),
            "val_nodes": int(val_batch.size(0)), "val_edges": int(val_edges.size(1)),
            "n_params": sum(p.numel() for p in model.parameters())}


def main(torch, task: str = "node", conv: str = "sage", epochs: int | None = None,
         patience: int | None = None, seed: int = 0) -> dict:
    """Train a two-layer ``conv`` network on the SBM graph (``task="node"``) or a three-layer
    one with mean+max readout on cycles against paths (``task="graph"``), early-stopped on the
    validation accuracy; returns the losses' ends, the restored model's accuracies and what
    the graph utilities produced."""
    torch.manual_seed(seed)
    if task == "node":
        return train_nodes(torch, conv, epochs or 200, patience or 60, seed)
    return train_graphs(torch, conv, epochs or 40, patience or 15, seed)


if __name__ == "__main__":
    import argparse
    import importlib
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--task", default="node", choices=("node", "graph"))
    parser.add_argument("--conv", default="sage", choices=CONVS)
    args = parser.parse_args()
    start = time.perf_counter()
    print(main(importlib.import_module(args.lib), args.task, args.conv),
          f"{time.perf_counter() - start:.1f}s")
