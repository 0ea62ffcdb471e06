"""What a graph node shows of itself and what its hooks see, on gpugrad and torch alike: for
the tests of ops whose node lists some of their outputs only (``frexp``, ``lu_factor``) or
several of them (``aminmax``)."""

from __future__ import annotations

import numpy as np


def shapes(grads) -> list:
    """The shape of each gradient a hook saw, None where it saw None."""
    return [None if g is None else tuple(g.shape) for g in grads]


def run_hooked(m, op, array, dtype: str, used=None) -> dict:
    """``op(m, x)`` (a tuple of outputs) on ``array`` as a leaf of ``dtype`` (``"float64"``...)
    that requires grad; the node of the first output hooked (pre and post), then backward
    through the float outputs listed in ``used`` (indices; all by default) with a fixed random
    upstream. Returns, to compare between the two libraries: the node's class name and
    ``name()``, the names in ``next_functions``, which outputs have the node as ``grad_fn``,
    what the hooks saw (shapes), the values and the input's gradient (NumPy)."""
    x = m.tensor(array, dtype=getattr(m, dtype), requires_grad=True)
    outs = tuple(op(m, x))
    node = outs[0].grad_fn
    seen = {}
    node.register_prehook(lambda grad_outputs: seen.update(pre=shapes(grad_outputs)))
    node.register_hook(lambda grad_inputs, grad_outputs: seen.update(
        post=shapes(grad_outputs), grad_inputs=shapes(grad_inputs)))
    used = range(len(outs)) if used is None else used
    sent = [outs[i] for i in used if outs[i].dtype.is_floating_point]
    rng = np.random.default_rng(1)
    upstream = [m.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype) for o in sent]
    m.autograd.backward(sent, upstream)
    return {
        "node": (type(node).__name__, node.name()),
        "next": [None if n is None else n.name() for n, _ in node.next_functions],
        "outputs": [o.grad_fn is node for o in outs],
        "seen": seen,
        "values": [o.detach().numpy() for o in outs],
        "grad": x.grad.numpy(),
    }


def assert_same_hooked(ours: dict, theirs: dict, rtol: float) -> None:
    """The node, its edges, its outputs and what its hooks saw are torch's; values and gradient
    agree to ``rtol`` (exactly in dtype and shape)."""
    for key in ("node", "next", "outputs", "seen"):
        assert ours[key] == theirs[key], key
    for a, b in zip(ours["values"] + [ours["grad"]], theirs["values"] + [theirs["grad"]],
                    strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
