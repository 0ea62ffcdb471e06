"""``as_strided`` on memory that both libraries share the layout of: NumPy strided views
(``from_numpy`` keeps their strides in both), views of views, explicit offsets; values and
gradients against PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


def _strided_source():
    big = np.arange(24.0).reshape(4, 6) * 0.5 - 3
    return big[:, 1::2]  # (4, 3), strides (6, 2) in elements


CASES = [
    ("root strided", lambda m, x: m.as_strided(x, (3, 2), (2, 1))),
    ("explicit offset", lambda m, x: m.as_strided(x, (2, 3), (1, 4), 3)),
    ("view of a view", lambda m, x: x.t()[1:].as_strided((2, 2), (3, 1))),
    ("overlapping windows", lambda m, x: (x * 1).as_strided((4, 3), (1, 1))),
    ("of a transposed copy", lambda m, x: x.t().contiguous().as_strided((3, 3), (3, 1), 2)),
]


@pytest.mark.parametrize("name,op", CASES, ids=[c[0] for c in CASES])
def test_as_strided_matches_torch_on_the_same_memory(name, op):
    src = _strided_source()
    g = gpugrad.from_numpy(src).requires_grad_()
    t = torch.from_numpy(src).requires_grad_()
    assert g.stride() == t.stride()
    g_out, t_out = op(gpugrad, g), op(torch, t)
    np.testing.assert_array_equal(g_out.detach().numpy(), t_out.detach().numpy())
    assert g_out.stride() == t_out.stride()
    up = np.cos(np.arange(t_out.numel())).reshape(tuple(t_out.shape))
    g_out.backward(gpugrad.from_numpy(up))
    t_out.backward(torch.from_numpy(up))
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_as_strided_is_a_view_that_sees_writes():
    x = gpugrad.arange(6.0)
    v = x.as_strided((2, 2), (2, 1), 1)
    x.add_(10)
    assert v.tolist() == [[11.0, 12.0], [13.0, 14.0]]
    assert v._base is x


# as_strided_: the tensor itself takes the new layout; against torch on the same memory.
INPLACE_CASES = [
    ("of a product", lambda m, x: (x * 2).as_strided_((3, 2), (2, 1))),
    ("explicit offset", lambda m, x: (x + 1).as_strided_((2, 2), (1, 3), 2)),
    ("of a view", lambda m, x: (x * 1)[1:].as_strided_((2, 3), (3, 1))),
    ("overlapping", lambda m, x: (x - 1).as_strided_((4, 3), (1, 1))),
]


@pytest.mark.parametrize("name,op", INPLACE_CASES, ids=[c[0] for c in INPLACE_CASES])
def test_as_strided__matches_torch(name, op):
    src = _strided_source()
    g = gpugrad.from_numpy(src).requires_grad_()
    t = torch.from_numpy(src).requires_grad_()
    g_out, t_out = op(gpugrad, g), op(torch, t)
    np.testing.assert_array_equal(g_out.detach().numpy(), t_out.detach().numpy())
    assert g_out.stride() == t_out.stride()
    assert type(g_out.grad_fn).__name__ == type(t_out.grad_fn).__name__ == "AsStridedBackward1"
    up = np.sin(np.arange(t_out.numel())).reshape(tuple(t_out.shape))
    g_out.backward(gpugrad.from_numpy(up))
    t_out.backward(torch.from_numpy(up))
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-12)


def test_as_strided__is_in_place_and_checked_as_pytorch():
    for m in (gpugrad, torch):
        x = m.arange(6.0)
        assert x.as_strided_((2, 2), (1, 2), 1) is x
        assert x.tolist() == [[1.0, 3.0], [2.0, 4.0]] and x._version == 1
        v = m.arange(6.0)[1:]  # the offset defaults to where the tensor starts
        assert v.as_strided_((2,), (2,)).tolist() == [1.0, 3.0] and v.storage_offset() == 1
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            m.ones(4, requires_grad=True).as_strided_((2, 2), (2, 1))
        with m.no_grad():
            leaf = m.ones(4, requires_grad=True)
            leaf.as_strided_((2, 2), (2, 1))
        assert tuple(leaf.shape) == (2, 2) and leaf.requires_grad
        with pytest.raises(RuntimeError, match="out of bounds for storage"):
            m.arange(3.0).as_strided_((5,), (1,))
        with pytest.raises(RuntimeError, match="Negative strides"):
            m.arange(3.0).as_strided_((2,), (-1,))
