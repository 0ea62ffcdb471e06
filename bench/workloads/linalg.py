"""Batched linear algebra forward+backward: inv, solve, cholesky, solve_triangular, eigh, svd.

The work is the factorizations' flops (LAPACK / cuSOLVER in every library), so the ratio to
PyTorch measures what gpugrad adds around them: the checks, the graph, and backward formulas
written with Tensor ops. The inputs are well conditioned (``X X^T / n + I``), float32.
"""

from __future__ import annotations

import numpy as np

from .autodiff import fwd_bwd_builders
from .common import Case, Context, Workload

TORCH_ONLY = ("gpugrad", "torch")


def _spd(rng, batch, n):
    x = rng.standard_normal((batch, n, n), dtype=np.float32)
    return (x @ x.transpose(0, 2, 1) / n + np.eye(n, dtype=np.float32)).astype(np.float32)


_OPS = {
    "inv": (lambda m: lambda a: m.linalg.inv(a).sum(), 1),
    "solve": (lambda m: lambda a, b: m.linalg.solve(a, b).sum(), 2),
    "cholesky": (lambda m: lambda a: m.linalg.cholesky(a).sum(), 1),
    "solve_triangular": (lambda m: lambda a, b: m.linalg.solve_triangular(
        a, b, upper=False).sum(), 2),
    "eigh": (lambda m: lambda a: m.linalg.eigvalsh(a).square().sum(), 1),
    "svdvals": (lambda m: lambda a: m.linalg.svdvals(a).sum(), 1),
}


def _sizes(ctx: Context):
    if ctx.smoke:
        return [(2, 8)]
    return [(64, 16), (8, 128)] if ctx.quick else [(256, 16), (16, 128), (2, 512)]


def cases(ctx: Context) -> list[Case]:
    out = []
    for batch, n in _sizes(ctx):
        for name, (make, arity) in _OPS.items():
            def inputs(batch=batch, n=n, arity=arity, name=name):
                rng = ctx.rng("linalg", name, batch, n)
                a = _spd(rng, batch, n)
                if name == "solve_triangular":
                    a = np.linalg.cholesky(a)
                extra = (rng.standard_normal((batch, n, 4), dtype=np.float32),)
                return [(a,) + extra[:arity - 1]]

            out.append(Case(
                label=f"{name} {batch}x{n}x{n}", inputs=inputs,
                builders=fwd_bwd_builders(ctx, lambda impl, m, make=make: make(m),
                                          diff=tuple(range(arity)), seed=False,
                                          impls=TORCH_ONLY),
            ))
    return out


WORKLOAD = Workload(
    name="linalg",
    title="Batched linear algebra forward+backward",
    definition="float32 batches of well-conditioned matrices, every input requires grad, "
               "sum of the result, backward().",
    cases=cases,
)
