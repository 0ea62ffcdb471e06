"""Builders that run one forward function, then its backward, in every library.

A workload states its forward once per spelling: ``forward(impl, m)`` returns a function of the
inputs, ``m`` being the library's namespace (``gpugrad``, ``torch``, ``mygrad``,
``autograd.numpy``, ``numpy``, ``cupy``). ``fwd_bwd_builders`` turns it into a step per library:

- gpugrad, torch, torch.compile, liger: leaf tensors for the differentiable inputs, ``grad = None``,
  forward, ``backward(seed)``;
- mygrad: the same with MyGrad tensors;
- HIPS autograd: ``make_vjp`` over the tuple of differentiable inputs, then the vjp of the seed;
- numpy, cupy: the bare forward only (the floor).

An input set is a tuple of NumPy arrays: the forward's arguments, then the upstream gradient
(the seed) when the output is not a scalar.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from .common import Builder, Context, rotate, to_cupy, to_gpugrad, to_torch, torch_compile

__all__ = ["fwd_bwd_builders", "NAMESPACES", "DEFAULT_IMPLS", "FORWARD_ONLY"]

NAMESPACES = {
    "gpugrad": "gpugrad", "torch": "torch", "torch.compile": "torch", "liger": "torch",
    "mygrad": "mygrad", "autograd": "autograd.numpy", "numpy": "numpy", "cupy": "cupy",
}
# Liger-Kernel only has a few ops (cross-entropy here): a workload asks for it by name.
DEFAULT_IMPLS = tuple(i for i in NAMESPACES if i != "liger")
FORWARD_ONLY = "bare forward (no graph, no backward), the floor"

Forward = Callable[[str, object], Callable]


def fwd_bwd_builders(ctx: Context, forward: Forward, diff: tuple[int, ...], seed: bool,
                     impls=DEFAULT_IMPLS) -> dict[str, Builder]:
    """One builder per implementation in ``impls``.

    ``diff``: positions of the inputs that require grad; ``seed``: the input set ends with the
    upstream gradient (else the output is a scalar and backward starts from 1).
    """
    makers = {
        "gpugrad": lambda: _tensor_step(ctx, forward, "gpugrad", to_gpugrad, diff, seed),
        "torch": lambda: _tensor_step(ctx, forward, "torch", to_torch, diff, seed),
        "torch.compile": lambda: _tensor_step(ctx, forward, "torch.compile", to_torch, diff,
                                              seed),
        "liger": lambda: _tensor_step(ctx, forward, "liger", to_torch, diff, seed),
        "mygrad": lambda: _mygrad_step(forward, diff, seed),
        "autograd": lambda: _autograd_step(forward, diff, seed),
        "numpy": lambda: _bare_step(forward, "numpy", None, seed),
        "cupy": lambda: _bare_step(forward, "cupy", to_cupy, seed),
    }
    return {impl: _later(makers[impl]) for impl in impls}


def _later(maker) -> Builder:
    # Modules are looked up when the builder runs: a missing peer's is never imported.
    return lambda sets: maker()(sets)


def _split(s: tuple, seed: bool):
    return (s[:-1], s[-1]) if seed else (s, None)


def _tensor_step(ctx, forward, impl, convert, diff, seed):
    def build(sets):
        m = importlib.import_module(NAMESPACES[impl])
        f = forward(impl, m)
        if impl == "torch.compile":
            f = torch_compile(f)
        converted = []
        for s in sets:
            args, g = _split(s, seed)
            args = tuple(convert(ctx, a, i in diff) for i, a in enumerate(args))
            converted.append((args, None if g is None else convert(ctx, g)))
        nxt = rotate(converted)

        def step():
            args, g = nxt()
            for i in diff:
                args[i].grad = None
            out = f(*args)
            out.backward(g)
            return out

        return step

    return build


def _mygrad_step(forward, diff, seed):
    def build(sets):
        import mygrad as mg

        f = forward("mygrad", mg)
        converted = []
        for s in sets:
            args, g = _split(s, seed)
            converted.append((tuple(mg.tensor(a) if i in diff else a
                                    for i, a in enumerate(args)), g))
        nxt = rotate(converted)

        def step():
            args, g = nxt()
            out = f(*args)
            out.backward(g)
            return out

        return step

    return build


def _autograd_step(forward, diff, seed):
    def build(sets):
        import autograd
        import autograd.numpy as anp

        f = forward("autograd", anp)
        nxt = rotate(list(sets))

        def step():
            args, g = _split(nxt(), seed)

            def of_diff(d):
                full = list(args)
                for i, v in zip(diff, d):
                    full[i] = v
                return f(*full)

            vjp, out = autograd.make_vjp(of_diff)(tuple(args[i] for i in diff))
            vjp(1.0 if g is None else g)
            return out

        return step

    return build


def _bare_step(forward, impl, convert, seed):
    def build(sets):
        m = importlib.import_module(NAMESPACES[impl])
        f = forward(impl, m)
        converted = []
        for s in sets:
            args, _ = _split(s, seed)
            converted.append(tuple(convert(a) for a in args) if convert else args)
        nxt = rotate(converted)

        def step():
            return f(*nxt())

        return step

    return build
