"""Optimizer step over many parameters: Adam and SGD with momentum.

Two shapes of model: many small parameters (host overhead per parameter shows) and a few large
ones (bandwidth shows). Gradients are random and fixed; ``step()`` is timed alone. Least
traffic per element: Adam reads p, g, m, v and writes p, m, v (7 words); SGD with momentum
reads p, g, buf and writes p, buf (5 words). Parameter sets that fit in cache rotate.
"""

from __future__ import annotations

import importlib

import numpy as np

from .common import Case, Context, Workload, gpugrad_feature, n_copies, rotate, to_cupy

LR, MOMENTUM, BETAS, EPS = 1e-3, 0.9, (0.9, 0.999), 1e-8
WORDS = {"Adam": 7, "SGD": 5}


def _shapes(ctx: Context):
    if ctx.smoke:
        return [(8, 256)]
    if ctx.device == "cuda":
        return [(512, 4096), (64, 2**20)]
    return [(256, 1024), (16, 2**18)]


def _inputs(ctx: Context, count: int, numel: int):
    def make():
        rng = ctx.rng("optimizer", count, numel)
        return [[(rng.standard_normal(numel, dtype=np.float32),
                  rng.standard_normal(numel, dtype=np.float32)) for _ in range(count)]
                for _ in range(n_copies(ctx, 4 * 4 * count * numel, limit=16))]
    return make


def _library_step(ctx: Context, impl: str, name: str):
    def build(model_sets):
        if impl == "gpugrad":
            lib = importlib.import_module("gpugrad")
            cls = gpugrad_feature(f"optim.{name}")
        else:
            lib = importlib.import_module("torch")
            cls = getattr(lib.optim, name)
        kwargs = {"lr": LR, "betas": BETAS, "eps": EPS} if name == "Adam" else {
            "lr": LR, "momentum": MOMENTUM}
        opts = []
        for pairs in model_sets:
            params = []
            for p, g in pairs:
                t = lib.tensor(p, device=ctx.device, requires_grad=True)
                t.grad = lib.tensor(g, device=ctx.device)
                params.append(t)
            opts.append(cls(params, **kwargs))
        nxt = rotate(opts)
        return lambda: nxt().step()

    return build


def _hand_step(xp_name: str, convert, name: str):
    """The update written out with in-place array ops (the floor of a step)."""

    def build(model_sets):
        xp = importlib.import_module(xp_name)
        states = []
        for pairs in model_sets:
            state = [(convert(p), convert(g), xp.zeros_like(convert(p)), xp.zeros_like(
                convert(p))) for p, g in pairs]
            states.append({"params": state, "t": 0})
        nxt = rotate(states)
        b1, b2 = BETAS

        def adam():
            s = nxt()
            s["t"] += 1
            step_size = LR / (1 - b1 ** s["t"])
            root_bc2 = (1 - b2 ** s["t"]) ** 0.5
            for p, g, m, v in s["params"]:
                m *= b1
                m += (1 - b1) * g
                v *= b2
                v += (1 - b2) * g * g
                p -= step_size * m / (xp.sqrt(v) / root_bc2 + EPS)

        def sgd():
            for p, g, buf, _ in nxt()["params"]:
                buf *= MOMENTUM
                buf += g
                p -= LR * buf

        return adam if name == "Adam" else sgd

    return build


def cases(ctx: Context) -> list[Case]:
    out = []
    for name in ("Adam", "SGD"):
        for count, numel in _shapes(ctx):
            label = f"{name if name == 'Adam' else 'SGD(momentum)'} {count} x {numel}"
            out.append(Case(
                label=label, inputs=_inputs(ctx, count, numel),
                bytes=WORDS[name] * 4 * count * numel,
                builders={
                    "gpugrad": _library_step(ctx, "gpugrad", name),
                    "torch": _library_step(ctx, "torch", name),
                    "numpy": _hand_step("numpy", lambda a: a.copy(), name),
                    "cupy": _hand_step("cupy", to_cupy, name),
                },
                notes={"numpy": "the update written out with in-place NumPy ops",
                       "cupy": "the update written out with in-place CuPy ops",
                       "torch": "torch.optim defaults (for-loop on CPU, foreach on CUDA)"},
            ))
    return out


WORKLOAD = Workload(
    name="optimizer",
    title="optimizer step over many parameters",
    definition=(f"step() with fixed random grads; Adam(lr={LR}), SGD(lr={LR}, "
                f"momentum={MOMENTUM}); label: parameters x elements each; floor traffic "
                "7 (Adam) / 5 (SGD) words per element."),
    cases=cases,
)
