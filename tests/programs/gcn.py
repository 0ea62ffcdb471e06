"""A graph convolutional network for node classification, its message passing written by hand
as GCN code without a graph library writes it: an ``edge_index`` of shape (2, E), self-loops
added, degrees by ``scatter_add_``, the symmetric normalization ``deg.pow(-0.5)`` with the
infinities of isolated nodes ``masked_fill_``-ed to zero, messages ``x[col] * norm.view(-1, 1)``
summed into their targets by ``index_add_``; a mean-aggregating variant by ``scatter_reduce``
("mean", ``include_self=False``). Trained by Adam with weight decay on the first layer only (two
parameter groups) on a boolean train mask, evaluated by a ``@torch.no_grad()`` function,
early-stopped on validation accuracy with the best ``copy.deepcopy(model.state_dict())``.
The graph: two communities, dense inside and sparse between, whose features tell the
community only faintly.

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import copy

import numpy as np


def _graph(n: int, seed: int):
    """Two communities of ``n // 2`` nodes: edges inside with probability 0.1, across with
    0.01 (both directions listed); 8 features, the community shifting their mean by 0.3.
    The last node has no edges, so its degree (before self-loops) is zero."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) >= n // 2).astype(np.int64)
    same = labels[:, None] == labels[None, :]
    upper = np.triu(rng.random((n, n)) < np.where(same, 0.1, 0.01), 1)
    upper[-1, :] = upper[:, -1] = False
    src, dst = np.nonzero(upper)
    edge_index = np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])])
    features = rng.standard_normal((n, 8)).astype(np.float32)
    features[:, :2] += 0.3 * (2 * labels[:, None] - 1)
    return features, edge_index.astype(np.int64), labels


def main(torch, epochs: int = 150, patience: int = 30, seed: int = 0) -> dict:
    """Train until validation accuracy stalls for ``patience`` epochs; returns the first and
    last training losses, the best epoch and the restored model's accuracies, what the
    normalization made of the isolated node, and the optimizer's groups."""
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(seed)
    features, edges, labels = _graph(120, seed)
    x = torch.tensor(features)
    edge_index = torch.from_numpy(edges)
    y = torch.from_numpy(labels)
    num_nodes = x.size(0)

    def add_self_loops(edge_index, num_nodes):
        loop = torch.arange(num_nodes, dtype=torch.long, device=edge_index.device)
        loop = loop.unsqueeze(0).repeat(2, 1)
        return torch.cat([edge_index, loop], dim=1)

    def gcn_norm(edge_index, num_nodes, self_loops=True):
        if self_loops:
            edge_index = add_self_loops(edge_index, num_nodes)
        row, col = edge_index
        edge_weight = torch.ones(edge_index.size(1), dtype=torch.float32)
        deg = torch.zeros(num_nodes, dtype=edge_weight.dtype).scatter_add_(0, row, edge_weight)
        deg_inv_sqrt = deg.pow(-0.5)
        deg_inv_sqrt.masked_fill_(deg_inv_sqrt == float("inf"), 0)
        norm = deg_inv_sqrt[row] * edge_weight * deg_inv_sqrt[col]
        return edge_index, norm, deg_inv_sqrt

    class GCNConv(nn.Module):
        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.lin = nn.Linear(in_channels, out_channels, bias=False)
            self.bias = nn.Parameter(torch.empty(out_channels))
            self.reset_parameters()

        def reset_parameters(self):
            nn.init.xavier_uniform_(self.lin.weight)
            nn.init.zeros_(self.bias)

        def forward(self, x, edge_index, norm):
            x = self.lin(x)
            row, col = edge_index
            msgs = x[col] * norm.view(-1, 1)
            out = torch.zeros_like(x)
            out.index_add_(0, row, msgs)
            return out + self.bias

    class MeanConv(nn.Module):
        """GraphSAGE-style: the mean of the neighbours beside the node's own features."""

        def __init__(self, in_channels, out_channels):
            super().__init__()
            self.lin_self = nn.Linear(in_channels, out_channels)
            self.lin_neigh = nn.Linear(in_channels, out_channels, bias=False)

        def forward(self, x, edge_index):
            row, col = edge_index
            index = row.unsqueeze(-1).expand(-1, x.size(1))
            mean = x.new_zeros(x.shape).scatter_reduce(0, index, x[col], reduce="mean",
                                                       include_self=False)
            return self.lin_self(x) + self.lin_neigh(mean)

    class GCN(nn.Module):
        def __init__(self, in_channels, hidden_channels, num_classes, dropout=0.5):
            super().__init__()
            self.conv1 = GCNConv(in_channels, hidden_channels)
            self.conv2 = GCNConv(hidden_channels, hidden_channels)
            self.sage = MeanConv(hidden_channels, num_classes)
            self.dropout = dropout

        def forward(self, x, edge_index, norm):
            x = F.dropout(x, p=self.dropout, training=self.training)
            x = F.relu(self.conv1(x, edge_index, norm))
            x = F.dropout(x, p=self.dropout, training=self.training)
            x = F.relu(self.conv2(x, edge_index, norm))
            return F.log_softmax(self.sage(x, edge_index), dim=1)

    norm_index, norm, deg_inv_sqrt = gcn_norm(edge_index, num_nodes)
    _, _, raw_inv_sqrt = gcn_norm(edge_index, num_nodes, self_loops=False)
    perm = torch.randperm(num_nodes)
    train_mask = torch.zeros(num_nodes, dtype=torch.bool)
    val_mask = torch.zeros(num_nodes, dtype=torch.bool)
    test_mask = torch.zeros(num_nodes, dtype=torch.bool)
    train_mask[perm[:20]] = True
    val_mask[perm[20:60]] = True
    test_mask[perm[60:]] = True

    model = GCN(x.size(1), 16, 2)
    optimizer = torch.optim.Adam([
        dict(params=model.conv1.parameters(), weight_decay=5e-4),
        dict(params=[*model.conv2.parameters(), *model.sage.parameters()], weight_decay=0),
    ], lr=0.01)

    def train():
        model.train()
        optimizer.zero_grad()
        out = model(x, norm_index, norm)
        loss = F.nll_loss(out[train_mask], y[train_mask])
        loss.backward()
        optimizer.step()
        return float(loss)

    @torch.no_grad()
    def test():
        model.eval()
        pred = model(x, norm_index, norm).argmax(dim=-1)
        accs = []
        for mask in [train_mask, val_mask, test_mask]:
            accs.append(int((pred[mask] == y[mask]).sum()) / int(mask.sum()))
        return accs

    losses, best_val, best_epoch, best_state, bad_epochs = [], 0.0, -1, None, 0
    for epoch in range(epochs):
        losses.append(train())
        _, val_acc, _ = test()
        if val_acc > best_val:
            best_val, best_epoch, bad_epochs = val_acc, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
            if bad_epochs >= patience:
                break
    model.load_state_dict(best_state)
    train_acc, val_acc, test_acc = test()
    return {"initial_loss": float(np.mean(losses[:3])), "final_loss": float(np.mean(losses[-5:])),
            "best_epoch": best_epoch, "epochs_run": len(losses),
            "train_acc": train_acc, "val_acc": val_acc, "best_val": best_val,
            "test_acc": test_acc,
            "isolated": (float(raw_inv_sqrt[-1]), float(deg_inv_sqrt[-1])),
            "norm_sum": float(norm.sum()), "edges": tuple(norm_index.shape),
            "groups": [(len(g["params"]), g["weight_decay"]) for g in optimizer.param_groups],
            "masks": (str(train_mask.dtype).rsplit(".", 1)[-1], int(train_mask.sum()),
                      int(val_mask.sum()), int(test_mask.sum()))}


if __name__ == "__main__":
    import importlib
    import sys

    print(main(importlib.import_module(sys.argv[1] if len(sys.argv) > 1 else "gpugrad")))
