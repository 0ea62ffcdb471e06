"""A language model's head: ``cross_entropy(linear(h, W), target)`` forward+backward, fused and
chunked against unfused: time and peak memory.

Two cases per size, run side by side: "chunked" is ``linear_cross_entropy(h, W, target,
options=LinearCrossEntropyOptions())`` (gpugrad's chunked path; PyTorch's own chunked path where
the installed torch has it; Liger-Kernel's fused linear cross-entropy on a GPU), "unfused" is
``cross_entropy(linear(h, W), target)`` (the (N, C) logits and their gradient in full). Floor
flops: 6 N H C (the logits, the gradient of h, the gradient of W).
"""

from __future__ import annotations

import numpy as np

from .autodiff import fwd_bwd_builders
from .common import Case, Context, FeatureMissing, Workload, gpugrad_feature


def _chunked(impl, m):
    if impl == "liger":
        from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

        loss = LigerFusedLinearCrossEntropyLoss()
        return lambda h, w, target: loss(w, h, target)
    if impl == "gpugrad":
        fused = gpugrad_feature("nn.functional.linear_cross_entropy")
        options = gpugrad_feature("nn.LinearCrossEntropyOptions")()
    else:
        fused = getattr(m.nn.functional, "linear_cross_entropy", None)
        if fused is None:
            raise FeatureMissing(f"torch {m.__version__} has no linear_cross_entropy")
        options = m.nn.LinearCrossEntropyOptions()
    return lambda h, w, target: fused(h, w, target, options=options)


def _unfused(impl, m):
    F = m.nn.functional
    return lambda h, w, target: F.cross_entropy(F.linear(h, w), target)


def _inputs(ctx: Context, rows: int, hidden: int, classes: int, dtype):
    def make():
        rng = ctx.rng("lm_head", rows, hidden, classes)
        h = rng.standard_normal((rows, hidden), dtype=np.float32)
        w = rng.standard_normal((classes, hidden), dtype=np.float32) * hidden ** -0.5
        target = rng.integers(0, classes, rows, dtype=np.int64)
        return [(h.astype(dtype), w.astype(dtype), target)]
    return make


def _shapes(ctx: Context):
    if ctx.smoke:
        return [(64, 32, 1000, np.float32)]
    if ctx.device == "cpu":
        return [(1024 if ctx.quick else 4096, 1024, 32768, np.float32)]
    return [(8192, 4096, 128256, np.float32)]


def cases(ctx: Context) -> list[Case]:
    out = []
    for rows, hidden, classes, dt in _shapes(ctx):
        size = f"{rows}x{hidden} -> {classes} {np.dtype(dt).name}"
        for kind, forward, impls in (("chunked", _chunked, ("gpugrad", "torch", "liger")),
                                     ("unfused", _unfused, ("gpugrad", "torch"))):
            out.append(Case(
                label=f"{size} {kind}", inputs=_inputs(ctx, rows, hidden, classes, dt),
                memory=True, builders=fwd_bwd_builders(ctx, forward, diff=(0, 1), seed=False,
                                                       impls=impls),
                notes={"liger": "LigerFusedLinearCrossEntropyLoss"} if kind == "chunked"
                else {}))
    return out


WORKLOAD = Workload(
    name="lm_head",
    title="linear + cross-entropy head forward+backward (chunked vs unfused)",
    definition=("cross_entropy(linear(h, W), target) (mean), backward() for h and W; chunked: "
                "linear_cross_entropy(..., options=LinearCrossEntropyOptions()); peak memory of "
                "one step beyond its inputs (the gradients of h and W included)."),
    cases=cases,
)
