"""Behaviour of sort/topk and the scatter family beyond the registry: NaN order, named results,
a ``src`` larger than ``index`` (where PyTorch's own backward fails), double backward."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.autograd import gradcheck, gradgradcheck

NAN_ROWS = np.array([[1.0, np.nan, -2.0, 3.0, np.nan], [0.5, 0.5, np.inf, -np.inf, 2.0]])


def test_sort_and_topk_put_nan_where_torch_does():
    g, t = gpugrad.tensor(NAN_ROWS), torch.tensor(NAN_ROWS)
    for descending in (False, True):
        gv, gi = gpugrad.sort(g, descending=descending, stable=True)
        tv, ti = torch.sort(t, descending=descending, stable=True)
        np.testing.assert_array_equal(gv.numpy(), tv.numpy())
        np.testing.assert_array_equal(gi.numpy(), ti.numpy())
    for largest in (False, True):
        gv, _ = gpugrad.topk(g, 3, largest=largest)
        tv, _ = torch.topk(t, 3, largest=largest)
        np.testing.assert_array_equal(gv.numpy(), tv.numpy())


def test_named_results():
    x = gpugrad.tensor([[3.0, 1.0, 2.0]])
    out = x.topk(2)
    assert type(out).__name__ == "topk" and out.values.tolist() == [[3.0, 2.0]]
    assert out.indices.dtype == gpugrad.int64
    assert type(x.sort()).__name__ == "sort"
    assert isinstance(out, gpugrad.return_types.topk)


def test_scatter_family_reads_only_the_leading_block_of_a_larger_src():
    rng = np.random.default_rng(0)
    x = gpugrad.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    src = gpugrad.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    index = gpugrad.tensor([[2, 0, 1, 1], [0, 2, 2, 0]])
    want = torch.tensor(x.detach().numpy()).scatter(0, torch.tensor(index.numpy()),
                                                    torch.tensor(src.detach().numpy()))
    np.testing.assert_allclose(gpugrad.scatter(x, 0, index, src).detach().numpy(), want.numpy())
    for fn in (gpugrad.scatter, gpugrad.scatter_add):
        assert gradcheck(lambda a, b, f=fn: f(a, 0, index, b), (x, src))
        assert gradgradcheck(lambda a, b, f=fn: f(a, 0, index, b), (x, src))


def test_scatter_value_and_int_index32():
    x = gpugrad.zeros(2, 3)
    index = gpugrad.tensor([[0, 1, 0]], dtype=gpugrad.int32)
    out = gpugrad.scatter(x, 1, index, value=7.0)
    assert out.tolist() == [[7.0, 7.0, 0.0], [0.0, 0.0, 0.0]]
    assert x.tolist() == [[0.0] * 3] * 2  # out of place


def test_inplace_scatter_family_writes_into_self():
    x = gpugrad.zeros(2, 3)
    version = x._version
    out = x.index_add_(0, gpugrad.tensor([1, 1]), gpugrad.ones(2, 3), alpha=2)
    assert out is x and x.tolist() == [[0.0] * 3, [4.0] * 3]
    x.scatter_add_(1, gpugrad.tensor([[2], [0]]), gpugrad.ones(2, 1))
    x.scatter_(0, gpugrad.tensor([[0, 0, 0]]), value=-1.0)
    assert x.tolist() == [[-1.0, -1.0, -1.0], [5.0, 4.0, 4.0]]
    assert x._version > version
    leaf = gpugrad.zeros(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.scatter_(0, gpugrad.tensor([[0, 0, 0]]), value=1.0)



@pytest.mark.parametrize("reduce", ["add", "multiply"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_with_legacy_reduce_matches_torch(reduce, dtype):
    rng = np.random.default_rng(3)
    base = rng.integers(1, 4, (3, 4)).astype(dtype)
    src = rng.integers(1, 4, (2, 4)).astype(dtype)
    index = np.array([[0, 2, 2, 1], [0, 2, 0, 1]])  # repeated positions: all counted
    results = {}
    for lib in (torch, gpugrad):
        x, s, i = lib.tensor(base), lib.tensor(src), lib.tensor(index)
        results[lib] = [x.clone().scatter_(0, i, s, reduce=reduce).numpy(),
                        lib.scatter(x, 0, i, s, reduce=reduce).numpy(),
                        x.scatter(1, i[:, :2], 2, reduce=reduce).numpy()]  # a number
    for ours, theirs in zip(results[gpugrad], results[torch]):
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


def test_scatter_with_legacy_reduce_warns_once_for_a_tensor_src(monkeypatch):
    from gpugrad.ops import scatter_reduce

    monkeypatch.setattr(scatter_reduce, "_legacy_warned", [False])
    x, i = gpugrad.ones(3), gpugrad.tensor([0])
    with pytest.warns(UserWarning, match="reduce argument of torch.scatter with Tensor src"):
        x.scatter(0, i, gpugrad.ones(1), reduce="add")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.scatter(0, i, gpugrad.ones(1), reduce="add")  # once per process, as PyTorch
        x.scatter(0, i, 2.0, reduce="add")  # a number: no warning


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_scatter_with_legacy_reduce_has_no_derivative_as_in_torch():
    for lib in (torch, gpugrad):
        a = lib.ones(4, requires_grad=True)
        y = a.scatter(0, lib.tensor([1]), lib.tensor([2.0], requires_grad=True), reduce="add")
        assert y.grad_fn.name() == "torch::autograd::NotImplemented"
        assert len(y.grad_fn.next_functions) == 2
        # only the inputs that require grad are listed
        assert len(a.scatter(0, lib.tensor([1]), 3.0, reduce="multiply").grad_fn
                   .next_functions) == 1
        with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
            y.sum().backward()
        with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply"):
            lib.ones(4).scatter_(0, lib.tensor([0]), 1.0, reduce="mean")
