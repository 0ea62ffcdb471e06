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


def _scatter_with_reduce(m, reduce, src_kind, dtype):
    """scatter's deprecated ``reduce``: the result, the warnings' messages and files, the node's
    name and the backward's error."""
    x = m.arange(1, 7, dtype=getattr(m, dtype)).reshape(2, 3)
    index = m.tensor([[0, 1, 0], [1, 1, 0]])
    src = m.tensor([[2, 3, 4], [5, 6, 7]], dtype=getattr(m, dtype)) if src_kind == "tensor" \
        else 3
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = x.scatter(0, index, src, reduce=reduce)
        inplace = x.clone().scatter_(1, index, src, reduce=reduce)
        if dtype == "float64":
            result = x.clone().requires_grad_().scatter(0, index, src, reduce=reduce)
            with pytest.raises(RuntimeError) as raised:
                result.sum().backward()
            error = (type(result.grad_fn).__name__, str(raised.value))
    seen = [(str(w.message).split(" (Triggered")[0], w.filename) for w in caught]
    return out.tolist(), inplace.tolist(), seen, error


@pytest.mark.parametrize("dtype", ["float64", "int64"])
@pytest.mark.parametrize("src_kind", ["tensor", "value"])
@pytest.mark.parametrize("reduce", ["add", "multiply"])
def test_scatter_with_reduce_matches_torch(reduce, src_kind, dtype):
    warn_always = torch.is_warn_always_enabled()
    torch.set_warn_always(True)  # PyTorch's deprecation warning is otherwise once a process
    try:
        expected = _scatter_with_reduce(torch, reduce, src_kind, dtype)
    finally:
        torch.set_warn_always(warn_always)
    assert _scatter_with_reduce(gpugrad, reduce, src_kind, dtype) == expected


def test_scatter_with_an_unknown_reduce_raises_as_torch():
    for m in (gpugrad, torch):
        with pytest.raises(RuntimeError, match=r"^reduce argument must be either add or "
                                               r"multiply\.$"):
            m.zeros(3).scatter(0, m.tensor([0, 1]), 1.0, reduce="sum")
        assert m.scatter(m.tensor(1.0), 0, m.tensor(0), 2.0, reduce="add").item() == 3.0


def _scatter_reduce_max_min(m, reduce, include_self):
    x = m.tensor([[1.0, 9.0, -2.0], [4.0, 0.5, 3.0]], requires_grad=True)
    src = m.tensor([[5.0, -1.0, 2.0], [7.0, 6.0, -3.0]])
    index = m.tensor([[0, 0, 1], [1, 0, 1]])
    out = x.scatter_reduce(0, index, src, reduce, include_self=include_self)
    inplace = x.detach().clone().scatter_reduce_(1, index, src, reduce, include_self=include_self)
    with pytest.raises(RuntimeError) as raised:
        out.sum().backward()
    return out.tolist(), inplace.tolist(), type(out.grad_fn).__name__, str(raised.value)


@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["max", "min"])
def test_scatter_reduce_takes_max_and_min_forward_only_as_torch(reduce, include_self):
    """PyTorch's forward reads ``max``/``min`` as ``amax``/``amin``; its backward refuses."""
    expected = _scatter_reduce_max_min(torch, reduce, include_self)
    assert _scatter_reduce_max_min(gpugrad, reduce, include_self) == expected
    amax = torch.zeros(2, 3).scatter_reduce(0, torch.tensor([[0, 0, 1]]),
                                            torch.tensor([[5.0, -1.0, 2.0]]), "a" + reduce)
    assert gpugrad.zeros(2, 3).scatter_reduce(
        0, gpugrad.tensor([[0, 0, 1]]), gpugrad.tensor([[5.0, -1.0, 2.0]]), reduce
    ).tolist() == amax.tolist()


def test_index_add_errors_name_dtypes_as_torch():
    def errors(m):
        found = []
        for index, source in [(m.tensor([0.0, 1.0]), m.ones(2)),
                              (m.tensor([0, 1]), m.ones(2, dtype=m.float64))]:
            with pytest.raises(RuntimeError) as raised:
                m.zeros(3).index_add_(0, index, source)
            found.append(str(raised.value))
        return found

    assert errors(gpugrad) == errors(torch)


def test_scatter_family_takes_src_straight_into_its_node():
    """A src or source already of its shape reaches the scatter node with no view between
    (the graphs message-passing code builds are PyTorch's)."""
    def graphs(m):
        h = m.ones(5, 2, requires_grad=True)
        row = m.tensor([0, 1, 1, 2, 3])
        index = row[:, None].expand(-1, 2)
        outs = [m.zeros(4, 2).scatter_add(0, index, h * 2), m.zeros(4, 2).scatter(0, index, h * 2),
                m.zeros(4, 2).index_add_(0, row, h * 2)]
        return [[type(f).__name__ for f, _ in out.grad_fn.next_functions] for out in outs]

    assert graphs(gpugrad) == graphs(torch) == [["NoneType", "MulBackward0"]] * 3


@pytest.mark.parametrize("stmt", [
    "L.repeat_interleave(L.tensor([2, 3], dtype=L.int32))",
    "L.repeat_interleave(L.tensor([2, 3]), output_size=4)",
    "L.repeat_interleave(L.tensor([2, 3]), output_size=5)",
    "L.bincount(L.tensor([True, False, True]))",
    "L.zeros(3).index_add_(0, L.tensor([0, 5]), L.tensor([1., 2.]))",
    "L.zeros(()).index_add_(0, L.tensor([1]), L.tensor(1.))",
    "L.zeros(3).index_add(0, L.tensor([0, -1]), L.ones(2))",
    "L.zeros(3, 2).index_add(0, L.tensor([0, 3]), L.ones(2, 2))",
])
def test_counting_and_index_add_edge_cases_as_torch(stmt):
    seen = []
    for lib in (torch, gpugrad):
        try:
            out = eval(stmt, {"L": lib})
            seen.append((out.tolist(), str(out.dtype).split(".")[-1]))
        except (IndexError, RuntimeError, NotImplementedError) as err:
            seen.append((type(err), str(err)))
    assert seen[1] == seen[0]


def test_bincount_weights_that_require_grad_fail_in_backward_as_torch():
    errors = []
    for lib in (torch, gpugrad):
        w = lib.tensor([0.5, 1.0, 2.0], requires_grad=True)
        out = lib.bincount(lib.tensor([1, 1, 2]), weights=w)
        assert out.requires_grad
        with pytest.raises(RuntimeError) as err:
            out.sum().backward()
        errors.append(str(err.value))
    assert errors[1] == errors[0]


@pytest.mark.parametrize("stmt", [
    "L.unique(x * 1)",
    "L.unique(x * 1, sorted=False, return_counts=True)[0]",
    "(x * 1).unique(return_inverse=True)[0]",
    "L.unique(x * 1, dim=0)",
    "L.unique_consecutive(x * 1)",
    "L.unique_consecutive(x * 1, dim=0)",
])
def test_unique_of_a_tensor_that_requires_grad_fails_in_backward_as_torch(stmt):
    seen = []
    for lib in (torch, gpugrad):
        x = lib.tensor([1.0, 1.0, 2.0], requires_grad=True)
        out = eval(stmt, {"L": lib, "x": x})
        node = out.grad_fn
        with pytest.raises(NotImplementedError) as err:
            out.sum().backward()
        with lib.no_grad():
            plain = eval(stmt, {"L": lib, "x": x})
        seen.append((out.tolist(), node.name(), len(node.next_functions), str(err.value),
                     plain.requires_grad))
    assert seen[1] == seen[0]
