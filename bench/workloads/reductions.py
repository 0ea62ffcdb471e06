"""Reductions forward+backward over sizes.

``x.sum()`` then ``backward()`` (least traffic: read x, write gx: 2 words per element), and
``logsumexp(x, dim=-1)`` over rows of 1024 then ``backward(g)`` (read x; read x, write gx:
3 words per element).
"""

from __future__ import annotations

import numpy as np

from . import sweep
from .autodiff import FORWARD_ONLY, fwd_bwd_builders
from .common import Case, Context, Workload, gpugrad_feature, n_copies

ROW = 1024


def _sum(impl, m):
    def f(x):
        return x.sum()

    return f


def _logsumexp(impl, m):
    if impl == "gpugrad":
        lse = gpugrad_feature("logsumexp")
        return lambda x: lse(x, -1)
    if impl in ("torch", "torch.compile"):
        return lambda x: m.logsumexp(x, -1)
    if impl == "autograd":
        from autograd.scipy.special import logsumexp

        return lambda x: logsumexp(x, axis=-1)
    if impl == "mygrad":
        # MyGrad has no differentiable logsumexp: composed from its ops, the max held constant.
        def f(x):
            top = x.data.max(axis=-1, keepdims=True)
            return m.log(m.sum(m.exp(x - top), axis=-1)) + top[:, 0]

        return f

    def bare(x):  # numpy, cupy
        top = x.max(axis=-1, keepdims=True)
        return m.log(m.exp(x - top).sum(axis=-1)) + top[:, 0]

    return bare


def _inputs(ctx: Context, series: str, shape: tuple, seed_shape):
    def make():
        rng = ctx.rng("reductions", series, shape)
        n = int(np.prod(shape))
        sets = []
        for _ in range(n_copies(ctx, 4 * n)):
            s = (rng.standard_normal(shape, dtype=np.float32),)
            if seed_shape is not None:
                s += (rng.standard_normal(seed_shape, dtype=np.float32),)
            sets.append(s)
        return sets
    return make


def cases(ctx: Context) -> list[Case]:
    out = []
    notes = {"numpy": FORWARD_ONLY, "cupy": FORWARD_ONLY}
    for n in sweep.sizes(ctx):
        out.append(Case(
            label=sweep.label("sum", n), inputs=_inputs(ctx, "sum", (n,), None), size=n,
            bytes=2 * 4 * n, builders=fwd_bwd_builders(ctx, _sum, diff=(0,), seed=False),
            notes=notes,
        ))
    for n in sweep.sizes(ctx):
        shape = (n // ROW, ROW)
        out.append(Case(
            label=sweep.label("logsumexp(dim=-1)", n),
            inputs=_inputs(ctx, "logsumexp", shape, (n // ROW,)), size=n, bytes=3 * 4 * n,
            builders=fwd_bwd_builders(ctx, _logsumexp, diff=(0,), seed=True),
            notes={**notes, "mygrad": "logsumexp composed from MyGrad ops (max held constant)"},
        ))
    return out


WORKLOAD = Workload(
    name="reductions",
    title="reductions forward+backward against size",
    definition=("float32; x.sum().backward() (floor traffic 2 words/element) and "
                f"logsumexp(x, -1) over rows of {ROW}, backward(g) (3 words/element)."),
    cases=cases,
    sweep=True,
)
