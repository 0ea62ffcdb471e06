"""In-place ops recorded in the graph (rebasing, CopySlices, views of views, writes through
indices and masks), compared with PyTorch's values, gradients and node names, and by
gradcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.autograd import gradcheck, gradgradcheck


def _through_view_mul(m, x, w):
    y = x * 1
    y[0].mul_(w[0])
    return (y * y).sum()


def _stale_view(m, x, w):
    y = x * 2
    v = y[:2]  # made before the write below, used after it
    y[1] = w[0]
    return (v * v).sum()


def _rebase_chain(m, x, w):
    y = x.sin()
    y.mul_(w)
    y.add_(w, alpha=-0.5)
    y.div_(w.abs() + 1)
    y.sub_(1)
    y.pow_(2)
    y.exp_()
    return y.sum()


def _scatter_into_zeros(m, x, w):
    z = m.zeros(3, 4, dtype=m.float64)
    z[1] = w[0]
    z[[0, 2]] += x[:2] * 3
    return (z ** 2).sum()


def _transposed_view(m, x, w):
    y = x * 1
    y.t()[0].add_(w[:, 0] * 2)
    return (y * x).sum()


def _views_of_views(m, x, w):
    y = x * 1
    r = y[1:]
    r[:, ::2].fill_(0)
    r.mul_(w[1:])
    return (y * y).sum()


def _base_written_view_used(m, x, w):
    y = x * 1
    v = y.view(12)
    y.mul_(w)
    return (v * v).sum()


def _masks_and_clamp(m, x, w):
    y = x * 1
    y[y > 0] = 0.0
    y.masked_fill_(w > 0.5, 2.0)
    y.clamp_(-0.5, 1.0)
    return (y * w).sum()


def _composite_op_saving_self(m, x, w):
    y = x * 1
    y.clamp_(min=w - 0.9, max=w)  # maximum then minimum: the inner node saves the old y
    return (y * y).sum()


def _overwrites(m, x, w):
    y = x + 0
    y.zero_()
    y += w
    y.copy_(w * x)
    y[1:].fill_(2.0)
    y.sigmoid_()
    return (y * x).sum() + (x * 1).copy_(w).sum()


def _plain_tensor_gets_history(m, x, w):
    z = m.zeros(3, 4, dtype=m.float64)
    z += w
    z.mul_(x)
    return z.sum()


def _recurrence_into_a_buffer(m, x, w):
    out = m.zeros(3, 4, dtype=m.float64)
    for t in range(3):
        prev = out[t - 1] if t else w[0]
        out[t] = (prev + x[t]).tanh() * 2
    return out.sum()


def _setitem_repeated_rows(m, x, w):
    y = x * 1
    y[[0, 0, 2]] = w[:3]
    return (y * x).sum()


def _setitem_with_mask_value_tensor(m, x, w):
    y = x * 1
    y[x > 0] = w[0, 0]
    return (y * y).sum()


RECORDED = [_through_view_mul, _stale_view, _rebase_chain, _scatter_into_zeros, _transposed_view,
            _views_of_views, _base_written_view_used, _masks_and_clamp,
            _composite_op_saving_self, _overwrites,
            _plain_tensor_gets_history, _recurrence_into_a_buffer, _setitem_repeated_rows,
            _setitem_with_mask_value_tensor]


def _run(module, fn, arrays):
    xs = [module.tensor(a, requires_grad=True) for a in arrays]
    out = fn(module, *xs)
    out.backward()
    return out.item(), [x.grad for x in xs]


@pytest.mark.parametrize("fn", RECORDED, ids=lambda f: f.__name__.strip("_"))
def test_recorded_inplace_matches_torch(fn):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((3, 4)), rng.uniform(0.2, 1.0, (3, 4))]
    value, grads = _run(gpugrad, fn, arrays)
    t_value, t_grads = _run(torch, fn, arrays)
    assert value == pytest.approx(t_value, rel=1e-10)
    for g, tg in zip(grads, t_grads):
        if tg is None:
            assert g is None or not g.numpy().any()
        else:
            np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("fn", [f for f in RECORDED if f is not _setitem_repeated_rows],
                         ids=lambda f: f.__name__.strip("_"))
def test_recorded_inplace_passes_gradcheck(fn):
    rng = np.random.default_rng(1)
    x = gpugrad.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    w = gpugrad.tensor(rng.uniform(0.2, 1.0, (3, 4)), requires_grad=True)
    assert gradcheck(lambda a, b: fn(gpugrad, a, b), (x, w))
    assert gradgradcheck(lambda a, b: fn(gpugrad, a, b), (x, w))


def test_multi_output_views_can_be_written():
    """PyTorch forbids writing into outputs of ``split``/``chunk``; gpugrad records the write as
    for any view, with the gradient PyTorch gives for the same write through ``narrow``."""
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((3, 4)), rng.standard_normal((3, 2))]

    def ours(m, x, w):
        y = x * 1
        a, b = y.chunk(2, 1)
        a.mul_(3)
        b.copy_(w)
        return (y ** 2).sum()

    def theirs(m, x, w):
        y = x * 1
        y.narrow(1, 0, 2).mul_(3)
        y.narrow(1, 2, 2).copy_(w)
        return (y ** 2).sum()

    value, grads = _run(gpugrad, ours, arrays)
    t_value, t_grads = _run(torch, theirs, arrays)
    assert value == pytest.approx(t_value)
    for g, tg in zip(grads, t_grads):
        np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-10)


def test_graph_nodes_are_named_as_pytorch():
    def nodes(m):
        x = m.ones(3, requires_grad=True)
        z = x * 1
        z[0:1].mul_(2)
        outs = [(x * 1).mul_(2), (x * 1).zero_(), (x * 1).fill_(1), (x * 1).fill_(m.tensor(2.0)),
                (x * 1).copy_(x)]
        assert not z.is_leaf and z.requires_grad
        # An in-place op through a view: PyTorch's CopySlices lists the op's other inputs, ours
        # the op's result (README, Differences); the names agree.
        return [(type(o.grad_fn).__name__, o.grad_fn.name(),
                 [n.name() if n else None for n, _ in o.grad_fn.next_functions]) for o in outs
                ] + [(type(z.grad_fn).__name__, z.grad_fn.name())]

    assert nodes(gpugrad) == nodes(torch)


def test_write_into_a_plain_tensor_with_a_grad_operand_makes_it_a_graph_node():
    w = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    z = gpugrad.zeros(2)
    z += w
    assert z.grad_fn.name() == "AddBackward0" and not z.is_leaf
    buf = gpugrad.zeros(3, 2)
    row = buf[1]
    buf[1] = w * 2  # the earlier view ``row`` now differentiates through the write
    (row * 3).sum().backward()
    assert w.grad.tolist() == [6.0, 6.0]


def test_setitem_of_a_detached_copy_of_the_same_memory_cuts_the_gradient():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y[0] = y.detach()[0]  # same memory, but a value without history: as PyTorch, no gradient
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0]


def test_retain_grad_follows_the_rebase():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.retain_grad()
    y.mul_(3)
    (y * 2).sum().backward()
    assert y.grad.tolist() == [2.0, 2.0]
    assert x.grad.tolist() == [6.0, 6.0]


def test_fill_with_a_tensor_that_requires_grad():
    v = gpugrad.tensor(2.0, requires_grad=True)
    x = gpugrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    y[1:].fill_(v)
    (y * y).sum().backward()
    assert v.grad.item() == pytest.approx(8.0)
    assert x.grad.tolist() == [2.0, 0.0, 0.0]
    with pytest.raises(RuntimeError, match="only supports 0-dimension value tensor"):
        y.fill_(gpugrad.ones(2))
