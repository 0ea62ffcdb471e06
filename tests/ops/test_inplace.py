"""In-place ops: version counters, the leaf and saved-tensor rules, PyTorch's errors, writes
into plain tensors. (Recorded in-place ops against PyTorch: test_inplace_recorded.py.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

INPLACE_CALLS = {
    "add_": lambda t: t.add_(1.0), "add_alpha": lambda t: t.add_(t.detach() * 0 + 1, alpha=2),
    "sub_": lambda t: t.sub_(1.0), "mul_": lambda t: t.mul_(2.0), "div_": lambda t: t.div_(2.0),
    "pow_": lambda t: t.pow_(2), "neg_": lambda t: t.neg_(), "exp_": lambda t: t.exp_(),
    "zero_": lambda t: t.zero_(), "fill_": lambda t: t.fill_(3.0),
    "copy_": lambda t: t.copy_(gpugrad.ones(3)), "clamp_": lambda t: t.clamp_(0.0, 0.5),
    "masked_fill_": lambda t: t.masked_fill_(gpugrad.tensor([True, False, True]), 1.0),
    "iadd": lambda t: t.__iadd__(1.0), "isub": lambda t: t.__isub__(1.0),
    "imul": lambda t: t.__imul__(2.0), "itruediv": lambda t: t.__itruediv__(2.0),
    "setitem": lambda t: t.__setitem__(0, 5.0), "setitem_adv": lambda t: t.__setitem__([0], 5.0),
    "uniform_": lambda t: t.uniform_(), "normal_": lambda t: t.normal_(),
}


# ---------------------------------------------------------------------- version counters
@pytest.mark.parametrize("name", sorted(INPLACE_CALLS))
def test_every_inplace_write_bumps_the_version(name):
    t = gpugrad.tensor([0.1, 0.2, 0.3])
    before = t._version
    out = INPLACE_CALLS[name](t)
    assert t._version > before
    if out is not None:
        assert out is t


def test_views_share_the_version_counter():
    x = gpugrad.zeros(3, 4)
    v = x[1]
    w = x.t()
    v.add_(1)
    assert x._version == v._version == w._version == 1
    x.mul_(2)
    assert v._version == 2
    assert v.tolist() == [2.0] * 4
    assert w[:, 1].tolist() == [2.0] * 4 and w[:, 0].tolist() == [0.0] * 4


def test_detached_alias_shares_the_counter_but_not_the_graph():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    d.add_(1)  # bumps y's version, leaves y's history alone
    assert y._version == 1
    assert y.grad_fn.name() == "MulBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


# ---------------------------------------------------------------------- leaf rules
@pytest.mark.parametrize("name", sorted(INPLACE_CALLS))
def test_inplace_on_a_leaf_that_requires_grad_raises_before_writing(name):
    t = gpugrad.tensor([0.1, 0.2, 0.3], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad is being used in an "
                                           "in-place operation"):
        INPLACE_CALLS[name](t)
    assert t.tolist() == pytest.approx([0.1, 0.2, 0.3])
    assert t._version == 0
    assert t.is_leaf


def test_inplace_on_a_view_of_a_leaf_raises():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[0].mul_(2)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[0] = 1.0
    assert x.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("name", sorted(INPLACE_CALLS))
def test_no_grad_allows_inplace_on_a_leaf(name):
    t = gpugrad.tensor([0.1, 0.2, 0.3], requires_grad=True)
    with gpugrad.no_grad():
        INPLACE_CALLS[name](t)
    assert t.is_leaf and t.requires_grad and t.grad_fn is None
    assert t._version == 1 or name == "add_alpha"


def test_no_grad_update_writes_into_the_same_buffer():
    p = gpugrad.randn(1000, requires_grad=True)
    g = gpugrad.randn(1000)
    ptr, expected = p.data_ptr(), p.detach().numpy() - 0.1 * g.numpy()
    with gpugrad.no_grad():
        p.add_(g, alpha=-0.1)
        p.mul_(1.0)
    assert p.data_ptr() == ptr
    np.testing.assert_allclose(p.detach().numpy(), expected, rtol=1e-6)


def test_view_made_in_no_grad_then_modified_with_grad_raises():
    y = gpugrad.ones(3, requires_grad=True) * 2
    with gpugrad.no_grad():
        v = y[:2]
    with pytest.raises(RuntimeError, match="created in no_grad mode"):
        v.mul_(2)


# ---------------------------------------------------------------------- saved tensors
def test_modifying_a_saved_output_raises_at_backward():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()  # ExpBackward saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modifying_the_result_of_an_inplace_op_that_saved_it_raises_at_backward():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    y.sigmoid_()  # SigmoidBackward saves its result: y itself, as in PyTorch
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_modifying_a_saved_input_raises_at_backward():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y  # MulBackward saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match="is at version 1; expected version 0"):
        z.sum().backward()


def test_modifying_a_saved_tensor_through_a_view_raises_at_backward():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y.sin()  # saves y
    y[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()
    x2 = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y2 = x2 * 1
    z2 = y2[1:].sin()  # saves the view
    y2.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z2.sum().backward()


# ---------------------------------------------------------------------- dtype and shape rules
def test_result_must_be_castable_to_the_target_dtype():
    i = gpugrad.zeros(3, dtype=gpugrad.int64)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired "
                                           "output type Long"):
        i += 1.5
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        i.div_(2)
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        i.exp_()
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output "
                                           "type Bool"):
        gpugrad.zeros(2, dtype=gpugrad.bool).add_(1)
    assert i.tolist() == [0, 0, 0] and i._version == 0
    i += 2
    i *= gpugrad.tensor([1, 2, 3], dtype=gpugrad.int32)
    i.floor_divide_(2)
    assert i.tolist() == [1, 2, 3] and i.dtype == gpugrad.int64
    f = gpugrad.zeros(2)
    f += gpugrad.tensor([1.5, 2.5], dtype=gpugrad.float64)  # computed in float64, cast back
    assert f.dtype == gpugrad.float32 and f.tolist() == [1.5, 2.5]
    with pytest.raises(RuntimeError, match="alpha must not be a floating point"):
        i.add_(1, alpha=0.5)


def test_copy_fill_and_setitem_cast_freely():
    i = gpugrad.zeros(3, dtype=gpugrad.int64)
    i.copy_(gpugrad.tensor([1.7, -2.2, 3.9]))
    assert i.tolist() == [1, -2, 3]
    i.fill_(2.9)
    assert i.tolist() == [2, 2, 2]
    i[0] = 7.6
    assert i.tolist() == [7, 2, 2]


def test_operand_must_broadcast_to_the_target():
    with pytest.raises(RuntimeError, match=r"output with shape \[3\] doesn't match the broadcast "
                                           r"shape \[2, 3\]"):
        gpugrad.zeros(3).add_(gpugrad.zeros(2, 3))
    with pytest.raises(RuntimeError, match=r"size of tensor a \(3\) must match the size of tensor "
                                           r"b \(4\)"):
        gpugrad.zeros(3).copy_(gpugrad.zeros(4))
    x = gpugrad.zeros(2, 3)
    x.add_(gpugrad.ones(3))
    x.copy_(gpugrad.tensor([[1.0], [2.0]]))
    assert x.tolist() == [[1.0] * 3, [2.0] * 3]


def test_overlapping_memory_is_refused():
    x = gpugrad.randn(3, 3)
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        gpugrad.zeros(3).expand(2, 3).add_(1)
    with pytest.raises(RuntimeError, match="some elements of the input tensor and the written-to"):
        x.add_(x.t())
    with pytest.raises(RuntimeError, match="some elements of the input tensor"):
        x[1:] = x[:2]
    x.add_(x)  # the same memory exactly is fine
    x[1:] += 1  # getitem, iadd on the view, setitem of the same view


def test_strided_operands_are_not_judged_for_overlap_as_torch():
    """As PyTorch, only dense arrays are compared for partial overlap: interleaved views (the
    columns of one matrix, the parts of a complex tensor) may be read while another is written,
    and a dense partial overlap stays refused."""
    for lib in (torch, gpugrad):
        x = lib.arange(6.0)
        pairs = x.view(3, 2)
        pairs[:, 0].add_(pairs[:, 1])
        assert x.tolist() == [1.0, 1.0, 5.0, 3.0, 9.0, 5.0]
        with pytest.raises(RuntimeError, match="some elements of the input tensor"):
            x[1:5].add_(x[0:4])
        z = lib.tensor([1 + 2j, 3 - 1j])
        z.imag.add_(z.real)
        assert z.tolist() == [1 + 3j, 3 + 2j]


# ---------------------------------------------------------------------- plain tensors
def test_augmented_assignment_through_an_index_on_a_plain_tensor():
    x = gpugrad.zeros(3, 4)
    x[0] += 1
    x[:, 1] *= 3
    x[x > 0] -= 0.5
    x[[2, 2]] += 1  # as PyTorch: the row is read once and written once
    t = torch.zeros(3, 4)
    t[0] += 1
    t[:, 1] *= 3
    t[t > 0] -= 0.5
    t[[2, 2]] += 1
    assert x.tolist() == t.tolist()
    assert x.grad_fn is None and not x.requires_grad


def test_setitem_accepts_numbers_lists_arrays_and_tensors():
    x = gpugrad.zeros(2, 3)
    x[0] = [1, 2, 3]
    x[1] = np.array([4.0, 5.0, 6.0])
    x[:, 0] = gpugrad.tensor([9.0, 8.0], dtype=gpugrad.float64)
    x[..., 2] = 0
    assert x.tolist() == [[9.0, 2.0, 0.0], [8.0, 5.0, 0.0]]


def test_random_fills():
    gpugrad.manual_seed(0)
    x = gpugrad.empty(20000)
    x.uniform_(-2, 3)
    assert -2 <= x.min().item() and x.max().item() < 3
    x.normal_(mean=1.0, std=2.0)
    assert abs(x.mean().item() - 1.0) < 0.1 and abs(x.std().item() - 2.0) < 0.1
    x.uniform_(**{"from": 5.0, "to": 6.0})
    assert x.min().item() >= 5.0
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        gpugrad.zeros(2, dtype=gpugrad.int64).normal_()


@pytest.mark.parametrize("stmt", [
    "L.ones(2).add_(L.ones(2), alpha=L.tensor(0.5))",
    "L.ones(2).sub_(L.ones(2), alpha=L.tensor(0.5))",
    "L.ones(2).add(L.ones(2), alpha=L.tensor(0.5))",
    "L.sub(L.ones(2), L.ones(2), alpha=L.tensor(2))",
    "L.ones(2).add_(L.ones(2), alpha=L.tensor([0.5]))",
    "L.add(L.ones(2), L.ones(2), alpha=L.tensor(0.5, requires_grad=True))",
    "L.ones(2, dtype=L.long).add_(L.ones(2, dtype=L.long), alpha=L.tensor(0.5))",
])
def test_a_0d_tensor_alpha_is_read_as_its_number_as_torch(stmt):
    import torch

    results = []
    for lib in (torch, gpugrad):
        try:
            results.append(eval(stmt, {"L": lib}).tolist())
        except (TypeError, RuntimeError) as err:
            results.append((type(err), str(err)))
    assert results[1] == results[0]
