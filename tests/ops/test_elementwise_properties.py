"""Hypothesis: binary and unary elementwise ops over random broadcastable shapes and values,
values and gradients against PyTorch."""

from __future__ import annotations

import numpy as np
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
