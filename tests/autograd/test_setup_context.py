"""``autograd.Function`` written in PyTorch's other style: ``forward(*args)`` without ``ctx`` and
a ``setup_context(ctx, inputs, output)`` that keeps what backward reads; against torch."""

from __future__ import annotations

import pytest
from torch_oracle import same


def _cube(L):
    class Cube(L.autograd.Function):
        @staticmethod
        def forward(x, k):
            return x ** 3 * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            ctx.save_for_backward(x)
            ctx.k = k

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 3 * x ** 2 * ctx.k, None

    return Cube


def _sort_with_indices(L):
    class Sort(L.autograd.Function):
        @staticmethod
        def forward(x):
            values, indices = x.sort()
            return values, indices

        @staticmethod
        def setup_context(ctx, inputs, output):
            values, indices = output
            ctx.mark_non_differentiable(indices)
            ctx.save_for_backward(indices)
            ctx.n = inputs[0].shape[0]

        @staticmethod
        def backward(ctx, grad_values, grad_indices):
            (indices,) = ctx.saved_tensors
            return L.zeros(ctx.n, dtype=grad_values.dtype).scatter(0, indices, grad_values)

    return Sort


def test_gradients_and_the_node_as_torch():
    def run(L):
        x = L.tensor([0.5, -1.0, 2.0], dtype=L.float64, requires_grad=True)
        y = _cube(L).apply(x, 2.0)
        y.sum().backward()
        return y.tolist(), x.grad.tolist(), type(y.grad_fn).__name__
    same(run)


def test_several_outputs_and_marks_made_in_setup_context():
    def run(L):
        x = L.tensor([3.0, 1.0, 2.0], dtype=L.float64, requires_grad=True)
        values, indices = _sort_with_indices(L).apply(x)
        (values * L.tensor([1.0, 10.0, 100.0], dtype=L.float64)).sum().backward()
        return values.tolist(), indices.tolist(), indices.requires_grad, x.grad.tolist()
    same(run)


def test_backward_of_backward_under_create_graph():
    def run(L):
        x = L.tensor([0.5, 2.0], dtype=L.float64, requires_grad=True)
        (g,) = L.autograd.grad(_cube(L).apply(x, 1.0).sum(), x, create_graph=True)
        (gg,) = L.autograd.grad(g.sum(), x)
        return g.tolist(), gg.tolist()
    same(run)


def test_nothing_recorded_without_grad_and_forward_is_the_users():
    def run(L):
        cube = _cube(L)
        x = L.tensor([2.0])
        return cube.apply(x, 1.0).requires_grad, cube.forward(x, 1.0).tolist()
    same(run)


@pytest.mark.parametrize("lib", ["gpugrad", "torch"])
def test_the_base_setup_context_is_not_implemented(lib):
    import importlib

    L = importlib.import_module(lib)
    with pytest.raises(NotImplementedError, match="setup_context is not implemented"):
        L.autograd.Function.setup_context(None, (), None)


def _keyword_functions(L):
    class Scale(L.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale=2.0, shift=0.0):
            ctx.scale = scale
            return x * scale + shift

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.scale, None, None

    class Product(L.autograd.Function):
        @staticmethod
        def forward(x, w=None, k=3):
            return x * w * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(*inputs[:2])
            ctx.k = inputs[2]
            ctx.seen = (len(inputs), ctx.needs_input_grad)

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.saved_tensors
            return grad * w * ctx.k, grad * x * ctx.k, None

    return Scale, Product


@pytest.mark.parametrize("call", [
    "Scale.apply(x, scale=3.0)", "Scale.apply(x=x)", "Scale.apply(x, 1.5, shift=1.0)",
    "Scale.apply(x, shift=1.0)", "Scale.apply(x, 2.0, scale=3.0)", "Scale.apply(x, foo=1)",
    "Product.apply(x, w=w)", "Product.apply(x, k=2, w=w)", "Product.apply(x, foo=1)",
])
def test_apply_binds_keyword_arguments_as_torch(call):
    import torch

    import gpugrad

    seen = []
    for L in (torch, gpugrad):
        Scale, Product = _keyword_functions(L)
        x = L.tensor([1.0, 2.0], requires_grad=True)
        w = L.tensor([3.0, -1.0], requires_grad=True)
        try:
            y = eval(call, {"Scale": Scale, "Product": Product, "x": x, "w": w})
        except TypeError as err:
            seen.append(str(err))
            continue
        y.sum().backward()
        setup = getattr(y.grad_fn, "seen", None)
        seen.append((y.tolist(), x.grad.tolist(), None if w.grad is None else w.grad.tolist(),
                     len(y.grad_fn.next_functions), setup))
    assert seen[1] == seen[0]
