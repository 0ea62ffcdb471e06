"""Softmax-cross-entropy forward+backward on large logits: time and peak memory.

``cross_entropy(logits, target)`` (mean over rows), then ``backward()``. Least traffic for a
fused kernel (Liger's way: loss and the logits' gradient in one pass during forward): read the
logits once, write their gradient once: 2 words per logit.
"""

from __future__ import annotations

import numpy as np

from .autodiff import FORWARD_ONLY, fwd_bwd_builders
from .common import Case, Context, Workload, gpugrad_feature, n_copies


def _forward(impl, m):
    if impl == "gpugrad":
        return gpugrad_feature("nn.functional.cross_entropy")
    if impl in ("torch", "torch.compile"):
        return m.nn.functional.cross_entropy
    if impl == "liger":
        from liger_kernel.transformers import LigerCrossEntropyLoss

        return LigerCrossEntropyLoss()
    if impl == "mygrad":
        from mygrad.nnet.losses import softmax_crossentropy

        return softmax_crossentropy
    if impl == "autograd":
        from autograd.scipy.special import logsumexp

        def f(logits, target):
            rows = np.arange(logits.shape[0])
            return m.mean(logsumexp(logits, axis=1) - logits[rows, target])

        return f

    def bare(logits, target):  # numpy, cupy: the stable formula, forward only
        top = logits.max(axis=1, keepdims=True)
        lse = m.log(m.exp(logits - top).sum(axis=1)) + top[:, 0]
        return (lse - logits[m.arange(logits.shape[0]), target]).mean()

    return bare


def _inputs(ctx: Context, rows: int, classes: int, dtype):
    def make():
        rng = ctx.rng("cross_entropy", rows, classes, dtype)
        return [((2 * rng.standard_normal((rows, classes), dtype=np.float32)).astype(dtype),
                 rng.integers(0, classes, rows, dtype=np.int64))
                for _ in range(n_copies(ctx, rows * classes * np.dtype(dtype).itemsize))]
    return make


def _shapes(ctx: Context):
    if ctx.smoke:
        return [(64, 1000, np.float32)]
    if ctx.device == "cpu":
        return [(512 if ctx.quick else 2048, 16384, np.float32)]
    sizes = [(8192, 32768)] if ctx.quick else [(8192, 32768), (8192, 128256)]
    return [(r, c, dt) for r, c in sizes for dt in (np.float32, np.float16)]


def cases(ctx: Context) -> list[Case]:
    impls = ("gpugrad", "torch", "torch.compile", "liger", "mygrad", "autograd", "numpy", "cupy")
    return [
        Case(label=f"{rows}x{classes} {np.dtype(dt).name}", inputs=_inputs(ctx, rows, classes, dt),
             bytes=2 * rows * classes * np.dtype(dt).itemsize, memory=True,
             builders=fwd_bwd_builders(ctx, _forward, diff=(0,), seed=False, impls=impls),
             notes={"numpy": FORWARD_ONLY, "cupy": FORWARD_ONLY,
                    "autograd": "composed: mean(logsumexp(x) - x[i, t])"})
        for rows, classes, dt in _shapes(ctx)
    ]


WORKLOAD = Workload(
    name="cross_entropy",
    title="softmax-cross-entropy forward+backward",
    definition=("cross_entropy(logits, target) (mean), backward(); peak memory of one step "
                "beyond its inputs; floor traffic 2 words per logit (fused: read, write grad)."),
    cases=cases,
)
