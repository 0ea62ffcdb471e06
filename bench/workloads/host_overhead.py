"""Host overhead: a chain of tiny ops, where the tape's bookkeeping is all there is to time.

The chain on a 16-element float32 vector ``x`` (requires grad), with constants ``a``, ``b``:
``y = sin(tanh(y * a + b))`` repeated 16 times, i.e. 64 ops cycling mul, add, tanh, sin; then
``y.sum()`` and, in the fwd+bwd case, ``backward()``. Times are per chain op (the sum and the
backward call are counted in, divided by 64). Then single ops beyond elementwise ones
(``SINGLE_OPS``), each as ``op(x).sum().backward()`` on an 8x16 leaf, per step.
"""

from __future__ import annotations

import numpy as np

from .common import (
    Case,
    Context,
    Workload,
    n_copies,
    rotate,
    to_cupy,
    to_gpugrad,
    to_torch,
    torch_compile,
)

N_ELEMENTS = 16
ROUNDS = 16  # 4 ops each
N_OPS = 4 * ROUNDS


def _chain(x, a, b, tanh, sin):
    y = x
    for _ in range(ROUNDS):
        y = sin(tanh(y * a + b))
    return y.sum()


def _inputs(ctx: Context):
    def make():
        rng = ctx.rng("host_overhead")
        k = n_copies(ctx, 3 * N_ELEMENTS * 4, limit=8)
        return [(rng.standard_normal(N_ELEMENTS).astype(np.float32),
                 rng.uniform(0.5, 1.5, N_ELEMENTS).astype(np.float32),
                 rng.uniform(-0.5, 0.5, N_ELEMENTS).astype(np.float32)) for _ in range(k)]
    return make


def _tensor_lib(ctx, convert, module, backward: bool):
    """gpugrad and torch share a spelling: leaves, chain, sum, backward."""

    def build(sets):
        sets = [(convert(ctx, x, True), convert(ctx, a), convert(ctx, b)) for x, a, b in sets]
        nxt = rotate(sets)
        tanh, sin = module.tanh, module.sin

        def step():
            x, a, b = nxt()
            x.grad = None
            out = _chain(x, a, b, tanh, sin)
            if backward:
                out.backward()
            return out

        return step

    return build


def _torch_compile(ctx, backward: bool):
    def build(sets):
        import torch

        sets = [(to_torch(ctx, x, True), to_torch(ctx, a), to_torch(ctx, b)) for x, a, b in sets]
        nxt = rotate(sets)
        chain = torch_compile(lambda x, a, b: _chain(x, a, b, torch.tanh, torch.sin))

        def step():
            x, a, b = nxt()
            x.grad = None
            out = chain(x, a, b)
            if backward:
                out.backward()
            return out

        return step

    return build


def _autograd(backward: bool):
    def build(sets):
        import autograd
        import autograd.numpy as anp

        nxt = rotate(sets)

        def f(x, a, b):
            return _chain(x, a, b, anp.tanh, anp.sin)

        run = autograd.grad(f) if backward else autograd.make_vjp(f)

        def step():
            return run(*nxt())

        return step

    return build


def _mygrad(backward: bool):
    def build(sets):
        import mygrad as mg

        sets = [(mg.tensor(x), mg.tensor(a, constant=True), mg.tensor(b, constant=True))
                for x, a, b in sets]
        nxt = rotate(sets)

        def step():
            x, a, b = nxt()
            out = _chain(x, a, b, mg.tanh, mg.sin)
            if backward:
                out.backward()
            return out

        return step

    return build


def _bare(xp, convert=None):
    def build(sets):
        if convert is not None:
            sets = [tuple(convert(v) for v in s) for s in sets]
        nxt = rotate(sets)

        def step():
            x, a, b = nxt()
            return _chain(x, a, b, xp.tanh, xp.sin)

        return step

    return build


def _builders(ctx: Context, backward: bool) -> dict:
    # Each builder looks its module up only when it runs: a missing peer's module is None.
    return {
        "gpugrad": lambda s: _tensor_lib(ctx, to_gpugrad, ctx.module("gpugrad"), backward)(s),
        "torch": lambda s: _tensor_lib(ctx, to_torch, ctx.module("torch"), backward)(s),
        "torch.compile": lambda s: _torch_compile(ctx, backward)(s),
        "autograd": lambda s: _autograd(backward)(s),
        "mygrad": lambda s: _mygrad(backward)(s),
        "numpy": lambda s: _bare(np)(s),
        "cupy": lambda s: _bare(ctx.module("cupy"), to_cupy)(s),
    }


# One op at a time on a small matrix, forward + sum + backward: the ops a training step uses
# beyond the elementwise chain (views, reductions, softmax, matmul, indexing, joins).
SINGLE_OPS = {
    "matmul": lambda m, x: x @ x.t(), "mean(dim)": lambda m, x: x.mean(dim=1),
    "softmax": lambda m, x: m.softmax(x, dim=1), "reshape": lambda m, x: x.reshape(16, 8),
    "transpose": lambda m, x: x.t(), "slice": lambda m, x: x[1:5], "cat": lambda m, x: m.cat(
        [x, x], 0), "relu": lambda m, x: m.relu(x),
}


def _single_op_inputs(ctx: Context):
    def make():
        rng = ctx.rng("host_overhead single ops")
        return [rng.standard_normal((8, 16)).astype(np.float32)
                for _ in range(n_copies(ctx, 8 * 16 * 4, limit=8))]
    return make


def _single_op(ctx: Context, convert, lib: str, op):
    def build(sets):
        module = ctx.module(lib)
        nxt = rotate([convert(ctx, x, True) for x in sets])

        def step():
            x = nxt()
            x.grad = None
            op(module, x).sum().backward()

        return step

    return build


def cases(ctx: Context) -> list[Case]:
    chain = [
        Case(label=label, inputs=_inputs(ctx), ops=N_OPS, builders=_builders(ctx, backward),
             notes={"numpy": "bare forward (no graph), the floor",
                    "cupy": "bare forward (no graph), the floor",
                    "autograd": "forward = make_vjp (traced), forward+backward = grad"})
        for backward, label in ((False, "forward"), (True, "forward+backward"))
    ]
    singles = [
        Case(label=f"{name} 8x16 +sum, fwd+bwd", inputs=_single_op_inputs(ctx), builders={
            "gpugrad": _single_op(ctx, to_gpugrad, "gpugrad", op),
            "torch": _single_op(ctx, to_torch, "torch", op)})
        for name, op in SINGLE_OPS.items()
    ]
    return chain + (singles[:1] if ctx.smoke else singles)


WORKLOAD = Workload(
    name="host_overhead",
    title="a chain of tiny ops, forward and backward",
    definition=(f"{N_OPS} ops on {N_ELEMENTS}-element float32 vectors: "
                "y = sin(tanh(y*a + b)) x16, then sum (+ backward); time / 64. Single ops: "
                "op(x).sum().backward() on an 8x16 float32 leaf, time per step."),
    cases=cases,
)
