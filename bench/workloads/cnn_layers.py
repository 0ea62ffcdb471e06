"""A CNN training step through the layers of ResNets, GANs and U-Nets: a strided conv, a
transposed conv back up, channel dropout, a conv, global average pooling, a linear classifier;
cross-entropy, backward, SGD with momentum; samples per second.

Conv2d(1, 16, 3, stride=2, padding=1)-ReLU-ConvTranspose2d(16, 16, 4, stride=2, padding=1)-ReLU-
Dropout2d(0.1)-Conv2d(16, 32, 3, padding=1)-ReLU-AdaptiveAvgPool2d((1, 1))-Flatten-
Linear(32, 10) on 28x28 single-channel images, batch 32, float32, the same weights and batches
in both libraries (dropout masks differ: each library draws its own). gpugrad's transposed
convolution is a batched matmul plus ``fold`` (col2im); its global average pooling a mean.
"""

from __future__ import annotations

import importlib

import numpy as np

from .common import Case, Context, Workload, gpugrad_feature, n_copies, training_step

LR, MOMENTUM = 0.01, 0.9


def _sizes(ctx: Context):
    """(image side, batch)."""
    return (12, 4) if ctx.smoke else (28, 32)


def _layers(nn):
    return [nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(16, 16, 4, stride=2, padding=1), nn.ReLU(), nn.Dropout2d(0.1),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(), nn.Linear(32, 10)]


def _inputs(ctx: Context, side: int, batch: int):
    def make():
        import torch  # the reference weights: PyTorch's default initialization, seeded

        torch.manual_seed(ctx.seed)
        weights = [p.detach().numpy().copy()
                   for p in torch.nn.Sequential(*_layers(torch.nn)).parameters()]
        rng = ctx.rng("cnn_layers", side, batch)
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
            for feature in ("nn.ConvTranspose2d", "nn.Dropout2d", "nn.AdaptiveAvgPool2d"):
                gpugrad_feature(feature)
        else:
            lib = importlib.import_module("torch")
        model = lib.nn.Sequential(*_layers(lib.nn))
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
    name="cnn_layers",
    title="CNN step with transposed conv, Dropout2d, global average pooling (samples/s)",
    definition=("Conv(1,16,3,s2)-ReLU-ConvTranspose(16,16,4,s2)-ReLU-Dropout2d(0.1)-"
                "Conv(16,32,3)-ReLU-AdaptiveAvgPool(1x1)-Linear, cross-entropy, backward, "
                f"SGD(lr={LR}, momentum={MOMENTUM}); same weights and batches."),
    cases=cases,
)
