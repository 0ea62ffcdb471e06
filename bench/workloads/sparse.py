"""Sparse-times-dense products forward+backward, as a graph network's layer runs them.

A random graph's normalized adjacency (COO coordinates with self-loops, float32 values) times
node features: ``sparse.mm(sparse_coo_tensor(indices, values, (N, N)), x).sum()`` and backward,
with the features requiring grad ("GCN": the adjacency is a constant) or the values too ("GAT":
per-edge weights that are learned). gpugrad's product is a composition (gather the feature rows
of each entry, scale, ``index_add`` into the output rows); PyTorch's is its sparse kernel.
"""

from __future__ import annotations

import numpy as np

from .autodiff import fwd_bwd_builders
from .common import Case, Context, Workload

TORCH_ONLY = ("gpugrad", "torch")


def _graph(rng, nodes: int, degree: int):
    rows = np.repeat(np.arange(nodes), degree)
    cols = rng.integers(0, nodes, nodes * degree)
    rows = np.concatenate([rows, np.arange(nodes)])  # self-loops
    cols = np.concatenate([cols, np.arange(nodes)])
    values = rng.random(rows.size, dtype=np.float32) / degree
    return np.stack([rows, cols]).astype(np.int64), values


def _forward(impl, m):
    def step(indices, values, x):
        n = x.shape[0]
        return m.sparse.mm(m.sparse_coo_tensor(indices, values, (n, n)), x).sum()

    return step


def _sizes(ctx: Context):
    if ctx.smoke:
        return [(64, 4, 8)]
    return [(2708, 4, 16)] if ctx.quick else [(2708, 4, 16), (2708, 4, 64), (20000, 10, 64)]


def cases(ctx: Context) -> list[Case]:
    out = []
    for nodes, degree, features in _sizes(ctx):
        def inputs(nodes=nodes, degree=degree, features=features):
            rng = ctx.rng("sparse", nodes, degree, features)
            indices, values = _graph(rng, nodes, degree)
            x = rng.standard_normal((nodes, features), dtype=np.float32)
            return [(indices, values, x)]

        for kind, diff in (("GCN", (2,)), ("GAT", (1, 2))):
            out.append(Case(
                label=f"{kind} N={nodes} nnz={nodes * (degree + 1)} F={features}",
                inputs=inputs,
                builders=fwd_bwd_builders(ctx, _forward, diff=diff, seed=False,
                                          impls=TORCH_ONLY),
            ))
    return out


WORKLOAD = Workload(
    name="sparse",
    title="Sparse COO times dense forward+backward (graph layers)",
    definition="sparse.mm of an (N, N) float32 COO adjacency (random neighbours plus "
               "self-loops) and (N, F) features, summed, backward(); GCN: the features require "
               "grad; GAT: the adjacency's values too. The sparse tensor is built inside the "
               "step.",
    cases=cases,
)
