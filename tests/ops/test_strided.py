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
