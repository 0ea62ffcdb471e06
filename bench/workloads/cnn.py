"""A small CNN training step: conv, ReLU, max-pool twice, then a linear classifier;
cross-entropy, backward, SGD with momentum; samples per second.

Conv2d(1, 16, 3, padding=1)-ReLU-MaxPool2d(2)-Conv2d(16, 32, 3, padding=1)-ReLU-MaxPool2d(2)-
Flatten-Linear(32*7*7, 10) on 28x28 single-channel images, batch 32, float32, the same weights
and batches in both libraries. gpugrad's convolution is im2col (``unfold``) plus a batched
matmul; PyTorch's is oneDNN on CPU and cuDNN on GPU.
"""

from __future__ import annotations

import importlib

import numpy as np

from .common import Case, Context, Workload, gpugrad_feature, n_copies, training_step

LR, MOMENTUM = 0.01, 0.9


def _sizes(ctx: Context):
    """(image side, batch)."""
    return (12, 4) if ctx.smoke else (28, 32)


def _layers(nn, side: int):
    return [nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(32 * (side // 4) ** 2, 10)]


def _inputs(ctx: Context, side: int, batch: int):
    def make():
        import torch  # the reference weights: PyTorch's default initialization, seeded

        torch.manual_seed(ctx.seed)
        weights = [p.detach().numpy().copy()
                   for p in torch.nn.Sequential(*_layers(torch.nn, side)).parameters()]
        rng = ctx.rng("cnn", side, batch)
        batches = [(rng.standard_normal((batch, 1, side, side), dtype=np.float32),
                    rng.integers(0, 10, batch, dtype=np.int64))
                   for _ in range(n_copies(ctx, batch * side * side * 4, limit=8))]
        return weights, batches
    return make


def _step(ctx: Context, impl: str):
    def build(inputs):
        weights, batches = inputs
        if impl == "gpugrad":
            lib = importlib.import_module("gpugrad")
            for feature in ("nn.Conv2d", "nn.MaxPool2d", "nn.functional.cross_entropy"):
                gpugrad_feature(feature)
        else:
            lib = importlib.import_module("torch")
        model = lib.nn.Sequential(*_layers(lib.nn, _sizes(ctx)[0]))
        for p, w in zip(model.parameters(), weights, strict=True):
            p.data = lib.tensor(w, device=ctx.device)
        model.to(ctx.device)
        opt = lib.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
        return training_step(ctx, lib, model, opt, lib.nn.functional.cross_entropy, batches,
                             impl == "torch.compile")

    return build


def cases(ctx: Context) -> list[Case]:
    side, batch = _sizes(ctx)
    return [Case(label=f"{side}x{side} batch {batch}", inputs=_inputs(ctx, side, batch),
                 items=batch, builders={impl: _step(ctx, impl)
                                        for impl in ("gpugrad", "torch", "torch.compile")})]


WORKLOAD = Workload(
    name="cnn",
    title="small CNN training step (samples/s)",
    definition=("Conv(1,16,3)-ReLU-MaxPool(2)-Conv(16,32,3)-ReLU-MaxPool(2)-Linear, "
                f"cross-entropy, backward, SGD(lr={LR}, momentum={MOMENTUM}); same weights and "
                "batches."),
    cases=cases,
)
