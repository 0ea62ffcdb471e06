"""The engine: backward, accumulation, retain_graph, broadcasting, errors."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch

import gpugrad


def test_scalar_square_example_from_issue():
    x = gpugrad.tensor(1.0, requires_grad=True)
    y = x**2
    y.backward()
    assert x.grad.item() == 2.0


def test_requires_grad_defaults_false_and_integer_tensors_cannot_require_grad():
    assert not gpugrad.tensor([1.0]).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        gpugrad.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating point"):
        gpugrad.tensor([1, 2]).requires_grad_()


def test_grad_fn_repr_and_leaves():
    x = gpugrad.ones(2, requires_grad=True)
    y = x * 3
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf
    assert repr(y.grad_fn).startswith("<MulBackward0 object at 0x")
    assert "grad_fn=<MulBackward0>" in repr(y)


def test_non_scalar_backward_needs_gradient():
    x = gpugrad.ones(3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="implicitly created only for scalar outputs"):
        y.backward()
    y.backward(gpugrad.tensor([1.0, 2.0, 3.0]))
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_gradient_shape_mismatch_is_reported():
    x = gpugrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(gpugrad.ones(2))


def test_mean_backward_gives_one_over_n():
    x = gpugrad.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    (x * x).mean().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1, 2, 3, 4]) / 4)


def test_grad_accumulates_and_resets():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    for _ in range(3):
        (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3 * 2 * np.array([1.0, 2.0]))
    x.grad.zero_()
    assert x.grad.tolist() == [0.0, 0.0]
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


_BAD_GRADS = {
    "list": lambda m: [1.0, 2.0], "float": lambda m: 1.0, "ndarray": lambda m: np.ones(2),
    "size": lambda m: m.ones(3), "size-2d": lambda m: m.ones(1, 2),
    "double": lambda m: m.ones(2, dtype=m.float64), "long": lambda m: m.ones(2, dtype=m.int64),
    "half": lambda m: m.ones(2, dtype=m.float16),
    "dtype-before-size": lambda m: m.ones(3, dtype=m.float64),
}


def _assign_error(m, name):
    x = m.ones(2, requires_grad=True)
    with pytest.raises(Exception) as raised:
        x.grad = _BAD_GRADS[name](m)
    assert x.grad is None
    # (PyTorch goes on to advise setting grad_dtype, an attribute gpugrad does not have)
    return type(raised.value), str(raised.value).split(" You can set the tensor's grad_dtype")[0]


@pytest.mark.parametrize("name", _BAD_GRADS)
def test_grad_setter_errors_as_torch(name):
    assert _assign_error(gpugrad, name) == _assign_error(torch, name)


def test_grad_setter_takes_a_matching_tensor_or_none():
    x = gpugrad.ones(2, 3, dtype=gpugrad.int64)
    x.grad = gpugrad.ones(3, 2, dtype=gpugrad.int64).t()  # any strides
    assert x.grad.tolist() == [[1, 1, 1]] * 2
    x.grad = None
    assert x.grad is None


def test_second_backward_raises_and_retain_graph_keeps_graph():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_backward_without_graph_raises():
    x = gpugrad.ones(2)
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.sum().backward()


def test_reused_tensor_accumulates_within_one_backward():
    x = gpugrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.array([1, 2, 3]) + 1)


def test_broadcast_gradients_reduce_to_input_shape():
    a = gpugrad.ones(3, 1, requires_grad=True)
    b = gpugrad.ones(4, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.tolist() == [[4.0]] * 3
    assert b.grad.shape == (4,) and b.grad.tolist() == [3.0] * 4


def test_mixed_dtype_gradients_come_back_in_each_input_dtype():
    a = gpugrad.ones(2, dtype=gpugrad.float32, requires_grad=True)
    b = gpugrad.ones(2, dtype=gpugrad.float64, requires_grad=True)
    out = a * b
    assert out.dtype == gpugrad.float64
    out.sum().backward()
    assert a.grad.dtype == gpugrad.float32 and b.grad.dtype == gpugrad.float64


def test_gradients_of_distinct_leaves_never_share_memory():
    a = gpugrad.ones(3, requires_grad=True)
    b = gpugrad.ones(3, requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    g = gpugrad.ones(3)
    c = gpugrad.ones(3, requires_grad=True)
    (c + 0).backward(g)
    assert not np.shares_memory(c.grad.numpy(), g.numpy())
    c.grad.add_(1)
    assert g.tolist() == [1.0, 1.0, 1.0]  # the upstream gradient is untouched


def test_accumulation_is_in_place_as_in_torch():
    x = gpugrad.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    held = x.grad
    version = held._version
    (x * 2).sum().backward()
    assert held is x.grad and held.tolist() == [4.0, 4.0]
    assert held._version == version + 1


def test_saved_tensors_are_freed_after_backward_without_gc():
    gc.disable()
    try:
        x = gpugrad.randn(5, requires_grad=True)
        h = x.exp()
        ref = weakref.ref(h)
        y = (h * h).sum()
        del h
        assert ref() is not None  # still saved by the graph
        y.backward()
        assert ref() is None  # freed by reference counting alone
    finally:
        gc.enable()


def test_graph_is_freed_when_output_dropped_without_gc():
    gc.disable()
    try:
        x = gpugrad.randn(5, requires_grad=True)
        y = (x.sin() * x).sum()
        ref = weakref.ref(y.grad_fn)
        del y
        assert ref() is None
    finally:
        gc.enable()


def test_deep_chain_does_not_recurse():
    x = gpugrad.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]
    del y  # freeing the 100k-node chain must not overflow the C stack either


def test_backward_inputs_restricts_accumulation():
    a = gpugrad.ones(2, requires_grad=True)
    b = gpugrad.ones(2, requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    assert a.grad is not None and b.grad is None


def test_matches_torch_on_a_small_network():
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((4, 5)), rng.standard_normal((5, 3))
    x = rng.standard_normal((7, 4))
    results = []
    for m in (gpugrad, torch):
        W1 = m.tensor(w1, requires_grad=True)
        W2 = m.tensor(w2, requires_grad=True)
        X = m.tensor(x)
        out = ((X @ W1).tanh() @ W2).sigmoid()
        loss = (out * out).mean() + (W1 * W1).sum() * 0.01
        loss.backward()
        results.append((loss.item(), W1.grad.numpy().copy(), W2.grad.numpy().copy()))
    (l1, a1, b1), (l2, a2, b2) = results
    assert abs(l1 - l2) < 1e-12
    np.testing.assert_allclose(a1, a2, rtol=1e-10)
    np.testing.assert_allclose(b1, b2, rtol=1e-10)
