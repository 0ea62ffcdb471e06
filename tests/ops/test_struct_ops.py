"""What the registry's specs cannot say about the products and structural ops: which results
are views, writes through them, the in-place shape ops' rules, warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad


def _pair(values, requires_grad=False):
    return (gpugrad.tensor(values, requires_grad=requires_grad),
            torch.tensor(values, requires_grad=requires_grad))


def test_diagonal_is_a_writable_view_sharing_the_version_counter():
    x = gpugrad.zeros(3, 4)
    d = x.diagonal(1)
    assert np.shares_memory(d.numpy(), x.numpy())
    d.fill_(5.0)
    assert x.tolist()[0] == [0.0, 5.0, 0.0, 0.0] and x.tolist()[2] == [0.0, 0.0, 0.0, 5.0]
    assert x._version == d._version == 1


def test_write_through_diagonal_differentiates_as_torch():
    values = np.arange(9.0).reshape(3, 3)
    outs = []
    for m in (gpugrad, torch):
        x = m.tensor(values, requires_grad=True)
        y = x * 2
        y.diagonal().mul_(3)
        (y * m.tensor(values + 1)).sum().backward()
        outs.append((y.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(outs[0][0], outs[1][0])
    np.testing.assert_allclose(outs[0][1], outs[1][1])


def test_unfold_is_a_view():
    x = gpugrad.arange(7.0)
    w = x.unfold(0, 3, 2)
    assert np.shares_memory(w.numpy(), x.numpy())
    assert w.tolist() == torch.arange(7.0).unfold(0, 3, 2).tolist()


def test_inplace_shape_ops_refuse_a_leaf_that_requires_grad():
    x = gpugrad.ones(2, 3, requires_grad=True)
    for op in (lambda t: t.t_(), lambda t: t.unsqueeze_(0), lambda t: t.transpose_(0, 1)):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
            op(x)
    assert tuple(x.shape) == (2, 3)
    with gpugrad.no_grad():
        x.t_()
    assert tuple(x.shape) == (3, 2) and x.grad_fn is None


def test_inplace_shape_ops_rebase_history_and_bump_the_version():
    values = np.arange(6.0).reshape(2, 1, 3)
    grads = []
    for m in (gpugrad, torch):
        x = m.tensor(values, requires_grad=True)
        y = x * 1
        v0 = y._version
        y.squeeze_(1).t_().unsqueeze_(0).swapdims_(0, 2)
        assert y._version == v0 + 4
        assert tuple(y.shape) == (2, 3, 1)
        (y * m.arange(6.0).reshape(2, 3, 1)).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1])


def test_inplace_shape_op_on_a_view_keeps_writes_reaching_the_base():
    base = gpugrad.zeros(2, 3)
    v = base[:, 1:]
    v.t_()
    v[0] = 7.0
    assert base.tolist() == [[0.0, 7.0, 0.0], [0.0, 7.0, 0.0]]


def test_addmm_beta_zero_ignores_nan_and_gives_input_a_zero_gradient():
    bias = gpugrad.tensor([np.nan, np.inf], requires_grad=True)
    a = gpugrad.ones(3, 2, requires_grad=True)
    out = gpugrad.addmm(bias, a, gpugrad.eye(2), beta=0)
    assert np.isfinite(out.detach().numpy()).all()
    out.sum().backward()
    assert bias.grad.tolist() == [0.0, 0.0]


def test_inplace_product_into_a_leaf_that_requires_grad_raises():
    x = gpugrad.zeros(2, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        x.addmm_(gpugrad.ones(2, 2), gpugrad.ones(2, 2))


@pytest.mark.parametrize("call", [
    lambda m: m.meshgrid(m.ones(2), m.ones(3)),
    lambda m: m.cross(m.ones(2, 3), m.ones(2, 3)),
    lambda m: m.chain_matmul(m.ones(2, 2), m.ones(2, 2)),
])
def test_deprecations_warn_as_torch(call):
    """(PyTorch warns once per process, so the registry's runs may have used its warning up.)"""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call(gpugrad)
    assert any(issubclass(w.category, UserWarning) for w in caught)


def test_einsum_float32_matches_torch_on_a_larger_contraction():
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal(s).astype(np.float32) for s in ((8, 16, 32), (32, 24),
                                                                    (24, 8)))
    got = gpugrad.einsum("bij,jk,kb->bi", *(gpugrad.tensor(v) for v in (a, b, c)))
    want = torch.einsum("bij,jk,kb->bi", *(torch.tensor(v) for v in (a, b, c)))
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-4)


def test_broadcast_shapes_matches_torch():
    for shapes in [((2, 1), 3), ((), (1,)), ([2], (1, 2)), ((0, 1), (1, 5))]:
        assert tuple(gpugrad.broadcast_shapes(*shapes)) == tuple(torch.broadcast_shapes(*shapes))
    with pytest.raises(RuntimeError, match="Attempting to broadcast a dimension of length 4"):
        gpugrad.broadcast_shapes((2, 1), 3, (4, 1))
    with pytest.raises(ValueError, match="negative length"):
        gpugrad.broadcast_shapes((-1,))


def test_compiled_function_returning_its_argument_returns_each_calls_value():
    compiled = gpugrad.compile(lambda x: (x * 1, x))
    a, b = gpugrad.tensor([1.0, 2.0]), gpugrad.tensor([3.0, 4.0])
    for t in (a, b, a, b):
        first, same = compiled(t)
        assert first.tolist() == same.tolist() == t.tolist()


# ---------------------------------------------------------------------------- unravel_index
UNRAVEL_CASES = [
    ([4, 1, 0, 5], (2, 3)), (5, (2, 3)), ([[1234], [5678]], (10, 10, 10, 10)),
    ([[1, 2], [3, 4]], 5), ([-1, -6, -7, 6, 100], (2, 3)), (1, ()), ([], (2, 3)),
    (3, [4]), (7, gpugrad.Size([2, 4])), (1, (True, 3)), (2**40 + 3, (2**40, 2**40)),
]


def _fits(indices, dtype: str) -> bool:
    low, high = np.min(indices, initial=0), np.max(indices, initial=0)
    return not (dtype == "uint8" and low < 0 or dtype != "int64" and high > 255)


@pytest.mark.parametrize("indices, shape, dtype", [
    (i, s, d) for i, s in UNRAVEL_CASES for d in ("int64", "int32", "uint8") if _fits(i, d)])
def test_unravel_index_like_torch(indices, shape, dtype):
    torch_shape = torch.Size(shape) if isinstance(shape, gpugrad.Size) else shape
    got = gpugrad.unravel_index(gpugrad.tensor(indices, dtype=getattr(gpugrad, dtype)), shape)
    want = torch.unravel_index(torch.tensor(indices, dtype=getattr(torch, dtype)), torch_shape)
    assert type(got) is tuple and len(got) == len(want)
    for g, w in zip(got, want):
        assert g.dtype == gpugrad.int64 and w.dtype == torch.int64
        assert g.shape == w.shape and g.tolist() == w.tolist()


def test_unravel_index_of_a_non_contiguous_tensor():
    values = np.arange(12).reshape(3, 4) * 7
    got = gpugrad.unravel_index(gpugrad.tensor(values).t(), (4, 5, 6))
    want = torch.unravel_index(torch.tensor(values).t(), (4, 5, 6))
    assert [g.tolist() for g in got] == [w.tolist() for w in want]


@pytest.mark.parametrize("indices, shape", [
    (gpugrad.tensor([1.0]), (2, 3)), (gpugrad.tensor(True), (2,)), (gpugrad.tensor(1), (2, -3)),
    (gpugrad.tensor(1), (2.0, 3)), (gpugrad.tensor(1), (gpugrad.tensor(2), 3)),
    (gpugrad.tensor(1), (np.int64(2), 3)), (gpugrad.tensor(1), np.int64(3)),
    (gpugrad.tensor(1), "ab"), (gpugrad.tensor(1), (0, 3)), (gpugrad.tensor(1), 2.0),
    (5, (2, 3)), ([1, 2], (2, 3)), (gpugrad.tensor(1), (2**40, 2**40, 2**40)),
    (gpugrad.tensor(1), (2**64,)),
])
def test_unravel_index_errors_like_torch(indices, shape):
    def to_torch(v):
        if isinstance(v, gpugrad.Tensor):
            return torch.tensor(v.tolist(), dtype=getattr(torch, str(v.dtype).split(".")[1]))
        return tuple(to_torch(s) for s in v) if isinstance(v, tuple) else v

    with pytest.raises(Exception) as want:
        torch.unravel_index(to_torch(indices), to_torch(shape))
    with pytest.raises(want.type) as got:
        gpugrad.unravel_index(indices, shape)
    message = str(want.value).replace("torch.Tensor", "gpugrad.tensor.Tensor")
    if want.type is not AttributeError:  # PyTorch's for a non-tensor names its own internals
        assert str(got.value) == message.replace("torch.", "gpugrad.")
