"""``autograd.function.once_differentiable`` against PyTorch's: the backward runs under
no_grad, and under ``create_graph`` its results carry an ``Error`` node that raises when a
second backward reaches it (no silent zero second derivative)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

_TWICE = "trying to differentiate twice a function that was marked with @once_differentiable"


def _mul_function(lib, seen):
    """``x * w`` with a once-differentiable backward (two inputs, the second maybe None)."""

    class Mul(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x, w)
            return x * w

        @staticmethod
        @lib.autograd.function.once_differentiable
        def backward(ctx, g):
            seen.append(lib.is_grad_enabled())
            x, w = ctx.saved_tensors
            return g * w, (g * x if ctx.needs_input_grad[1] else None)

    return Mul


def _run(lib, create_graph, square_after):
    seen = []
    x = lib.tensor([1.0, 2.0, -3.0], dtype=lib.float64, requires_grad=True)
    w = lib.tensor([0.5, 4.0, 2.0], dtype=lib.float64, requires_grad=True)
    y = _mul_function(lib, seen).apply(x, w)
    z = (y * y).sum() if square_after else y.sum()
    gx, gw = lib.autograd.grad(z, (x, w), create_graph=create_graph)
    return seen, gx, gw


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("square_after", [False, True])
def test_first_order_and_the_mode_backward_runs_in(create_graph, square_after):
    ours, theirs = _run(gpugrad, create_graph, square_after), _run(torch, create_graph,
                                                                    square_after)
    assert ours[0] == theirs[0] == [False]
    for a, b in zip(ours[1:], theirs[1:]):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
        assert a.requires_grad == b.requires_grad
        assert (a.grad_fn is None) == (b.grad_fn is None)
        if b.grad_fn is not None:
            assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__ == "Error"
            assert len(a.grad_fn.next_functions) == len(b.grad_fn.next_functions)


def test_a_second_backward_through_it_raises():
    for lib in (gpugrad, torch):
        _, gx, gw = _run(lib, create_graph=True, square_after=True)
        with pytest.raises(RuntimeError, match=_TWICE):
            (gx.sum() + gw.sum()).backward()
