"""Hypothesis: binary and unary elementwise ops over random broadcastable shapes and values,
values and gradients against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gpugrad

BINARY = ["add", "sub", "mul", "maximum", "minimum"]
UNARY = ["exp", "tanh", "sigmoid", "sin", "abs", "neg", "relu"]
FINITE = st.floats(-5, 5, allow_nan=False, width=64)


def _pair(arr, requires_grad=True):
    return (gpugrad.tensor(arr, requires_grad=requires_grad),
            torch.tensor(arr, requires_grad=requires_grad))


@settings(max_examples=40, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                   max_side=4),
       name=st.sampled_from(BINARY), data=st.data())
def test_binary_broadcasting_matches_torch(shapes, name, data):
    a = data.draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=FINITE))
    b = data.draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=FINITE))
    ga, ta = _pair(a)
    gb, tb = _pair(b)
    g_out = getattr(gpugrad, name)(ga, gb)
    t_out = getattr(torch, name)(ta, tb)
    assert tuple(g_out.shape) == tuple(t_out.shape) == shapes.result_shape
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    up = data.draw(hnp.arrays(np.float64, shapes.result_shape, elements=FINITE))
    g_out.backward(gpugrad.tensor(up))
    t_out.backward(torch.tensor(up))
    np.testing.assert_allclose(ga.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gb.grad.numpy(), tb.grad.numpy(), rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(arr=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=5),
                      elements=FINITE),
       name=st.sampled_from(UNARY))
def test_unary_values_and_grads_match_torch(arr, name):
    g, t = _pair(arr)
    g_out, t_out = getattr(gpugrad, name)(g), getattr(torch, name)(t)
    np.testing.assert_allclose(g_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-12)
    g_out.sum().backward()
    t_out.sum().backward()
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["sign", "sgn", "floor", "ceil", "round", "trunc", "abs"])
def test_piecewise_constant_ops_at_nan_and_with_infinite_gradients(name):
    """sign(nan) is 0 and the gradient of a piecewise-constant op is 0 even where the incoming
    gradient is inf or nan, as PyTorch's (not g * 0)."""
    values = [1.5, -2.0, 0.0, float("nan")]
    up = [float("inf"), float("nan"), 1.0, 1.0]
    g, t = _pair(np.array(values))
    g_out, t_out = getattr(gpugrad, name)(g), getattr(torch, name)(t)
    np.testing.assert_array_equal(g_out.detach().numpy(), t_out.detach().numpy())
    g_out.backward(gpugrad.tensor(up, dtype=gpugrad.float64))
    t_out.backward(torch.tensor(up, dtype=torch.float64))
    np.testing.assert_array_equal(g.grad.numpy(), t.grad.numpy(force=True))  # (a ZeroTensor)


@pytest.mark.parametrize("bounds", ["min", "max", "both", "min above max"])
def test_clamp_with_tensor_bounds_at_ties(bounds):
    """Where the input equals a tensor bound the whole gradient goes where PyTorch sends it
    (not split between them as maximum/minimum split it)."""
    x = np.array([0.0, 1.0, 0.5, -1.0, 2.0, 0.0, 1.0])
    lo = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0])
    hi = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0])
    lo, hi = {"min": (lo, None), "max": (None, hi), "both": (lo, hi),
              "min above max": (hi + 1, lo)}[bounds]
    pairs = [_pair(x)] + [_pair(b) if b is not None else (None, None) for b in (lo, hi)]
    g_out = gpugrad.clamp(*(g for g, _ in pairs))
    t_out = torch.clamp(*(t for _, t in pairs))
    np.testing.assert_array_equal(g_out.detach().numpy(), t_out.detach().numpy())
    assert type(g_out.grad_fn).__name__ == type(t_out.grad_fn).__name__
    g_out.sum().backward()
    t_out.sum().backward()
    for g, t in pairs:
        if g is not None:
            np.testing.assert_array_equal(g.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
def test_shifts_match_torch(dtype):
    info = np.iinfo(dtype)
    a = np.array([5, -5, 1, -1, 100, -100, 0, 7]).clip(info.min, info.max).astype(dtype)
    b = np.array([1, 1, 70, 70, 9, 9, -1, 8]).clip(info.min, info.max).astype(dtype)
    ga, gb, ta, tb = gpugrad.tensor(a), gpugrad.tensor(b), torch.tensor(a), torch.tensor(b)
    for g_out, t_out in [(ga << gb, ta << tb), (ga >> gb, ta >> tb), (ga << 2, ta << 2),
                         (3 >> gb, 3 >> tb), (gpugrad.bitwise_left_shift(ga, 1),
                                              torch.bitwise_left_shift(ta, 1))]:
        assert g_out.dtype.name == str(t_out.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(g_out.numpy(), t_out.numpy())
    x, y = ga.clone(), ta.clone()
    x >>= 1
    y >>= 1
    x.bitwise_left_shift_(2)
    y.bitwise_left_shift_(2)
    np.testing.assert_array_equal(x.numpy(), y.numpy())
    with pytest.raises(NotImplementedError):
        gpugrad.ones(2) << 1


@pytest.mark.parametrize("form", ["~", "bitwise_not", "method", "method_"])
def test_bitwise_not_of_floats_fails_as_torch(form):
    """``~x`` of a float tensor is a TypeError of its own; the op a missing kernel."""
    def outcome(m):
        x = m.ones(2)
        call = {"~": lambda: ~x, "bitwise_not": lambda: m.bitwise_not(x),
                "method": lambda: x.bitwise_not(), "method_": lambda: x.bitwise_not_()}[form]
        with pytest.raises(Exception) as caught:
            call()
        return type(caught.value).__name__, str(caught.value)

    assert outcome(gpugrad) == outcome(torch)
    assert (~gpugrad.tensor([True, False])).tolist() == [False, True]
    assert (~gpugrad.tensor([5], dtype=gpugrad.int32)).tolist() == [-6]
