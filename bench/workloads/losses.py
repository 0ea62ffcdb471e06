"""BCE-with-logits and MSE forward+backward (mean reduction) on long vectors.

Least traffic (loss and gradient in one pass): read x and the target, write x's gradient:
3 words per element.
"""

from __future__ import annotations

import numpy as np

from .autodiff import FORWARD_ONLY, fwd_bwd_builders
from .common import Case, Context, Workload, gpugrad_feature, n_copies

COMPOSED = "composed from the library's elementwise ops"


def _bce(impl, m):
    if impl == "gpugrad":
        return gpugrad_feature("nn.functional.binary_cross_entropy_with_logits")
    if impl in ("torch", "torch.compile"):
        return m.nn.functional.binary_cross_entropy_with_logits

    def composed(x, t):  # the stable form PyTorch uses
        return m.mean(m.maximum(x, 0) - x * t + m.log1p(m.exp(-m.abs(x))))

    return composed


def _mse(impl, m):
    if impl == "gpugrad":
        return gpugrad_feature("nn.functional.mse_loss")
    if impl in ("torch", "torch.compile"):
        return m.nn.functional.mse_loss

    def composed(x, t):
        d = x - t
        return m.mean(d * d)

    return composed


def _inputs(ctx: Context, name: str, n: int):
    def make():
        rng = ctx.rng("losses", name, n)
        target = rng.random if name == "bce" else rng.standard_normal
        return [(rng.standard_normal(n, dtype=np.float32), target(n, dtype=np.float32))
                for _ in range(n_copies(ctx, 2 * 4 * n))]
    return make


def _size(ctx: Context) -> int:
    if ctx.smoke:
        return 2**12
    if ctx.device == "cuda":
        return 2**24 if ctx.quick else 2**26
    return 2**20 if ctx.quick else 2**22


def cases(ctx: Context) -> list[Case]:
    n = _size(ctx)
    out = []
    for name, label, forward in (("bce", "bce_with_logits", _bce), ("mse", "mse_loss", _mse)):
        out.append(Case(
            label=f"{label} n=2^{n.bit_length() - 1}", inputs=_inputs(ctx, name, n),
            bytes=3 * 4 * n, builders=fwd_bwd_builders(ctx, forward, diff=(0,), seed=False),
            notes={"numpy": f"{FORWARD_ONLY}; {COMPOSED}", "cupy": f"{FORWARD_ONLY}; {COMPOSED}",
                   "mygrad": COMPOSED, "autograd": COMPOSED},
        ))
    return out


WORKLOAD = Workload(
    name="losses",
    title="BCE-with-logits and MSE forward+backward",
    definition=("float32, mean reduction, input requires grad, backward(); "
                "floor traffic 3 words/element (read x, target; write grad)."),
    cases=cases,
)
