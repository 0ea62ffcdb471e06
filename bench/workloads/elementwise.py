"""Elementwise forward+backward over sizes: where launch overhead ends and bandwidth begins.

Two float32 ops, each forward then ``backward(g)`` with a random upstream gradient ``g``:

- ``x * y`` (both require grad), memory-bound: forward reads x, y and writes z; backward reads
  g, x, y and writes gx, gy: 8 words per element at least;
- ``tanh(x)``, a transcendental: forward reads x, writes y; backward reads g, y and writes gx:
  5 words per element (on CPU the libraries' tanh kernels differ more than their tapes).
"""

from __future__ import annotations

import numpy as np

from . import sweep
from .autodiff import FORWARD_ONLY, fwd_bwd_builders
from .common import Case, Context, Workload, n_copies


def _mul(impl, m):
    def f(x, y):
        return x * y

    return f


def _tanh(impl, m):
    return m.tanh


SERIES = (  # label, forward, number of differentiable inputs, words moved per element
    ("x*y", _mul, 2, 8),
    ("tanh(x)", _tanh, 1, 5),
)


def _inputs(ctx: Context, label: str, n: int, arrays: int):
    def make():
        rng = ctx.rng("elementwise", label, n)
        return [tuple(rng.standard_normal(n, dtype=np.float32) for _ in range(arrays))
                for _ in range(n_copies(ctx, arrays * 4 * n))]
    return make


def cases(ctx: Context) -> list[Case]:
    return [
        Case(label=sweep.label(label, n), inputs=_inputs(ctx, label, n, n_diff + 1), size=n,
             bytes=words * 4 * n,
             builders=fwd_bwd_builders(ctx, forward, diff=tuple(range(n_diff)), seed=True),
             notes={"numpy": FORWARD_ONLY, "cupy": FORWARD_ONLY})
        for label, forward, n_diff, words in SERIES
        for n in sweep.sizes(ctx)
    ]


WORKLOAD = Workload(
    name="elementwise",
    title="elementwise forward+backward against size",
    definition=("float32, inputs require grad, backward(g); x*y (floor traffic 8 words/element) "
                "and tanh(x) (5 words/element)."),
    cases=cases,
    sweep=True,
)
