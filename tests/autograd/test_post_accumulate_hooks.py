"""``Tensor.register_post_accumulate_grad_hook``: PyTorch's semantics, and that a hook runs as
soon as its leaf's gradient is complete, while the rest of backward still has to run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


def _leaf(values, lib=gpugrad):
    return lib.tensor(values, dtype=lib.float64, requires_grad=True)


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_runs_once_after_accumulation_with_the_tensor(lib):
    a = _leaf([1.0, 2.0], lib)
    seen = []
    a.register_hook(lambda g: seen.append(("grad hook", g.tolist())))
    a.register_post_accumulate_grad_hook(lambda t: seen.append(("post", t is a, t.grad.tolist())))
    (a * a + a * 3).sum().backward()  # two uses of a: summed before the hook
    (a * 2).sum().backward()  # accumulates into the existing .grad
    assert seen == [("grad hook", [5.0, 7.0]), ("post", True, [5.0, 7.0]),
                    ("grad hook", [2.0, 2.0]), ("post", True, [7.0, 9.0])]


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_not_run_by_autograd_grad_nor_for_leaves_left_out_of_inputs(lib):
    a, b = _leaf([1.0], lib), _leaf([2.0], lib)
    seen = []
    a.register_post_accumulate_grad_hook(lambda t: seen.append("a"))
    b.register_post_accumulate_grad_hook(lambda t: seen.append("b"))
    lib.autograd.grad((a * b).sum(), [a, b])
    assert seen == []
    (a * b).sum().backward(inputs=[b])
    assert seen == ["b"] and a.grad is None


@pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_refused_on_non_leaves_and_tensors_without_grad(lib):
    a = _leaf([1.0], lib)
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        (a * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        lib.ones(2).register_post_accumulate_grad_hook(lambda t: None)


def test_removed_hook_does_not_run_and_create_graph_runs_it_at_the_end():
    a = _leaf([3.0])
    seen = []
    handle = a.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.item()))
    (a ** 2).sum().backward(create_graph=True)
    assert seen == [6.0] and a.grad.requires_grad
    handle.remove()
    a.grad = None
    (a ** 2).sum().backward()
    assert seen == [6.0]


class _Marker(gpugrad.autograd.Function):
    """Identity whose backward records that it ran."""

    events: list = []

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def backward(ctx, grad_output):
        _Marker.events.append("first layer's input")
        return grad_output


def test_a_hook_runs_before_the_rest_of_backward():
    gpugrad.manual_seed(0)
    first, last = gpugrad.nn.Linear(4, 8), gpugrad.nn.Linear(8, 2)
    events = _Marker.events = []
    for name, p in (("first.weight", first.weight), ("last.weight", last.weight)):
        p.register_post_accumulate_grad_hook(lambda t, name=name: events.append(name))
    x = _Marker.apply(gpugrad.randn(3, 4, requires_grad=True))
    last(first(x).relu()).sum().backward()
    # The last layer's gradient is complete first; the node before the first layer runs after
    # the first layer's weight, which it does not feed.
    assert events.index("last.weight") < events.index("first.weight")
    assert events.index("last.weight") < events.index("first layer's input")


def test_in_place_write_in_a_hook_does_not_reach_another_gradient():
    # a + c hands the same upstream gradient to leaf a and to c's node: a's .grad must not be
    # that array when a's hook writes into it while c's node still has to run.
    a, b = _leaf([1.0, 1.0]), _leaf([1.0, 1.0])

    def scale_in_place(t):
        with gpugrad.no_grad():
            t.grad.mul_(100)

    a.register_post_accumulate_grad_hook(scale_in_place)
    (a + b * 2).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [100.0, 100.0])
    np.testing.assert_array_equal(b.grad.numpy(), [2.0, 2.0])


def test_hooked_training_matches_plain_training():
    def train(hooked: bool):
        gpugrad.manual_seed(1)
        model = gpugrad.nn.Sequential(gpugrad.nn.Linear(5, 7), gpugrad.nn.Tanh(),
                                      gpugrad.nn.Linear(7, 3)).double()
        calls = []
        if hooked:
            for p in model.parameters():
                p.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.clone()))
        opt = gpugrad.optim.SGD(model.parameters(), lr=0.1)
        x = gpugrad.randn(6, 5, dtype=gpugrad.float64)
        for _ in range(3):
            opt.zero_grad()
            model(x).square().mean().backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()], len(calls)

    plain, _ = train(False)
    hooked, n_calls = train(True)
    assert n_calls == 3 * 4
    for p, q in zip(plain, hooked):
        np.testing.assert_array_equal(p, q)
