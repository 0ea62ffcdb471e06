"""``autograd.graph.GradientEdge`` and ``get_gradient_edge``: gradients taken at an edge of the
graph, as inputs and as outputs of ``autograd.grad`` and ``backward``, against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


def _program(lib, x):
    """A leaf, a node with one output and a node with several (unbind), and a loss."""
    a = lib.tensor(x, requires_grad=True)
    h = (a * a).tanh()
    parts = h.unbind(0)
    loss = (parts[0] * 3 + parts[1].exp()).sum()
    return a, h, parts, loss


def _np(t):
    return None if t is None else t.detach().numpy()


@pytest.mark.parametrize("create_graph", [False, True])
def test_gradients_at_edges_are_the_gradients_of_the_tensors(create_graph):
    x = np.random.default_rng(0).standard_normal((2, 3))
    results = []
    for lib in (gpugrad, torch):
        edge = lib.autograd.graph.get_gradient_edge
        a, h, parts, loss = _program(lib, x)
        edges = [edge(a), edge(h), edge(parts[1])]
        assert isinstance(edges[0], lib.autograd.graph.GradientEdge)
        assert type(edges[0].node).__name__ == "AccumulateGrad" and edges[0].output_nr == 0
        assert edges[2].node is parts[1].grad_fn and edges[2].output_nr == 1
        at_edges = lib.autograd.grad(loss, edges, retain_graph=True, create_graph=create_graph)
        at_tensors = lib.autograd.grad(loss, [a, h, parts[1]], retain_graph=True)
        for g, t in zip(at_edges, at_tensors):
            np.testing.assert_allclose(_np(g), _np(t))
        one = lib.autograd.grad(loss, edges[1], retain_graph=True)  # one edge, not a sequence
        assert len(one) == 1
        if create_graph:  # the gradient at the leaf's edge is itself differentiable
            (second,) = lib.autograd.grad(at_edges[0].sum(), a)
            at_edges = (*at_edges, second)
        results.append([_np(g) for g in at_edges])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_an_edge_outlives_its_tensor_and_can_start_backward():
    x = np.random.default_rng(1).standard_normal((2, 3))
    results = []
    for lib in (gpugrad, torch):
        a, h, parts, loss = _program(lib, x)
        edge = lib.autograd.graph.get_gradient_edge(h)
        del h, parts  # the edge needs no reference to the tensor
        (g,) = lib.autograd.grad(loss, edge, retain_graph=True)
        seed = lib.ones(2, 3, dtype=lib.float64) * 2
        (from_edge,) = lib.autograd.grad(edge, a, grad_outputs=seed, retain_graph=True)
        lib.autograd.backward(loss, inputs=[lib.autograd.graph.get_gradient_edge(a)])
        results.append([_np(g), _np(from_edge), _np(a.grad)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_an_edge_output_takes_batched_gradients():
    x = np.random.default_rng(2).standard_normal(3)
    results = []
    for lib in (gpugrad, torch):
        a = lib.tensor(x, requires_grad=True)
        b = a * a
        edge = lib.autograd.graph.get_gradient_edge(b)
        (rows,) = lib.autograd.grad(edge, a, grad_outputs=lib.eye(3, dtype=lib.float64),
                                    is_grads_batched=True)
        results.append(_np(rows))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)
    np.testing.assert_allclose(results[0], np.diag(2 * x), rtol=1e-12)  # the Jacobian


def test_edge_errors():
    for lib in (gpugrad, torch):
        edge = lib.autograd.graph.get_gradient_edge
        with pytest.raises(RuntimeError, match="does not require gradients"):
            edge(lib.ones(2))
        a = lib.ones(2, requires_grad=True)
        unused = edge(a * 5)
        loss = (a * 2).sum()
        with pytest.raises(RuntimeError, match="materialize_grads cannot be used"):
            lib.autograd.grad(loss, [unused], materialize_grads=True, retain_graph=True)
        with pytest.raises(RuntimeError, match="not have been used in the graph"):
            lib.autograd.grad(loss, [unused], retain_graph=True)
        assert lib.autograd.grad(loss, [unused], allow_unused=True, retain_graph=True) == (None,)
    # PyTorch knows the shape of every node's output and seeds a scalar one itself; gpugrad
    # records none, and asks for the gradient
    a = gpugrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="give its gradient in grad_outputs"):
        gpugrad.autograd.grad(gpugrad.autograd.graph.get_gradient_edge((a * 2).sum()), a)
