"""An MLP training step: forward, cross-entropy, backward, SGD with momentum; samples per second.

Linear-ReLU-Linear-ReLU-Linear, float32, the same initial weights and batches in every library:
784-512-512-10 with batch 256 on CPU, 4096-4096-4096-10 with batch 4096 on GPU, and on both a
small 64-32-32-10 with batch 32, whose step is mostly the tape's and the launches' host work
(a PyTorch user's small model: the host overhead goal in a real training loop). The step is
``zero_grad(); loss = cross_entropy(model(x), y); loss.backward(); opt.step()`` with
``SGD(lr=0.01, momentum=0.9)``; libraries without nn/optim get the same math written out.
"""

from __future__ import annotations

import importlib

import numpy as np

from .common import (
    Case,
    Context,
    Workload,
    gpugrad_feature,
    n_copies,
    rotate,
    to_cupy,
    training_step,
)

LR, MOMENTUM = 0.01, 0.9


def _configs(ctx: Context) -> list:
    """(layer widths, batch) of each case."""
    if ctx.smoke:
        return [((64, 32, 32, 10), 16)]
    big = ((4096, 4096, 4096, 10), 4096) if ctx.device == "cuda" else ((784, 512, 512, 10), 256)
    return [big, ((64, 32, 32, 10), 32)]


def _inputs(ctx: Context, dims, batch):
    def make():
        rng = ctx.rng("mlp", dims, batch)
        weights = []
        for fan_in, fan_out in zip(dims[:-1], dims[1:]):
            bound = 1 / np.sqrt(fan_in)
            weights.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                            rng.uniform(-bound, bound, fan_out).astype(np.float32)))
        batches = [(rng.standard_normal((batch, dims[0]), dtype=np.float32),
                    rng.integers(0, dims[-1], batch, dtype=np.int64))
                   for _ in range(n_copies(ctx, batch * dims[0] * 4, limit=8))]
        return weights, batches
    return make


# ------------------------------------------------------------------- nn + optim libraries
def _module_step(ctx: Context, impl: str):
    def build(inputs):
        weights, batches = inputs
        if impl == "gpugrad":
            lib = importlib.import_module("gpugrad")
            for feature in ("nn.Linear", "nn.ReLU", "nn.Sequential"):
                gpugrad_feature(feature)
            nn, sgd = lib.nn, gpugrad_feature("optim.SGD")
            cross_entropy = gpugrad_feature("nn.functional.cross_entropy")
        else:
            lib = importlib.import_module("torch")
            nn, sgd = lib.nn, lib.optim.SGD
            cross_entropy = lib.nn.functional.cross_entropy
        layers = []
        for w, b in weights:
            layer = nn.Linear(w.shape[1], w.shape[0])
            layer.weight.data = lib.tensor(w, device=ctx.device)
            layer.bias.data = lib.tensor(b, device=ctx.device)
            layers += [layer, nn.ReLU()]
        model = nn.Sequential(*layers[:-1])
        opt = sgd(model.parameters(), lr=LR, momentum=MOMENTUM)
        return training_step(ctx, lib, model, opt, cross_entropy, batches,
                             impl == "torch.compile")

    return build


# --------------------------------------------------------------- written-out training steps
def _sgd(xp, params, grads, bufs):
    for p, g, buf in zip(params, grads, bufs):
        buf *= MOMENTUM
        buf += g
        p -= LR * buf


def _hand_step(xp_name: str, convert):
    """NumPy or CuPy: forward, the backward derived by hand, SGD (the floor of a step)."""

    def build(inputs):
        xp = importlib.import_module(xp_name)
        weights, batches = inputs
        params = [convert(a) for wb in weights for a in wb]
        bufs = [xp.zeros_like(p) for p in params]
        nxt = rotate([tuple(convert(a) for a in xy) for xy in batches])

        def step():
            x, y = nxt()
            acts = [x]
            for i in range(0, len(params), 2):
                h = acts[-1] @ params[i].T + params[i + 1]
                acts.append(xp.maximum(h, 0) if i + 2 < len(params) else h)
            logits = acts.pop()
            p = xp.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[xp.arange(len(y)), y] -= 1
            grad = p / len(y)
            grads = [None] * len(params)
            for i in range(len(params) - 2, -1, -2):
                a = acts[i // 2]
                grads[i], grads[i + 1] = grad.T @ a, grad.sum(axis=0)
                if i:
                    grad = (grad @ params[i]) * (a > 0)
            _sgd(xp, params, grads, bufs)

        return step

    return build


def _mygrad_step(inputs):
    import mygrad as mg
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy

    weights, batches = inputs
    params = [mg.tensor(a) for wb in weights for a in wb]
    bufs = [np.zeros_like(p.data) for p in params]
    nxt = rotate(batches)

    def step():
        x, y = nxt()
        h = x
        for i in range(0, len(params), 2):
            h = mg.matmul(h, params[i].T) + params[i + 1]
            if i + 2 < len(params):
                h = relu(h)
        loss = softmax_crossentropy(h, y)
        loss.backward()
        _sgd(np, [p.data for p in params], [p.grad for p in params], bufs)
        return loss

    return step


def _autograd_step(inputs):
    import autograd
    import autograd.numpy as anp
    from autograd.scipy.special import logsumexp

    weights, batches = inputs
    params = [a.copy() for wb in weights for a in wb]
    bufs = [np.zeros_like(p) for p in params]
    nxt = rotate(batches)

    def loss(ps, x, y):
        h = x
        for i in range(0, len(ps), 2):
            h = anp.dot(h, ps[i].T) + ps[i + 1]
            if i + 2 < len(ps):
                h = anp.maximum(h, 0)
        return anp.mean(logsumexp(h, axis=1) - h[np.arange(len(y)), y])

    grad = autograd.grad(loss)

    def step():
        x, y = nxt()
        _sgd(np, params, grad(params, x, y), bufs)

    return step


def cases(ctx: Context) -> list[Case]:
    return [_case(ctx, dims, batch) for dims, batch in _configs(ctx)]


def _case(ctx: Context, dims, batch) -> Case:
    written = "same math written out: forward, backward, SGD momentum"
    return Case(
        label=f"{'-'.join(map(str, dims))} batch {batch}", inputs=_inputs(ctx, dims, batch),
        items=batch,
        builders={
            "gpugrad": _module_step(ctx, "gpugrad"),
            "torch": _module_step(ctx, "torch"),
            "torch.compile": _module_step(ctx, "torch.compile"),
            "mygrad": _mygrad_step,
            "autograd": _autograd_step,
            "numpy": _hand_step("numpy", lambda a: a.copy()),
            "cupy": _hand_step("cupy", to_cupy),
        },
        notes={"numpy": f"hand-derived backward; {written}", "cupy": f"hand-derived backward; "
               f"{written}", "mygrad": f"{written} (grads from MyGrad)",
               "autograd": f"{written} (grads from autograd.grad)"},
    )


WORKLOAD = Workload(
    name="mlp",
    title="MLP training step (samples/s)",
    definition=("Linear-ReLU-Linear-ReLU-Linear, cross-entropy, backward, "
                f"SGD(lr={LR}, momentum={MOMENTUM}); same weights and batches everywhere."),
    cases=cases,
)
