"""Node classification with a sparse adjacency matrix, written as the classic GCN code for
PyTorch writes it (no graph library): bag-of-words features row-normalized in NumPy (the
reciprocal of an empty row's zero sum, ``inf``, set to 0), the symmetric-normalized adjacency
with self-loops ``D^-1/2 (A + I) D^-1/2`` built as COO triplets (row, col, data) and turned into a
sparse tensor, a ``GraphConvolution(nn.Module)`` whose ``Parameter`` weight and bias are drawn by
``uniform_(-stdv, stdv)`` in ``reset_parameters`` and whose forward is
``support = torch.mm(input, self.weight); output = torch.spmm(adj, support)``, dropout,
``F.log_softmax`` with ``F.nll_loss``, Adam with weight decay, train/validation/test index
tensors from ``torch.LongTensor(range(...))``, an accuracy by
``output.max(1)[1].type_as(labels)`` and ``.eq(labels).double().sum()``, and a log printed with
``loss.item()``.

Three variants:

``"kipf"``
    The old spelling: ``torch.FloatTensor`` / ``torch.LongTensor`` for the dense data and
    ``torch.sparse.FloatTensor(indices, values, torch.Size(shape))`` for the adjacency, whose
    COO entries come sorted from NumPy (though the tensor is not marked coalesced); both
    layers aggregate with ``torch.spmm``.
``"coo"``
    The current spelling: ``torch.sparse_coo_tensor(indices, values, shape)`` from entries
    listed in shuffled order, used as built (uncoalesced); the first layer aggregates with
    ``torch.sparse.mm(adj, support)``, the second with ``adj @ support``.
``"gat"``
    A graph attention network on the coalesced adjacency's ``indices()``: each head scores
    every edge from the features of its two ends (``leaky_relu``, ``exp``), puts the scores
    into ``torch.sparse_coo_tensor(edge_index, scores, (N, N))`` and aggregates with
    ``torch.sparse.mm``, dividing by the row sums (``torch.sparse.mm`` with a column of ones);
    the scores require grad, so the gradients reach the attention vectors through the sparse
    tensor's values. Edge dropout is applied to the values before the aggregation. The
    adjacency is the ``"coo"`` one, whose ``indices()`` exist only once it is coalesced.

Every variant also reports ``adj._nnz()``, ``adj.is_coalesced()`` before and after
``coalesce()``, and checks ``adj.to_dense()`` (symmetric, the same matrix as NumPy's) and the
sparse product ``torch.spmm`` against the dense one.

The graph: three communities, edges much denser inside than across, and features whose
topic words tell the community only faintly. Written once against the module ``torch``
passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import math
import time

import numpy as np

VARIANTS = ("kipf", "coo", "gat")
NODES, CLASSES, WORDS = 180, 3, 48
HIDDEN, HEADS, GAT_HIDDEN = 16, 4, 8


def make_graph(n: int = NODES, classes: int = CLASSES, words: int = WORDS, seed: int = 0):
    """Labels drawn at random (so index ranges mix the communities), an undirected edge list
    (each edge once, ``row < col``): probability 0.06 inside a community, 0.004 across; binary
    bag-of-words features, a community's own block of words present with probability 0.16,
    the others 0.1. The last node has no words at all."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, n).astype(np.int64)
    same = labels[:, None] == labels[None, :]
    upper = np.triu(rng.random((n, n)) < np.where(same, 0.06, 0.004), 1)
    row, col = np.nonzero(upper)
    topic = np.arange(words) * classes // words
    p = np.where(topic[None, :] == labels[:, None], 0.16, 0.1)
    features = (rng.random((n, words)) < p).astype(np.float32)
    features[-1] = 0.0
    return features, (row.astype(np.int64), col.astype(np.int64)), labels


def normalize_rows(mx):
    """Each row divided by its sum; an all-zero row stays zero."""
    rowsum = mx.sum(1)
    with np.errstate(divide="ignore"):
        r_inv = np.power(rowsum, -1.0)
    r_inv[np.isinf(r_inv)] = 0.0
    return (mx * r_inv[:, None]).astype(np.float32)


def normalized_adjacency(edges, n: int, shuffle_seed=None):
    """COO triplets of ``D^-1/2 (A + I) D^-1/2``: both directions of every edge and the
    self-loops, sorted row-major, or in a random order when ``shuffle_seed`` is given."""
    row, col = edges
    loops = np.arange(n, dtype=np.int64)
    r = np.concatenate([row, col, loops])
    c = np.concatenate([col, row, loops])
    degree = np.bincount(r, minlength=n).astype(np.float64)
    d_inv_sqrt = np.power(degree, -0.5)
    data = (d_inv_sqrt[r] * d_inv_sqrt[c]).astype(np.float32)
    if shuffle_seed is None:
        order = np.lexsort((c, r))
    else:
        order = np.random.default_rng(shuffle_seed).permutation(len(r))
    return r[order], c[order], data[order]


def dense_adjacency(edges, n: int):
    """The same matrix as a dense NumPy array (float64), for the checks."""
    r, c, data = normalized_adjacency(edges, n)
    dense = np.zeros((n, n))
    dense[r, c] = data
    return dense


def build(torch):
    """The layers and models, made from ``torch``."""
    nn, F = torch.nn, torch.nn.functional
    Parameter = nn.Parameter

    class GraphConvolution(nn.Module):
        """``adj @ (input @ W) + b``; ``aggregate`` says how the sparse product is spelled."""

        def __init__(self, in_features, out_features, bias=True, aggregate="spmm"):
            super().__init__()
            self.in_features = in_features
            self.out_features = out_features
            self.aggregate = aggregate
            self.weight = Parameter(torch.FloatTensor(in_features, out_features))
            if bias:
                self.bias = Parameter(torch.FloatTensor(out_features))
            else:
                self.register_parameter("bias", None)
            self.reset_parameters()

        def reset_parameters(self):
            stdv = 1.0 / math.sqrt(self.weight.size(1))
            self.weight.data.uniform_(-stdv, stdv)
            if self.bias is not None:
                self.bias.data.uniform_(-stdv, stdv)

        def forward(self, input, adj):
            support = torch.mm(input, self.weight)
            if self.aggregate == "spmm":
                output = torch.spmm(adj, support)
            elif self.aggregate == "sparse.mm":
                output = torch.sparse.mm(adj, support)
            else:
                output = adj @ support
            if self.bias is not None:
                return output + self.bias
            return output

        def __repr__(self):
            return (f"{self.__class__.__name__} ({self.in_features} -> "
                    f"{self.out_features})")

    class GCN(nn.Module):
        def __init__(self, nfeat, nhid, nclass, dropout, aggregates=("spmm", "spmm")):
            super().__init__()
            self.gc1 = GraphConvolution(nfeat, nhid, aggregate=aggregates[0])
            self.gc2 = GraphConvolution(nhid, nclass, aggregate=aggregates[1])
            self.dropout = dropout

        def forward(self, x, adj):
            x = F.relu(self.gc1(x, adj))
            x = F.dropout(x, self.dropout, training=self.training)
            x = self.gc2(x, adj)
            return F.log_softmax(x, dim=1)

    class SparseGraphAttention(nn.Module):
        """One attention head: ``h = x W``; edge (i <- j) scores
        ``exp(leaky_relu(a_dst . h_i + a_src . h_j))`` (shifted by their detached maximum),
        normalized over each row by the row sums of the sparse score matrix."""

        def __init__(self, in_features, out_features, dropout, alpha=0.2):
            super().__init__()
            self.dropout = dropout
            self.alpha = alpha
            self.W = Parameter(torch.empty(in_features, out_features))
            self.a_src = Parameter(torch.empty(out_features, 1))
            self.a_dst = Parameter(torch.empty(out_features, 1))
            self.reset_parameters()

        def reset_parameters(self):
            nn.init.xavier_uniform_(self.W, gain=1.414)
            stdv = 1.0 / math.sqrt(self.a_src.size(0))
            self.a_src.data.uniform_(-stdv, stdv)
            self.a_dst.data.uniform_(-stdv, stdv)

        def forward(self, x, edge_index):
            N = x.size(0)
            h = torch.mm(x, self.W)
            dst, src = edge_index[0], edge_index[1]
            logits = (torch.mm(h, self.a_dst).squeeze(1)[dst]
                      + torch.mm(h, self.a_src).squeeze(1)[src])
            logits = F.leaky_relu(logits, self.alpha)
            scores = torch.exp(logits - logits.max().detach())
            attention = torch.sparse_coo_tensor(edge_index, scores, (N, N))
            rowsum = torch.sparse.mm(attention, torch.ones(N, 1, dtype=h.dtype))
            dropped = F.dropout(scores, self.dropout, training=self.training)
            attention = torch.sparse_coo_tensor(edge_index, dropped, (N, N))
            return torch.sparse.mm(attention, h).div(rowsum)

    class SpGAT(nn.Module):
        def __init__(self, nfeat, nhid, nclass, dropout, nheads, alpha=0.2):
            super().__init__()
            self.dropout = dropout
            self.attentions = nn.ModuleList(
                [SparseGraphAttention(nfeat, nhid, dropout, alpha) for _ in range(nheads)])
            self.out_att = SparseGraphAttention(nhid * nheads, nclass, dropout, alpha)

        def forward(self, x, edge_index):
            x = F.dropout(x, self.dropout, training=self.training)
            x = torch.cat([att(x, edge_index) for att in self.attentions], dim=1)
            x = F.elu(x)
            x = F.dropout(x, self.dropout, training=self.training)
            x = self.out_att(x, edge_index)
            return F.log_softmax(x, dim=1)

    return GraphConvolution, GCN, SparseGraphAttention, SpGAT


def make_model(torch, variant: str, dtype: str = "float32", dropout: float = 0.5,
               initial_state=None):
    """A fresh model for ``variant`` in ``dtype``, with ``initial_state`` loaded if given."""
    _, GCN, _, SpGAT = build(torch)
    if variant == "gat":
        model = SpGAT(WORDS, GAT_HIDDEN, CLASSES, dropout=dropout, nheads=HEADS)
    elif variant == "coo":
        model = GCN(WORDS, HIDDEN, CLASSES, dropout, aggregates=("sparse.mm", "matmul"))
    else:
        model = GCN(WORDS, HIDDEN, CLASSES, dropout)
    model = model.to(getattr(torch, dtype))
    if initial_state is not None:
        model.load_state_dict(initial_state)
    return model


def sparse_adjacency(torch, variant: str, edges, n: int):
    """The normalized adjacency as a sparse float32 tensor, built the ``variant``'s way, and
    whether it was coalesced as built."""
    if variant == "kipf":
        r, c, data = normalized_adjacency(edges, n)
        indices = torch.from_numpy(np.vstack((r, c)).astype(np.int64))
        values = torch.from_numpy(data)
        shape = torch.Size((n, n))
        adj = torch.sparse.FloatTensor(indices, values, shape)
    else:
        r, c, data = normalized_adjacency(edges, n, shuffle_seed=1)
        indices = torch.from_numpy(np.vstack((r, c)).astype(np.int64))
        values = torch.from_numpy(data)
        adj = torch.sparse_coo_tensor(indices, values, (n, n))
    return adj, adj.is_coalesced()


def accuracy(output, labels):
    preds = output.max(1)[1].type_as(labels)
    correct = preds.eq(labels).double()
    correct = correct.sum()
    return correct / len(labels)


def main(torch, variant: str = "kipf", epochs: int = 120, seed: int = 0,
         dtype: str = "float32", dropout: float | None = None, initial_state=None,
         log_every: int = 40) -> dict:
    """Train ``epochs`` full-graph Adam steps (from ``initial_state`` if given; ``dropout``
    None means the variant's usual rate) and test; returns the first and last losses, every
    loss, the accuracies, and what the checks of the sparse adjacency found."""
    F = torch.nn.functional
    torch.manual_seed(seed)
    raw_features, edges, raw_labels = make_graph(seed=seed)
    n = raw_features.shape[0]
    real = getattr(torch, dtype)

    features = torch.FloatTensor(normalize_rows(raw_features)).to(real)
    labels = torch.LongTensor(raw_labels)
    adj, built_coalesced = sparse_adjacency(torch, variant, edges, n)
    if dtype != "float32":
        adj = adj.to(real)
    nnz = adj._nnz()
    coalesced = adj.coalesce()
    edge_index = coalesced.indices()

    # the sparse matrix is the dense one, and the sparse product the dense product
    dense = adj.to_dense()
    reference = dense_adjacency(edges, n)
    adj_error = float(np.abs(dense.numpy().astype(np.float64) - reference).max())
    asymmetry = float((dense - dense.t()).abs().max())
    spmm_error = float((torch.spmm(adj, features) - torch.mm(dense, features)).abs().max())

    idx_train = torch.LongTensor(range(30))
    idx_val = torch.LongTensor(range(30, 80))
    idx_test = torch.LongTensor(range(80, n))

    if dropout is None:
        dropout = 0.4 if variant == "gat" else 0.5
    model = make_model(torch, variant, dtype, dropout, initial_state)
    if variant == "gat":
        graph = edge_index
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    else:
        graph = adj
        optimizer = torch.optim.Adam(model.parameters(), lr=0.02, weight_decay=5e-4)

    losses, val_losses = [], []

    def train(epoch):
        t = time.time()
        model.train()
        optimizer.zero_grad()
        output = model(features, graph)
        loss_train = F.nll_loss(output[idx_train], labels[idx_train])
        acc_train = accuracy(output[idx_train], labels[idx_train])
        loss_train.backward()
        optimizer.step()

        model.eval()
        with torch.no_grad():
            output = model(features, graph)
        loss_val = F.nll_loss(output[idx_val], labels[idx_val])
        acc_val = accuracy(output[idx_val], labels[idx_val])
        losses.append(loss_train.item())
        val_losses.append(loss_val.item())
        if log_every and (epoch + 1) % log_every == 0:
            print(f"Epoch: {epoch + 1:04d}",
                  f"loss_train: {loss_train.item():.4f}",
                  f"acc_train: {acc_train.item():.4f}",
                  f"loss_val: {loss_val.item():.4f}",
                  f"acc_val: {acc_val.item():.4f}",
                  f"time: {time.time() - t:.4f}s")

    def test():
        model.eval()
        with torch.no_grad():
            output = model(features, graph)
        loss_test = F.nll_loss(output[idx_test], labels[idx_test])
        acc_test = accuracy(output[idx_test], labels[idx_test])
        if log_every:
            print("Test set results:", f"loss= {loss_test.item():.4f}",
                  f"accuracy= {acc_test.item():.4f}")
        return loss_test.item(), acc_test.item(), str(output.dtype).rsplit(".", 1)[-1]

    def accuracies():
        model.eval()
        with torch.no_grad():
            output = model(features, graph)
        return [accuracy(output[idx], labels[idx]).item()
                for idx in (idx_train, idx_val, idx_test)]

    initial_test_acc = accuracies()[2]
    t_total = time.time()
    for epoch in range(epochs):
        train(epoch)
    if log_every:
        print(f"Optimization finished, total time elapsed: {time.time() - t_total:.4f}s")
    test_loss, test_acc, output_dtype = test()
    train_acc, val_acc, _ = accuracies()
    grads_set = all(p.grad is not None and bool((p.grad != 0).any())
                    for p in model.parameters())
    return {
        "initial_loss": float(np.mean(losses[:3])),
        "final_loss": float(np.mean(losses[-5:])),
        "losses": losses,
        "val_losses": val_losses,
        "initial_test_acc": initial_test_acc,
        "train_acc": train_acc,
        "val_acc": val_acc,
        "test_acc": test_acc,
        "test_loss": test_loss,
        "output_dtype": output_dtype,
        "grads_set": grads_set,
        "nnz": nnz,
        "coalesced": (built_coalesced, coalesced.is_coalesced(), coalesced._nnz()),
        "adj_layout": str(adj.layout).rsplit(".", 1)[-1],
        "adj_error": adj_error,
        "asymmetry": asymmetry,
        "spmm_error": spmm_error,
        "edges": tuple(edge_index.shape),
        "splits": (len(idx_train), len(idx_val), len(idx_test)),
        "n_params": sum(p.numel() for p in model.parameters()),
    }


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--variant", default="kipf", choices=VARIANTS)
    parser.add_argument("--epochs", type=int, default=120)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    args = parser.parse_args()
    start = time.perf_counter()
    result = main(importlib.import_module(args.lib), args.variant, epochs=args.epochs,
                  dtype=args.dtype)
    result.pop("losses")
    result.pop("val_losses")
    print(result, f"{time.perf_counter() - start:.1f}s")
