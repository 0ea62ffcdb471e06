"""Products in float16 and bfloat16 round as PyTorch's: a fused ``linear``/``addmm``/``addmv``/
``baddbmm`` computes product and sum in float32 and rounds once; the gradient of a matrix
broadcast against a batch is one product over the folded batch (rounded once, not per batch
entry and again by the sum). Compared bit for bit with torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

OPS = {
    "matmul": lambda L, x, w, b, x3: x @ w.T,
    "linear": lambda L, x, w, b, x3: L.nn.functional.linear(x, w, b),
    "linear_3d": lambda L, x, w, b, x3: L.nn.functional.linear(x3, w, b),
    "addmm": lambda L, x, w, b, x3: L.addmm(b, x, w.T),
    "addmm_scaled": lambda L, x, w, b, x3: L.addmm(b, x, w.T, beta=0.5, alpha=2),
    "baddbmm": lambda L, x, w, b, x3: L.baddbmm(b.expand(3, 5, 16), x3, w.T.expand(3, 16, 16)),
    "addmv": lambda L, x, w, b, x3: L.addmv(b, w, x[0]),
    "addr": lambda L, x, w, b, x3: L.addr(w, b, x[0]),
    "batch_at_matrix": lambda L, x, w, b, x3: x3 @ w.T,
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("op", list(OPS))
def test_half_precision_products_round_as_torch(op, dtype):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s) for s in ((28, 16), (16, 16), (16,), (3, 5, 16))]
    seen = []
    for L in (torch, gpugrad):
        x, w, b, x3 = (L.from_numpy(a).to(getattr(L, dtype)).requires_grad_() for a in arrays)
        out = OPS[op](L, x, w, b, x3)
        grad_rng = np.random.default_rng(2)  # (the same gradient for both libraries)
        grad = L.from_numpy(grad_rng.standard_normal(tuple(out.shape))).to(out.dtype)
        out.backward(grad)
        seen.append([out.detach().float().numpy()] + [
            None if t.grad is None else t.grad.float().numpy() for t in (x, w, x3)])
    for ours, theirs in zip(seen[1], seen[0]):
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_array_equal(ours, theirs)
