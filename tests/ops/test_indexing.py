"""Indexing beyond the registry's value/gradient checks: views vs copies, accumulation of
repeated indices, the backend primitives, PyTorch's error messages."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad
from gpugrad.backend import cpu_backend


def test_basic_indexing_returns_views_sharing_memory_and_version():
    x = gpugrad.arange(12.0).reshape(3, 4)
    # (a 0-d integer tensor indexes as the int it holds, as in PyTorch: a view too)
    for v in (x[1], x[:, 1:3], x[None, ..., 0], x[1, 2], x[::2], x[gpugrad.tensor(1)]):
        assert np.shares_memory(v.numpy(), x.numpy())
        assert v._version == x._version
    v = x[1, 2]
    v.fill_(-1)
    assert x[1, 2].item() == -1 and x._version == 1


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", "uint8", "bool"])
def test_zero_dim_tensor_keys_index_as_torch(dtype):
    # Signed integer 0-d tensors read as the int they hold (a view); uint8 and bool are masks.
    results = []
    for m in (gpugrad, torch):
        x = m.arange(12.0).reshape(3, 4).requires_grad_()
        i = m.tensor(1, dtype=getattr(m, dtype))
        one, two = x[i], x[i, i]
        (one.sum() + two.sum()).backward()
        results.append((tuple(one.shape), tuple(two.shape), type(one.grad_fn).__name__,
                        x.grad.tolist()))
    assert results[0] == results[1]


def test_advanced_indexing_returns_copies():
    x = gpugrad.arange(12.0).reshape(3, 4)
    for c in (x[[0, 1]], x[x > 3], x[gpugrad.tensor([1])], x[:, [1]], x[True]):
        assert not np.shares_memory(c.numpy(), x.numpy())


@pytest.mark.parametrize("key", [
    ([0, 0, 2, 0],), (slice(None), [1, 1, 1]), ([[0, 0], [2, 0]], [1, 1]), (0, [3, 3, -1]),
])
def test_repeated_indices_accumulate_in_backward(key):
    x = gpugrad.ones(3, 4, requires_grad=True)
    t = torch.ones(3, 4, requires_grad=True)
    x[key].sum().backward()
    t[key].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    assert x.grad.numpy().max() > 1


def test_index_select_and_gather_accumulate():
    x = gpugrad.ones(3, 2, requires_grad=True)
    x.index_select(0, gpugrad.tensor([2, 2, 0])).sum().backward()
    assert x.grad.tolist() == [[1, 1], [0, 0], [2, 2]]
    x.grad = None
    x.gather(1, gpugrad.tensor([[1, 1, 1], [0, 1, 0], [0, 0, 0]])).sum().backward()
    assert x.grad.tolist() == [[0, 3], [2, 1], [3, 0]]


def test_setitem_with_repeated_indices_matches_torch():
    rng = np.random.default_rng(0)
    xa, va = rng.standard_normal((4, 3)), rng.standard_normal((3, 3))
    results = []
    for m in (gpugrad, torch):
        x, v = m.tensor(xa, requires_grad=True), m.tensor(va, requires_grad=True)
        y = x * 1
        y[[1, 1, 3]] = v
        (y * y).sum().backward()
        results.append((x.grad.numpy(), v.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs)


def test_integer_and_bool_tensor_keys_and_iteration():
    x = gpugrad.arange(6.0).reshape(2, 3)
    assert x[gpugrad.tensor(1)].tolist() == [3.0, 4.0, 5.0]
    assert x[np.int64(0), np.array([2, 0])].tolist() == [2.0, 0.0]
    assert x[gpugrad.tensor([True, False])].tolist() == [[0.0, 1.0, 2.0]]
    assert x[:, gpugrad.tensor([1, 0, 1], dtype=gpugrad.uint8)].tolist() == [[0, 2], [3, 5]]
    assert [row.tolist() for row in x] == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert x[gpugrad.tensor([], dtype=gpugrad.int64)].shape == (0, 3)
    with pytest.raises(IndexError, match="index 3 is out of bounds for dimension 0 with size 2"):
        x[gpugrad.tensor([0, 3])]
    with pytest.raises(IndexError, match="tensors used as indices must be long"):
        x[gpugrad.tensor([0.0])]


def test_single_argument_where_and_nonzero():
    x = gpugrad.tensor([[0.0, 1.5], [2.0, 0.0]])
    rows, cols = gpugrad.where(x != 0)
    assert rows.tolist() == [0, 1] and cols.tolist() == [1, 0]
    assert x.nonzero().tolist() == [[0, 1], [1, 0]]
    assert x.nonzero().dtype == gpugrad.int64
    assert gpugrad.nonzero(gpugrad.tensor(0.0)).shape == (0, 0)


@pytest.mark.parametrize("default", [torch.float32, torch.float64])
@pytest.mark.parametrize("a,b", [(1.5, 0), (1.5, 2.5), (2, 1.5), (1, 0), (True, 0), (True, False)])
def test_where_between_two_python_numbers_takes_torch_dtype(a, b, default):
    # mask-based picks such as where(torch.rand(n) < p, 1.0, 0) in training scripts
    torch.set_default_dtype(default)
    gpugrad.set_default_dtype(getattr(gpugrad, str(default).split(".")[1]))
    try:
        theirs = torch.where(torch.tensor([True, False]), a, b)
        ours = gpugrad.where(gpugrad.tensor([True, False]), a, b)
    finally:
        torch.set_default_dtype(torch.float32)
        gpugrad.set_default_dtype(gpugrad.float32)
    assert str(ours.dtype).split(".")[1] == str(theirs.dtype).split(".")[1]
    assert ours.tolist() == theirs.tolist()


def test_masked_fill_casts_the_value_as_torch():
    i = gpugrad.zeros(3, dtype=gpugrad.int64)
    assert i.masked_fill(gpugrad.tensor([True, False, True]), 1.7).tolist() == [1, 0, 1]
    x = gpugrad.zeros(2, 3)
    out = x.masked_fill(gpugrad.ones(2, 2, 3, dtype=gpugrad.bool), 1.0)
    assert out.shape == (2, 2, 3)  # as PyTorch, the out-of-place form broadcasts
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        x.masked_fill_(gpugrad.ones(2, 2, 3, dtype=gpugrad.bool), 1.0)


# ---------------------------------------------------------------------- backend primitives
def test_add_at_accumulates_repeated_indices():
    b = cpu_backend()
    out = np.zeros((3, 2))
    b.add_at(out, (np.array([0, 2, 0]),), np.ones((3, 2)))
    np.testing.assert_array_equal(out, [[2, 2], [0, 0], [1, 1]])
    out = np.zeros((2, 3))
    b.add_at(out, (slice(None), np.array([1, 1])), np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.testing.assert_array_equal(out, [[0, 3, 0], [0, 7, 0]])


def test_gather_and_scatter_add_match_torch():
    rng = np.random.default_rng(0)
    b = cpu_backend()
    x = rng.standard_normal((4, 5))
    idx = rng.integers(0, 4, (3, 5))
    np.testing.assert_array_equal(
        b.gather(x, 0, idx), torch.gather(torch.from_numpy(x), 0, torch.from_numpy(idx)).numpy())
    src = rng.standard_normal((3, 5))
    out = np.zeros((4, 5))
    b.scatter_add(out, 0, idx, src)
    expect = torch.zeros(4, 5, dtype=torch.float64).scatter_add_(
        0, torch.from_numpy(idx), torch.from_numpy(src))
    np.testing.assert_allclose(out, expect.numpy())


@pytest.mark.parametrize("make_view", [
    lambda a: a[1:, ::2], lambda a: a.T, lambda a: a[2], lambda a: a[:, None, 1:3],
    lambda a: a.reshape(-1)[3:7], lambda a: a[::-1, 1],
])
@pytest.mark.parametrize("strided_base", [False, True])
def test_flat_positions_of_views(make_view, strided_base):
    b = cpu_backend()
    base = np.arange(20.0).reshape(4, 5)
    if strided_base:
        base = np.zeros((4, 10))[:, ::2]
        base[...] = np.arange(20.0).reshape(4, 5)
    view = make_view(base)
    pos = b.flat_positions(base, view)
    np.testing.assert_array_equal(base.reshape(-1)[pos], view)
    assert (b.flat_positions(base, np.zeros(3)) == -1).all()


# ---------------------------------------------------------------------- property test
@st.composite
def _shape_and_key(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    key, dims = [], list(shape)
    while dims and draw(st.booleans()):
        n = dims.pop(0)
        kind = draw(st.sampled_from(["int", "slice", "list", "none"]))
        if kind == "int":
            key.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            key.append(slice(draw(st.integers(-n, n)), draw(st.integers(-n, n)),
                             draw(st.integers(1, 3))))
        elif kind == "list":
            key.append(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=4)))
        else:
            dims.insert(0, n)
            key.append(None)
    if draw(st.booleans()):
        key.insert(draw(st.integers(0, len(key))), Ellipsis)
    return shape, tuple(key)


@settings(max_examples=60, deadline=None)
@given(_shape_and_key())
def test_getitem_values_and_grads_match_torch(case):
    shape, key = case
    data = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    t = torch.tensor(data, requires_grad=True)
    try:
        expected = t[key]
    except IndexError:
        with pytest.raises(IndexError):
            gpugrad.tensor(data)[key]
        return
    x = gpugrad.tensor(data, requires_grad=True)
    out = x[key]
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    up = np.arange(expected.numel(), dtype=np.float64).reshape(tuple(expected.shape))
    out.backward(gpugrad.tensor(up))
    expected.backward(torch.tensor(up))
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


_INDEXED_OPS = {
    "gather": lambda m, x, i: x.gather(1, i), "index_select": lambda m, x, i: x.index_select(
        0, i.view(-1)), "take": lambda m, x, i: x.take(i),
    "take_along_dim": lambda m, x, i: m.take_along_dim(x, i, 1),
    "scatter": lambda m, x, i: x.scatter(1, i, 1.0),
    "scatter_add": lambda m, x, i: x.scatter_add(1, i, x[:, :1]),
    "index_add": lambda m, x, i: x.index_add(0, i.view(-1), x),
    "index_copy": lambda m, x, i: x.index_copy(0, i.view(-1), x),
    "index_fill": lambda m, x, i: x.index_fill(0, i.view(-1), 1.0),
    "put": lambda m, x, i: x.put(i, x[:, :1]),
}


@pytest.mark.parametrize("index_dtype", ["float32", "int32", "int64"])
@pytest.mark.parametrize("op", list(_INDEXED_OPS))
def test_index_dtype_checked_and_worded_as_torch(op, index_dtype):
    """Float indexes fail everywhere; int32 ones where PyTorch takes int64 only."""
    def outcome(m):
        x, i = m.ones(3, 3), m.zeros(3, 1, dtype=getattr(m, index_dtype))
        try:
            return str(_INDEXED_OPS[op](m, x, i).dtype).split(".")[-1]
        except Exception as e:  # noqa: BLE001 - the error is the result compared
            return type(e).__name__, str(e)

    assert outcome(gpugrad) == outcome(torch)


def test_gather_refuses_sparse_gradients():
    x = gpugrad.ones(2, 3, requires_grad=True)
    index = gpugrad.tensor([[0, 1]])
    with pytest.raises(NotImplementedError, match="sparse_grad"):
        gpugrad.gather(x, 1, index, sparse_grad=True)
    with pytest.raises(NotImplementedError, match="sparse_grad"):
        x.gather(1, index, sparse_grad=True)
    assert gpugrad.gather(x, 1, index, sparse_grad=False).tolist() == [[1.0, 1.0]]


@pytest.mark.parametrize("key,value", [
    ("L.tensor([0, 2])", "L.ones(2, 2, dtype=L.float64)"), ("[0, 2]", "L.ones(2, 2, dtype=L.long)"),
    ("L.tensor([True, False, True])", "L.ones(2, 2, dtype=L.float64)"),
    ("(L.tensor([0, 2]), slice(None))", "L.ones(2, 2, dtype=L.float16)"),
    ("L.tensor([0, 2])", "L.tensor(1.0, dtype=L.float64)"),
    ("(0, L.tensor([1]))", "L.ones(1).double()"),
    ("L.tensor([0, 2])", "2"), ("L.tensor([0, 2])", "2.5"), ("L.tensor([0, 2])", "L.ones(2, 2)"),
    ("0", "L.ones(2, dtype=L.float64)"), ("slice(0, 2)", "L.ones(2, 2, dtype=L.float64)"),
    ("(L.tensor(0), 1)", "L.tensor(3.0, dtype=L.float64)"),
])
def test_index_writes_of_another_dtype_as_torch(key, value):
    seen = []
    for L in (torch, gpugrad):
        p = L.zeros(3, 2)
        try:
            exec(f"p[{key}] = {value}", {"L": L, "p": p})
            seen.append(p.tolist())
        except RuntimeError as err:
            seen.append(str(err))
    assert seen[1] == seen[0]


def test_uint8_masks_are_taken_with_the_deprecation_warnings_as_torch():
    """where() and indexing read a uint8 tensor as a mask and warn that it is deprecated (once
    a process, as PyTorch: set_warn_always makes both warn each time here)."""
    import warnings

    seen = []
    for L in (torch, gpugrad):
        previous = L.is_warn_always_enabled()
        L.set_warn_always(True)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                m = L.tensor([1, 0], dtype=L.uint8)
                values = [L.where(m, L.ones(2), L.zeros(2)).tolist(),
                          L.ones(2).where(m, L.zeros(2)).tolist(),
                          L.arange(3)[L.tensor([1, 0, 1], dtype=L.uint8)].tolist()]
        finally:
            L.set_warn_always(previous)
        seen.append((values, [str(w.message).split(" (Triggered")[0] for w in caught]))
        with pytest.raises(RuntimeError, match="where expected condition to be a boolean"):
            L.where(L.tensor([1, 0], dtype=L.int8), L.ones(2), L.zeros(2))
    assert seen[1] == seen[0]
