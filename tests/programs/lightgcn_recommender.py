"""A collaborative-filtering recommender trained on implicit feedback with the BPR loss, written
the way PyTorch code for LightGCN and BPR matrix factorization is usually written (no graph or
recommender library):

* a synthetic interaction log made in NumPy: users and items carry hidden taste vectors, and a
  user picks items by a softmax of their affinity plus an item popularity (the last ``COLD``
  items, new to the catalogue, are never picked, so their nodes have no edges); each user's
  interactions are split into training and held-out test items (at least one of each);
* the bipartite user-item graph of the training interactions, its adjacency
  ``A = [[0, R], [R^T, 0]]`` normalized to ``D^-1/2 A D^-1/2``;
* ``nn.Embedding`` tables for users and items, propagated over ``K`` layers by
  ``torch.sparse.mm(graph, all_emb)`` in a Python loop, the layer outputs combined by
  ``torch.stack(embs, dim=1).mean(dim=1)`` and split back by
  ``torch.split(out, [n_users, n_items])``;
* a BPR loss on (user, positive item, negative item) triples with an L2 penalty on the
  batch's layer-0 embeddings (``.norm(2).pow(2)`` over the batch size), a ``DataLoader`` over
  the (user, positive item) pairs, Adam;
* evaluation on the full score matrix ``users_emb @ items_emb.t()`` with the training items
  set to ``-inf`` by index assignment, ``torch.topk``, and recall@k, precision@k and NDCG@k
  from tensor ops (``gather`` on a dense test mask, ``torch.log2`` discounts, a ``cumsum`` of
  the discounts for the ideal DCG); the hit counts are also found per user by ``torch.isin``.

Three variants:

``"lightgcn"``
    The graph normalized in NumPy and handed over as
    ``torch.sparse_coo_tensor(indices, values, size).coalesce()``; ``K = 3`` layers;
    ``nn.init.normal_(std=0.1)``; edge dropout by ``F.dropout`` on the coalesced graph's
    ``values()`` put back into a ``sparse_coo_tensor``; loss ``F.softplus(neg - pos)``.
``"legacy"``
    The raw 0/1 adjacency built with the old ``torch.sparse.FloatTensor(index, data,
    torch.Size(...))`` and normalized in the library: degrees by
    ``torch.sparse.sum(A, dim=1).to_dense()``, ``pow(-0.5)`` with the infinities of items
    nobody trained on zeroed by ``d[torch.isinf(d)] = 0``, the values scaled through
    ``_indices()``; edge dropout by a keep-probability mask
    (``(torch.rand(nnz) + keep_prob).int().bool()``) indexing the indices and values, the kept
    values divided by ``keep_prob``; ``K = 2`` layers.
``"ngcf"``
    NGCF: the NumPy-normalized graph as an uncoalesced ``torch.sparse.FloatTensor``; weights
    in ``nn.ParameterDict``s initialized by ``nn.init.xavier_uniform_``; two layers, each
    ``leaky_relu((L E) W1 + b1 + (E * L E) W2 + b2)``, message dropout (``nn.Dropout``) and
    ``F.normalize``, the layers concatenated (``torch.cat(..., 1)``); node dropout by a
    ``torch.floor(1 - rate + torch.rand(nnz)).type(torch.bool)`` mask over the columns of
    ``_indices()``, the sparse result multiplied by ``1 / (1 - rate)``; loss
    ``-torch.mean(nn.LogSigmoid()(pos - neg))`` with the penalty on the propagated
    embeddings (``torch.norm(x) ** 2``).
``"mf"``
    The plain BPR matrix factorization baseline (``K = 0``): ``nn.Embedding`` lookups of the
    batch, ``nn.init.xavier_normal_``, loss ``-F.logsigmoid(pos - neg)``.
``"mf_sparse"``
    The same model with ``nn.Embedding(..., sparse=True)`` tables, whose gradients are sparse
    (only the rows a batch looked up), stepped by ``torch.optim.SparseAdam``, as large-catalogue
    MF code does.

Negatives come from ``torch.randint`` over all items and the pairs are shuffled by the
``DataLoader`` (``sampling="torch"``), or, as LightGCN's reference code samples, both are drawn
by NumPy each epoch, the negatives rejected while the user has trained on them
(``sampling="numpy"``: the run then uses no random stream of the library but the dropout's,
which the exactness check turns off).

Written once against the module ``torch`` passed to ``main``: ``gpugrad`` or PyTorch.
"""

from __future__ import annotations

import time

import numpy as np

VARIANTS = ("lightgcn", "legacy", "ngcf", "mf", "mf_sparse")
USERS, ITEMS, TASTES, COLD = 160, 240, 4, 4
DIM, TOP_K = 32, 10
LAYERS = {"lightgcn": 3, "legacy": 2, "ngcf": 2, "mf": 0, "mf_sparse": 0}


def make_interactions(n_users: int = USERS, n_items: int = ITEMS, seed: int = 0,
                      test_fraction: float = 0.2):
    """Implicit feedback with hidden structure: per user 12 to 30 distinct items drawn by the
    softmax of ``3 * <user taste, item taste> + popularity``. Returns the training and test
    (user, item) pairs as int64 arrays, sorted by user, each user with at least one of each."""
    rng = np.random.default_rng(seed)
    user_taste = rng.standard_normal((n_users, TASTES)) / np.sqrt(TASTES)
    item_taste = rng.standard_normal((n_items, TASTES)) / np.sqrt(TASTES)
    popularity = rng.normal(0.0, 0.5, n_items)
    popularity[-COLD:] = -np.inf  # new items nobody has picked yet
    logits = 3.0 * user_taste @ item_taste.T + popularity
    train, test = [], []
    for u in range(n_users):
        p = np.exp(logits[u] - logits[u].max())
        p /= p.sum()
        count = int(rng.integers(12, 31))
        items = rng.choice(n_items, size=count, replace=False, p=p)
        n_test = max(1, int(round(test_fraction * count)))
        test += [(u, i) for i in items[:n_test]]
        train += [(u, i) for i in items[n_test:]]
    train = np.array(sorted(train), dtype=np.int64)
    test = np.array(sorted(test), dtype=np.int64)
    return train, test


def bipartite_edges(train, n_users: int):
    """Both directions of every training interaction as (row, col) of the
    ``(users + items)``-node graph (items numbered after the users)."""
    u, i = train[:, 0], train[:, 1] + n_users
    return np.concatenate([u, i]), np.concatenate([i, u])


def normalized_adjacency(train, n_users: int, n_items: int):
    """COO triplets of ``D^-1/2 A D^-1/2``, in the order of ``bipartite_edges`` (users' rows
    first, unsorted within the item rows), float32; a node without edges has no entry."""
    row, col = bipartite_edges(train, n_users)
    degree = np.bincount(row, minlength=n_users + n_items).astype(np.float64)
    with np.errstate(divide="ignore"):
        d_inv_sqrt = np.power(degree, -0.5)
    d_inv_sqrt[np.isinf(d_inv_sqrt)] = 0.0
    data = (d_inv_sqrt[row] * d_inv_sqrt[col]).astype(np.float32)
    return row, col, data


def dense_adjacency(train, n_users: int, n_items: int):
    """The normalized adjacency as a dense float64 NumPy matrix, for the checks."""
    row, col, _ = normalized_adjacency(train, n_users, n_items)
    n = n_users + n_items
    degree = np.bincount(row, minlength=n).astype(np.float64)
    dense = np.zeros((n, n))
    dense[row, col] = 1.0
    scale = np.where(degree > 0, degree, 1.0) ** -0.5
    return dense * scale[:, None] * scale[None, :]


def graph_tensor(torch, variant: str, train, n_users: int, n_items: int):
    """The normalized adjacency as a sparse float32 tensor, built the ``variant``'s way."""
    n = n_users + n_items
    if variant == "legacy":
        row, col = bipartite_edges(train, n_users)
        index = torch.LongTensor(np.vstack([row, col]))
        data = torch.ones(index.shape[1])
        A = torch.sparse.FloatTensor(index, data, torch.Size([n, n]))
        rowsum = torch.sparse.sum(A, dim=1).to_dense()
        d_inv = rowsum.pow(-0.5)
        d_inv[torch.isinf(d_inv)] = 0.0
        i, v = A._indices(), A._values()
        values = d_inv[i[0]] * v * d_inv[i[1]]
        return torch.sparse.FloatTensor(i, values, torch.Size([n, n])).coalesce()
    row, col, data = normalized_adjacency(train, n_users, n_items)
    if variant == "ngcf":  # NGCF's conversion of a SciPy COO matrix, left uncoalesced
        i = torch.LongTensor(np.array([row, col]))
        v = torch.from_numpy(data).float()
        return torch.sparse.FloatTensor(i, v, torch.Size((n, n)))
    indices = torch.from_numpy(np.vstack([row, col]))
    values = torch.from_numpy(data)
    return torch.sparse_coo_tensor(indices, values, (n, n)).coalesce()


def build(torch):
    """The models, made from ``torch``."""
    nn, F = torch.nn, torch.nn.functional

    class LightGCN(nn.Module):
        """Embeddings smoothed over the user-item graph: the mean of the layer-0 embeddings
        and their ``n_layers`` propagations."""

        def __init__(self, n_users, n_items, graph, dim=DIM, n_layers=3, dropout_kind=None,
                     edge_dropout=0.0, keep_prob=1.0, reg=1e-4):
            super().__init__()
            self.dropout_kind = dropout_kind
            self.num_users, self.num_items = n_users, n_items
            self.n_layers = n_layers
            self.edge_dropout = edge_dropout
            self.keep_prob = keep_prob
            self.reg = reg
            self.Graph = graph
            self.embedding_user = nn.Embedding(n_users, dim)
            self.embedding_item = nn.Embedding(n_items, dim)
            nn.init.normal_(self.embedding_user.weight, std=0.1)
            nn.init.normal_(self.embedding_item.weight, std=0.1)

        def _values_dropout(self, graph):
            """Edge dropout spelled as ``F.dropout`` on the sparse tensor's values."""
            values = F.dropout(graph.values(), p=self.edge_dropout, training=True)
            return torch.sparse_coo_tensor(graph.indices(), values, graph.size())

        def _mask_dropout(self, graph):
            """Edge dropout spelled as a keep mask over the entries, rescaling the kept."""
            size = graph.size()
            index = graph.indices().t()
            values = graph.values()
            keep = (torch.rand(len(values)) + self.keep_prob).int().bool()
            index = index[keep]
            values = values[keep] / self.keep_prob
            return torch.sparse.FloatTensor(index.t(), values, size)

        def computer(self):
            users_emb = self.embedding_user.weight
            items_emb = self.embedding_item.weight
            all_emb = torch.cat([users_emb, items_emb])
            embs = [all_emb]
            graph = self.Graph
            if self.training and self.dropout_kind == "values":
                graph = self._values_dropout(graph)
            elif self.training and self.dropout_kind == "mask":
                graph = self._mask_dropout(graph)
            for _ in range(self.n_layers):
                all_emb = torch.sparse.mm(graph, all_emb)
                embs.append(all_emb)
            embs = torch.stack(embs, dim=1)
            light_out = torch.mean(embs, dim=1)
            users, items = torch.split(light_out, [self.num_users, self.num_items])
            return users, items

        def get_embedding(self, users, pos_items, neg_items):
            all_users, all_items = self.computer()
            users_emb = all_users[users]
            pos_emb = all_items[pos_items]
            neg_emb = all_items[neg_items]
            users_emb_ego = self.embedding_user(users)
            pos_emb_ego = self.embedding_item(pos_items)
            neg_emb_ego = self.embedding_item(neg_items)
            return users_emb, pos_emb, neg_emb, users_emb_ego, pos_emb_ego, neg_emb_ego

        def bpr_loss(self, users, pos, neg):
            (users_emb, pos_emb, neg_emb,
             user_ego, pos_ego, neg_ego) = self.get_embedding(users.long(), pos.long(),
                                                              neg.long())
            reg_loss = (1 / 2) * (user_ego.norm(2).pow(2)
                                  + pos_ego.norm(2).pow(2)
                                  + neg_ego.norm(2).pow(2)) / float(len(users))
            pos_scores = torch.mul(users_emb, pos_emb).sum(dim=1)
            neg_scores = torch.mul(users_emb, neg_emb).sum(dim=1)
            loss = torch.mean(F.softplus(neg_scores - pos_scores))
            return loss + self.reg * reg_loss, loss

        def forward(self, users, items):
            all_users, all_items = self.computer()
            return torch.sum(all_users[users] * all_items[items], dim=1)

    class NGCF(nn.Module):
        """Neural graph collaborative filtering: per layer, the graph-smoothed embeddings
        ``L E`` pass through one linear map and their element-wise product with ``E`` through
        another, summed, ``leaky_relu``, message dropout, L2-normalized; the final
        embedding concatenates all layers."""

        def __init__(self, n_users, n_items, norm_adj, dim=DIM, layer_sizes=(DIM, DIM),
                     node_dropout=0.1, mess_dropout=0.1, reg=1e-4):
            super().__init__()
            self.n_user, self.n_item = n_users, n_items
            self.norm_adj = norm_adj
            self.node_dropout = node_dropout
            self.reg = reg
            self.layers = [dim] + list(layer_sizes)
            initializer = nn.init.xavier_uniform_
            self.embedding_dict = nn.ParameterDict({
                "user_emb": nn.Parameter(initializer(torch.empty(n_users, dim))),
                "item_emb": nn.Parameter(initializer(torch.empty(n_items, dim))),
            })
            self.weight_dict = nn.ParameterDict()
            for k in range(len(layer_sizes)):
                shape = (self.layers[k], self.layers[k + 1])
                self.weight_dict.update({
                    f"W_gc_{k}": nn.Parameter(initializer(torch.empty(shape))),
                    f"b_gc_{k}": nn.Parameter(initializer(torch.empty(1, shape[1]))),
                    f"W_bi_{k}": nn.Parameter(initializer(torch.empty(shape))),
                    f"b_bi_{k}": nn.Parameter(initializer(torch.empty(1, shape[1]))),
                })
            self.mess_dropout = nn.ModuleList(
                [nn.Dropout(mess_dropout) for _ in layer_sizes])

        def sparse_dropout(self, x, rate, noise_shape):
            """Node dropout: entries kept where ``floor(1 - rate + U[0, 1))`` is 1, the sparse
            result scaled by ``1 / (1 - rate)``."""
            random_tensor = 1 - rate
            random_tensor += torch.rand(noise_shape)
            dropout_mask = torch.floor(random_tensor).type(torch.bool)
            i = x._indices()
            v = x._values()
            i = i[:, dropout_mask]
            v = v[dropout_mask]
            out = torch.sparse.FloatTensor(i, v, x.shape)
            return out * (1.0 / (1 - rate))

        def computer(self):
            if self.training:
                A_hat = self.sparse_dropout(self.norm_adj, self.node_dropout,
                                            self.norm_adj._nnz())
            else:
                A_hat = self.norm_adj
            ego_embeddings = torch.cat([self.embedding_dict["user_emb"],
                                        self.embedding_dict["item_emb"]], 0)
            all_embeddings = [ego_embeddings]
            for k in range(len(self.layers) - 1):
                side_embeddings = torch.sparse.mm(A_hat, ego_embeddings)
                sum_embeddings = (torch.matmul(side_embeddings, self.weight_dict[f"W_gc_{k}"])
                                  + self.weight_dict[f"b_gc_{k}"])
                bi_embeddings = torch.mul(ego_embeddings, side_embeddings)
                bi_embeddings = (torch.matmul(bi_embeddings, self.weight_dict[f"W_bi_{k}"])
                                 + self.weight_dict[f"b_bi_{k}"])
                ego_embeddings = nn.LeakyReLU(negative_slope=0.2)(sum_embeddings
                                                                  + bi_embeddings)
                ego_embeddings = self.mess_dropout[k](ego_embeddings)
                norm_embeddings = F.normalize(ego_embeddings, p=2, dim=1)
                all_embeddings += [norm_embeddings]
            all_embeddings = torch.cat(all_embeddings, 1)
            u_g_embeddings = all_embeddings[:self.n_user, :]
            i_g_embeddings = all_embeddings[self.n_user:, :]
            return u_g_embeddings, i_g_embeddings

        def bpr_loss(self, users, pos_items, neg_items):
            u_g_embeddings, i_g_embeddings = self.computer()
            users = u_g_embeddings[users, :]
            pos_items = i_g_embeddings[pos_items, :]
            neg_items = i_g_embeddings[neg_items, :]
            pos_scores = torch.sum(torch.mul(users, pos_items), axis=1)
            neg_scores = torch.sum(torch.mul(users, neg_items), axis=1)
            maxi = nn.LogSigmoid()(pos_scores - neg_scores)
            mf_loss = -1 * torch.mean(maxi)
            regularizer = (torch.norm(users) ** 2
                           + torch.norm(pos_items) ** 2
                           + torch.norm(neg_items) ** 2) / 2
            emb_loss = self.reg * regularizer / users.shape[0]
            return mf_loss + emb_loss, mf_loss

    class MatrixFactorization(nn.Module):
        """BPR-MF: a user's score for an item is the dot product of their embeddings."""

        def __init__(self, n_users, n_items, dim=DIM, reg=1e-4, sparse=False):
            super().__init__()
            self.reg = reg
            self.user_embedding = nn.Embedding(n_users, dim, sparse=sparse)
            self.item_embedding = nn.Embedding(n_items, dim, sparse=sparse)
            nn.init.xavier_normal_(self.user_embedding.weight)
            nn.init.xavier_normal_(self.item_embedding.weight)

        def computer(self):
            return self.user_embedding.weight, self.item_embedding.weight

        def forward(self, users, items):
            return (self.user_embedding(users) * self.item_embedding(items)).sum(-1)

        def bpr_loss(self, users, pos, neg):
            u = self.user_embedding(users)
            p = self.item_embedding(pos)
            n = self.item_embedding(neg)
            pos_scores = (u * p).sum(dim=-1)
            neg_scores = (u * n).sum(dim=-1)
            loss = -F.logsigmoid(pos_scores - neg_scores).mean()
            reg_loss = (u.norm(2).pow(2) + p.norm(2).pow(2) + n.norm(2).pow(2)) / 2 / len(users)
            return loss + self.reg * reg_loss, loss

    return LightGCN, NGCF, MatrixFactorization


def make_model(torch, variant: str, graph=None, dtype: str = "float32", dropout=None,
               initial_state=None, n_users: int = USERS, n_items: int = ITEMS):
    """A fresh model for ``variant`` in ``dtype`` (``dropout``: the edge dropout rate, None
    for the variant's own), with ``initial_state`` loaded if given."""
    LightGCN, NGCF, MatrixFactorization = build(torch)
    if variant in ("mf", "mf_sparse"):
        model = MatrixFactorization(n_users, n_items, sparse=variant == "mf_sparse")
    elif variant == "ngcf":
        rate = 0.1 if dropout is None else dropout
        model = NGCF(n_users, n_items, graph, node_dropout=rate, mess_dropout=rate)
    elif variant == "legacy":
        rate = 0.1 if dropout is None else dropout
        model = LightGCN(n_users, n_items, graph, n_layers=LAYERS[variant],
                         dropout_kind="mask", keep_prob=1.0 - rate)
    else:
        rate = 0.1 if dropout is None else dropout
        model = LightGCN(n_users, n_items, graph, n_layers=LAYERS[variant],
                         dropout_kind="values", edge_dropout=rate)
    model = model.to(getattr(torch, dtype))
    if initial_state is not None:
        model.load_state_dict(initial_state)
    return model


def uniform_sample(rng, train, user_positives, n_items: int):
    """One epoch of BPR triples drawn by NumPy: the training pairs in a random order, each with
    an item its user has not trained on."""
    order = rng.permutation(len(train))
    users, pos = train[order, 0], train[order, 1]
    neg = np.empty_like(pos)
    for k, u in enumerate(users):
        while True:
            j = int(rng.integers(0, n_items))
            if j not in user_positives[u]:
                break
        neg[k] = j
    return users, pos, neg


def evaluate(torch, model, train_index, test_mask, test_items, k: int = TOP_K):
    """Recall@k, precision@k and NDCG@k over the users with test items, the training items
    excluded by setting their scores to ``-inf``; the hit count also by ``torch.isin``."""
    model.eval()
    with torch.no_grad():
        users_emb, items_emb = model.computer()
        scores = users_emb @ items_emb.t()
        scores[train_index[0], train_index[1]] = -float("inf")
        _, top_items = torch.topk(scores, k=k, dim=1)
        hits = test_mask.gather(1, top_items)
        n_test = test_mask.sum(dim=1)
        recall = (hits.sum(dim=1) / n_test.clamp(min=1)).mean()
        precision = hits.sum(dim=1).mean() / k
        discount = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=scores.dtype))
        dcg = (hits * discount).sum(dim=1)
        ideal = torch.cumsum(discount, dim=0)
        idcg = ideal[(n_test.clamp(max=k) - 1).long()]
        ndcg = (dcg / idcg).mean()
        isin_hits = sum(int(torch.isin(top_items[u], items).sum())
                        for u, items in enumerate(test_items))
        excluded = bool((scores[train_index[0], train_index[1]] == -float("inf")).all())
        trained_in_top = int(torch.isin(top_items[0], train_index[1][train_index[0] == 0])
                             .sum())
    model.train()
    return {"recall": recall.item(), "precision": precision.item(), "ndcg": ndcg.item(),
            "hits": int(hits.sum().item()), "isin_hits": isin_hits, "excluded": excluded,
            "trained_in_top": trained_in_top, "score_dtype": str(scores.dtype).rsplit(".")[-1]}


def main(torch, variant: str = "lightgcn", epochs: int = 20, batch_size: int = 256,
         lr: float = 0.01, seed: int = 0, dtype: str = "float32", sampling: str = "torch",
         dropout=None, initial_state=None, log_every: int = 5) -> dict:
    """Train ``epochs`` passes of BPR over the training pairs (from ``initial_state`` if given)
    and evaluate; returns the first and last losses (the BPR term, per step and per epoch),
    recall/precision/NDCG@k before and after, the random-ranking recall, and what the checks
    of the graph found."""
    torch.manual_seed(seed)
    data = torch.utils.data
    real = getattr(torch, dtype)

    train, test = make_interactions(seed=seed)
    n_users, n_items = USERS, ITEMS
    user_positives = [set() for _ in range(n_users)]
    for u, i in train:
        user_positives[u].add(int(i))

    graph = None
    checks = {}
    if not variant.startswith("mf"):
        graph = graph_tensor(torch, variant, train, n_users, n_items)
        if dtype != "float32":
            graph = graph.to(real)
        dense = graph.to_dense()
        reference = dense_adjacency(train, n_users, n_items)
        checks["graph_error"] = float(np.abs(dense.double().numpy() - reference).max())
        checks["asymmetry"] = float((dense - dense.t()).abs().max())
        checks["nnz"] = graph._nnz()
        checks["coalesced"] = graph.is_coalesced()
        degrees = torch.sparse.sum(graph, dim=1).to_dense()
        checks["row_sum_error"] = float(np.abs(degrees.double().numpy()
                                               - reference.sum(1)).max())
        probe = torch.randn(n_users + n_items, 3, dtype=real)
        checks["spmm_error"] = float((torch.sparse.mm(graph, probe) - dense @ probe)
                                     .abs().max())

    model = make_model(torch, variant, graph, dtype, dropout, initial_state, n_users, n_items)
    if variant == "mf_sparse":
        optimizer = torch.optim.SparseAdam(list(model.parameters()), lr=lr)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)

    train_index = torch.from_numpy(train.T.copy())
    test_mask = torch.zeros(n_users, n_items, dtype=real)
    test_mask[torch.from_numpy(test[:, 0]), torch.from_numpy(test[:, 1])] = 1.0
    test_items = [torch.from_numpy(test[test[:, 0] == u, 1]) for u in range(n_users)]
    candidates = n_items - np.bincount(train[:, 0], minlength=n_users)
    random_recall = float(np.mean(TOP_K / candidates))

    before = evaluate(torch, model, train_index, test_mask, test_items)
    pairs = data.TensorDataset(torch.from_numpy(train[:, 0]), torch.from_numpy(train[:, 1]))
    loader = data.DataLoader(pairs, batch_size=batch_size, shuffle=True)
    rng = np.random.default_rng(seed + 1)

    step_losses, epoch_losses = [], []
    model.train()
    start = time.time()
    for epoch in range(epochs):
        if sampling == "numpy":
            users, pos, neg = uniform_sample(rng, train, user_positives, n_items)
            triples = data.TensorDataset(torch.from_numpy(users), torch.from_numpy(pos),
                                         torch.from_numpy(neg))
            batches = data.DataLoader(triples, batch_size=batch_size, shuffle=False)
        else:
            batches = ((u, p, torch.randint(0, n_items, (u.shape[0],))) for u, p in loader)
        total, n_batches = 0.0, 0
        for batch_users, batch_pos, batch_neg in batches:
            loss, bpr = model.bpr_loss(batch_users, batch_pos, batch_neg)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step_losses.append(bpr.item())
            total += bpr.item()
            n_batches += 1
        epoch_losses.append(total / n_batches)
        if log_every and (epoch + 1) % log_every == 0:
            metrics = evaluate(torch, model, train_index, test_mask, test_items)
            print(f"epoch {epoch + 1:3d}  bpr {epoch_losses[-1]:.4f}  "
                  f"recall@{TOP_K} {metrics['recall']:.4f}  ndcg@{TOP_K} {metrics['ndcg']:.4f}"
                  f"  ({time.time() - start:.1f}s)")

    after = evaluate(torch, model, train_index, test_mask, test_items)
    grads_set = all(p.grad is not None
                    and bool((p.grad.to_dense() if p.grad.is_sparse else p.grad).ne(0).any())
                    for p in model.parameters())
    return {
        "initial_loss": epoch_losses[0],
        "final_loss": epoch_losses[-1],
        "epoch_losses": epoch_losses,
        "step_losses": step_losses,
        "initial_recall": before["recall"],
        "initial_ndcg": before["ndcg"],
        "random_recall": random_recall,
        "recall": after["recall"],
        "precision": after["precision"],
        "ndcg": after["ndcg"],
        "hits": after["hits"],
        "isin_hits": after["isin_hits"],
        "excluded": after["excluded"],
        "trained_in_top": after["trained_in_top"],
        "score_dtype": after["score_dtype"],
        "grads_set": grads_set,
        "n_params": sum(p.numel() for p in model.parameters()),
        "n_train": len(train),
        "n_test": len(test),
        **checks,
    }


if __name__ == "__main__":
    import argparse
    import importlib

    parser = argparse.ArgumentParser()
    parser.add_argument("--lib", default="gpugrad", choices=("gpugrad", "torch"))
    parser.add_argument("--variant", default="lightgcn", choices=VARIANTS)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--sampling", default="torch", choices=("torch", "numpy"))
    args = parser.parse_args()
    begin = time.perf_counter()
    result = main(importlib.import_module(args.lib), args.variant, epochs=args.epochs,
                  dtype=args.dtype, sampling=args.sampling)
    result.pop("step_losses")
    result.pop("epoch_losses")
    print(result, f"{time.perf_counter() - begin:.1f}s")
