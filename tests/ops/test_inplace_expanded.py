"""In-place writes into an expanded tensor (elements that share memory), compared with
PyTorch: the fills and index writes it allows write through to the base (with its deprecation
warning where it gives one), every other write refuses; recorded, such a write's backward
refuses too, except a write whose target shares nothing (``b[0, 1] = v``)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad

OVERLAP = "more than one element of the written-to tensor refers to a single memory location"


def _mask(m):
    return m.tensor([[True, False, True], [False, False, False]])


ALLOWED = {
    "fill_": lambda m, b: b.fill_(5),
    "zero_": lambda m, b: b.zero_(),
    "masked_fill_": lambda m, b: b.masked_fill_(_mask(m), 3),
    "setitem_int": lambda m, b: b.__setitem__((1, 2), 5),
    "setitem_tensor_value": lambda m, b: b.__setitem__((0, 1), m.tensor(7.0)),
    "setitem_ellipsis": lambda m, b: b.__setitem__((Ellipsis, 0), 3),
    "setitem_mask": lambda m, b: b.__setitem__(_mask(m), 1),
    "setitem_list": lambda m, b: b.__setitem__((0, [1, 2]), 4),
    "setitem_list_values": lambda m, b: b.__setitem__(
        (slice(None), [0, 2]), m.tensor([[4.0, 5.0], [6.0, 8.0]], dtype=b.dtype)),
    "index_fill_": lambda m, b: b.index_fill_(1, m.tensor([1]), 3),
    "index_fill_rows": lambda m, b: b.index_fill_(0, m.tensor([1]), 3),
    "index_put_": lambda m, b: b.index_put_((m.tensor([0, 1]), m.tensor([1, 2])),
                                            m.tensor([3.0, 4.0], dtype=b.dtype)),
    "index_put_accumulate": lambda m, b: b.index_put_((m.tensor([1]), m.tensor([2])),
                                                      m.tensor(3.0, dtype=b.dtype),
                                                      accumulate=True),
    "fill_diagonal_": lambda m, b: b.fill_diagonal_(3),
}

REFUSED = {
    "fill_tensor": lambda m, b: b.fill_(m.tensor(2.0)),
    "copy_": lambda m, b: b.copy_(m.ones(2, 3)),
    "setitem_slice": lambda m, b: b.__setitem__(slice(None), 4),
    "setitem_slice_values": lambda m, b: b.__setitem__((0, slice(1, 3)), m.tensor([7.0, 8.0])),
    "mul_": lambda m, b: b.mul_(2), "add_": lambda m, b: b.add_(1),
    "clamp_": lambda m, b: b.clamp_(0, 1), "uniform_": lambda m, b: b.uniform_(),
    "normal_": lambda m, b: b.normal_(), "bernoulli_": lambda m, b: b.bernoulli_(),
    "masked_scatter_": lambda m, b: b.masked_scatter_(_mask(m), m.ones(6)),
    "scatter_": lambda m, b: b.scatter_(1, m.tensor([[1]]), 3.0),
    "index_copy_": lambda m, b: b.index_copy_(1, m.tensor([1]), m.ones(2, 1)),
}


def _expanded(m, dtype):
    a = m.tensor([[1.0], [2.0]], dtype=getattr(m, dtype))
    return a, a.expand(2, 3)


def _run(m, write, dtype):
    a, b = _expanded(m, dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write(m, b)
    # (PyTorch's messages end with where its C++ raised them)
    return a, {str(w.message).split(" (Triggered internally")[0] for w in caught}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_allowed_writes_go_through_to_the_base(name, dtype):
    a, warned = _run(gpugrad, ALLOWED[name], dtype)
    ta, t_warned = _run(torch, ALLOWED[name], dtype)
    np.testing.assert_array_equal(a.numpy(), ta.numpy())
    assert a.dtype.name == dtype
    assert bool(warned) == bool(t_warned)
    assert warned <= t_warned  # (PyTorch may warn twice for ``b[mask] = 1``)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_other_writes_refuse_with_pytorchs_message(name):
    for m in (gpugrad, torch):
        a, b = _expanded(m, "float64")
        with pytest.raises(RuntimeError, match=OVERLAP):
            REFUSED[name](m, b)
        assert a.tolist() == [[1.0], [2.0]]


def test_a_detached_expanded_tensor_is_filled_through_too():
    bases = []
    for m in (gpugrad, torch):
        a, b = _expanded(m, "float64")
        b.detach().zero_()
        b.data[1, 2] = 4
        bases.append(a.tolist())
    assert bases[0] == bases[1] == [[0.0], [4.0]]


def test_a_detached_expanded_tensor_is_still_refused_for_arithmetic():
    for m in (gpugrad, torch):
        with pytest.raises(RuntimeError, match=OVERLAP):
            m.zeros(1).expand(3)[None].add_(1)


def _recorded(m, name):
    """The write into ``x.expand`` (``x`` computed from a leaf), then each backward's
    gradient of the leaf, or the error it raises."""
    a = m.tensor([[2.0], [3.0]], dtype=m.float64, requires_grad=True)
    x = a * 1
    b = x.expand(2, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ALLOWED[name](m, b)
    out = [x.detach().numpy().copy(), x.grad_fn.name(), b.grad_fn.name()]
    w = m.arange(1.0, 7.0, dtype=m.float64).reshape(2, 3)
    for loss in (lambda: (b * w).sum(), lambda: (x * 10).sum()):
        a.grad = None
        try:
            loss().backward(retain_graph=True)
            out.append(a.grad.numpy().copy())
        except RuntimeError as e:
            out.append(OVERLAP in str(e))
    return out


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_recorded_writes_match_pytorchs_graph_and_backward(name):
    ours, theirs = _recorded(gpugrad, name), _recorded(torch, name)
    np.testing.assert_array_equal(ours[0], theirs[0])
    assert ours[1:3] == theirs[1:3]
    for o, t in zip(ours[3:], theirs[3:]):
        if isinstance(t, bool):
            assert o is t
        else:
            np.testing.assert_array_equal(o, t)


def test_a_written_value_gets_the_gradient_of_an_unshared_target():
    grads = []
    for m in (gpugrad, torch):
        x = m.tensor([[2.0]], dtype=m.float64, requires_grad=True) * 1
        v = m.tensor(7.0, dtype=m.float64, requires_grad=True)
        b = x.expand(1, 5)
        b[0, 1] = v
        (b * m.arange(1.0, 6.0, dtype=m.float64)).sum().backward()
        grads.append(v.grad.item())
    assert grads[0] == grads[1]


@pytest.mark.parametrize("name", ["fill_", "masked_fill_", "setitem_mask", "index_put_",
                                  "add_", "copy_", "setitem_slice"])
def test_a_view_of_a_leaf_is_refused_before_the_overlap_and_without_warning(name):
    write = ALLOWED.get(name) or REFUSED[name]
    for m in (gpugrad, torch):
        a = m.zeros(2, 1, dtype=m.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(RuntimeError, match="a view of a leaf Variable"):
                write(m, a.expand(2, 3))
