"""Sparse COO tensors beyond products and sums, against torch 2.13: the unary ops that keep 0
at 0 (function, method and ``nn.functional`` forms) and the refusal of the others; ``pow`` by a
number; ``mul`` by a dense tensor (broadcast), by a sparse one and by a number; ``gpugrad.sum``
of a sparse tensor; ``cat`` along sparse and dense dims; ``s[i]``, ``s[:, j]``, ``s[None]``,
``select``; and saving and loading (``gpugrad.save``, and checkpoints ``torch.save`` wrote).

Values and gradients (to the values and to dense operands) in float64 and float32, with
duplicate coordinates, no entries, and hybrid values; float64 finite differences; the errors
torch raises."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.autograd import gradcheck
from gpugrad.sparse._math import ZERO_PRESERVING

pytestmark = pytest.mark.filterwarnings(
    "ignore:Sparse invariant checks are implicitly disabled:UserWarning",
    "ignore:Sparse CSR tensor support is in beta state:UserWarning",
)

SIZE = (3, 4)
PATTERNS = {
    "coalesced": [[0, 0, 1, 2], [1, 3, 0, 2]],
    "duplicates": [[2, 0, 1, 0, 2], [2, 3, 0, 3, 2]],  # (0, 3) and (2, 2) twice, unsorted
    "empty": [[], []],
}
PRECISIONS = [pytest.param(False, id="float64"), pytest.param(True, id="float32")]
HYBRID = [pytest.param((), id="plain"), pytest.param((2,), id="hybrid")]


def _dtype(L, single):
    return L.float32 if single else L.float64


def _tol(single):
    return dict(rtol=1e-5, atol=1e-6) if single else dict(rtol=1e-12, atol=1e-12)


def _values(L, pattern, single, dense=(), seed=0, scale=0.9):
    nnz = len(PATTERNS[pattern][0])
    rng = np.random.default_rng(seed)
    data = scale * np.tanh(rng.standard_normal((nnz,) + tuple(dense)))  # inside (-0.9, 0.9)
    return L.tensor(data, dtype=_dtype(L, single), requires_grad=True)


def _sparse(L, pattern, single, dense=(), seed=0, scale=0.9):
    """A values leaf (requires grad) and the sparse tensor of size ``SIZE + dense`` on it."""
    v = _values(L, pattern, single, dense, seed, scale)
    idx = L.tensor(np.array(PATTERNS[pattern], dtype=np.int64).reshape(2, -1))
    return v, L.sparse_coo_tensor(idx, v, SIZE + tuple(dense))


def _dense_leaf(L, shape, single, seed=5):
    data = np.random.default_rng(seed).standard_normal(shape)
    return L.tensor(data, dtype=_dtype(L, single), requires_grad=True)


def _np(t):
    t = t.detach()
    return (t.to_dense() if t.is_sparse else t).numpy()


def _same(got, want, single):
    assert got.is_sparse == want.is_sparse
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert tuple(got.shape) == tuple(want.shape)
    if want.is_sparse:
        assert (got.sparse_dim(), got.dense_dim()) == (want.sparse_dim(), want.dense_dim())
    np.testing.assert_allclose(_np(got), _np(want), equal_nan=True, **_tol(single))


def _weights(L, out, single):
    """Fixed weights for a scalar loss of ``out`` (its dense form)."""
    shape = tuple(out.shape)
    return L.tensor(np.random.default_rng(9).standard_normal(shape), dtype=_dtype(L, single))


def _both(fn, pattern, single, dense=(), leaves=()):
    """``fn(L, s, *dense_leaves)``: gpugrad's result is torch's (sparse where torch's is, the
    same elements); its gradients to the values and to the dense leaves are those of the same
    ``fn`` applied by torch to ``s.to_dense()`` (the oracle: each op here maps 0 to 0, so the
    dense form of the result is the dense op's; torch's own backward refuses several of these
    ops on sparse tensors)."""
    _, s_t = _sparse(torch, pattern, single, dense)
    extra_t = [_dense_leaf(torch, shape, single, seed=5 + i) for i, shape in enumerate(leaves)]
    want = fn(torch, s_t, *extra_t)

    v_g, s_g = _sparse(gpugrad, pattern, single, dense)
    extra_g = [_dense_leaf(gpugrad, shape, single, seed=5 + i) for i, shape in enumerate(leaves)]
    got = fn(gpugrad, s_g, *extra_g)
    _same(got, want, single)

    v_o, s_o = _sparse(torch, pattern, single, dense)
    extra_o = [_dense_leaf(torch, shape, single, seed=5 + i) for i, shape in enumerate(leaves)]
    oracle = fn(torch, s_o.to_dense(), *extra_o)
    oracle = oracle.to_dense() if oracle.is_sparse else oracle
    (oracle * _weights(torch, oracle, single)).sum().backward()
    got_dense = got.to_dense() if got.is_sparse else got
    (got_dense * _weights(gpugrad, got_dense, single)).sum().backward()
    for g, t in zip([v_g.grad, *[e.grad for e in extra_g]],
                    [v_o.grad, *[e.grad for e in extra_o]]):
        if t is None:
            assert g is None or not np.any(g.numpy())
        else:
            assert g is not None
            np.testing.assert_allclose(g.numpy(), t.numpy(), equal_nan=True, **_tol(single))


def _sparse_like(L, s, indices, values, size):
    """A second operand: sparse where ``s`` is (a dense tensor in the oracle's run)."""
    other = L.sparse_coo_tensor(L.tensor(indices), values, size)
    return other if s.is_sparse else other.to_dense()


# ------------------------------------------------------------------------------ unary ops
def _torch_sparse_unary_ops():
    ops = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = torch.sparse_coo_tensor([[0]], [0.5], (2,))
    for op in sorted(ZERO_PRESERVING):
        try:
            getattr(torch, op)(s)
        except (NotImplementedError, RuntimeError, AttributeError):
            continue
        ops.append(op)
    return ops


UNARY_OPS = _torch_sparse_unary_ops()


def test_every_zero_preserving_op_is_one_torch_takes_sparse():
    assert len(UNARY_OPS) == len(ZERO_PRESERVING)


@pytest.mark.parametrize("op", UNARY_OPS)
@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize("single", PRECISIONS)
def test_unary_op_as_torch(op, pattern, single):
    _both(lambda L, s: getattr(L, op)(s), pattern, single)


@pytest.mark.parametrize("form", ["method", "functional"])
@pytest.mark.parametrize("dense", HYBRID)
def test_unary_method_and_functional_forms(form, dense):
    if form == "method":
        _both(lambda L, s: s.sqrt().abs().tanh(), "duplicates", False, dense)
    else:
        _both(lambda L, s: L.nn.functional.relu(s), "duplicates", False, dense)


def test_unary_ops_coalesce_first():
    # sqrt(a + b) at a repeated coordinate, not sqrt(a) + sqrt(b)
    for L in (torch, gpugrad):
        s = L.sparse_coo_tensor([[0, 0]], [4.0, 5.0], (2,), dtype=L.float64)
        r = L.sqrt(s)
        assert r.is_coalesced() and r._nnz() == 1
        assert _np(r).tolist() == [3.0, 0.0]


def test_unary_of_an_integer_sparse_tensor():
    for op in ("abs", "sqrt", "square"):
        want = getattr(torch, op)(torch.sparse_coo_tensor([[0, 1]], [4, -9], (3,)))
        got = getattr(gpugrad, op)(gpugrad.sparse_coo_tensor([[0, 1]], [4, -9], (3,)))
        _same(got, want, False)


@pytest.mark.parametrize("op", ["exp", "cos", "sigmoid", "log", "reciprocal", "cosh"])
def test_ops_that_fill_the_zeros_are_refused(op):
    for L in (torch, gpugrad):
        _, s = _sparse(L, "coalesced", False)
        with pytest.raises(NotImplementedError, match=f"aten::{op}"):
            getattr(L, op)(s)


def test_to_dense_of_a_dense_tensor_is_the_tensor():
    for L in (torch, gpugrad):
        x = L.ones(2, 3, requires_grad=True)
        assert x.to_dense() is x
        assert x.to_dense(L.float64).dtype == L.float64


def test_neg_keeps_duplicate_coordinates():
    for L in (torch, gpugrad):
        _, s = _sparse(L, "duplicates", False)
        assert L.neg(s)._nnz() == 5 and (-s)._nnz() == 5
    _both(lambda L, s: L.neg(s), "duplicates", False)


# ------------------------------------------------------------------------------------ pow
@pytest.mark.parametrize("exponent", [2, 3, 0.5, -1, 2.5])
@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize("single", PRECISIONS)
def test_pow_by_a_number(exponent, pattern, single):
    _both(lambda L, s: s.abs() ** exponent, pattern, single)


@pytest.mark.parametrize("form", ["method", "function", "operator"])
def test_pow_forms(form):
    fns = {"method": lambda L, s: s.pow(2), "function": lambda L, s: L.pow(s, 2),
           "operator": lambda L, s: s ** 2}
    _both(fns[form], "duplicates", False, (2,))


def test_pow_errors():
    for L in (torch, gpugrad):
        _, s = _sparse(L, "coalesced", False)
        with pytest.raises(RuntimeError, match="zeroth power"):
            s.pow(0)
        with pytest.raises(NotImplementedError, match="pow.Tensor_Tensor"):
            s.pow(L.tensor(2.0))


# ------------------------------------------------------------------------------------ mul
@pytest.mark.parametrize("shape", [(3, 4), (1, 4), (4,), (3, 1), ()], ids=str)
@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize("single", PRECISIONS)
def test_mul_by_a_dense_tensor(shape, pattern, single):
    _both(lambda L, s, d: s * d, pattern, single, leaves=[shape])


@pytest.mark.parametrize("form", ["sparse * dense", "dense * sparse", "mul(s, d)", "mul(d, s)",
                                  "s.mul(d)"])
@pytest.mark.parametrize("dense", HYBRID)
def test_mul_forms(form, dense):
    fns = {"sparse * dense": lambda L, s, d: s * d, "dense * sparse": lambda L, s, d: d * s,
           "mul(s, d)": lambda L, s, d: L.mul(s, d), "mul(d, s)": lambda L, s, d: L.mul(d, s),
           "s.mul(d)": lambda L, s, d: s.mul(d)}
    _both(fns[form], "duplicates", False, dense, leaves=[SIZE + tuple(dense)])


def test_mul_by_a_non_contiguous_dense_tensor():
    _both(lambda L, s, d: s * d.t(), "duplicates", False, leaves=[SIZE[::-1]])


@pytest.mark.parametrize("other", ["coalesced", "duplicates", "empty"])
@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize("single", PRECISIONS)
def test_mul_of_two_sparse_tensors(pattern, other, single):
    def fn(L, s):
        indices = np.array(PATTERNS[other], dtype=np.int64).reshape(2, -1)
        return L.mul(s, _sparse_like(L, s, indices, _values(L, other, single, seed=3), SIZE))

    _both(fn, pattern, single)


def test_mul_errors():
    for L in (torch, gpugrad):
        _, s = _sparse(L, "coalesced", False)
        with pytest.raises(RuntimeError):
            s * L.ones(3, 4, 2, dtype=L.float64)  # does not broadcast to (3, 4)
        with pytest.raises(RuntimeError):
            s * L.ones(2, 4, dtype=L.float64)
        with pytest.raises(RuntimeError, match="Sparse division requires a scalar"):
            s / L.ones(3, 4, dtype=L.float64)


def test_div_and_mul_by_numbers_and_0d_tensors():
    _both(lambda L, s: L.div(s, 2.0) * L.tensor(3.0, dtype=L.float64) * 0.5, "duplicates",
          False)


# ------------------------------------------------------------------------------------ sum
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1), -1])
@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_sum_function(dim, pattern):
    _both(lambda L, s: L.sum(s) if dim is None else L.sum(s, dim), pattern, False)


def test_sum_function_with_dtype():
    _both(lambda L, s: L.sum(s, dtype=L.float64), "duplicates", True)  # float32 values


# ------------------------------------------------------------------------------------ cat
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize("single", PRECISIONS)
def test_cat_along_a_sparse_dim(dim, pattern, single):
    def fn(L, s):
        other = _sparse_like(L, s, [[0, 2], [1, 1]], _values(L, "coalesced", single, seed=4)[:2],
                             SIZE)
        return L.cat([s, other, 2 * s], dim)

    _both(fn, pattern, single)


@pytest.mark.parametrize("dim", [0, 2])
def test_cat_of_hybrid_tensors(dim):
    _both(lambda L, s: L.cat([s, -s], dim), "duplicates", False, (2,))


def test_cat_errors():
    for L in (torch, gpugrad):
        _, s = _sparse(L, "coalesced", False)
        with pytest.raises(RuntimeError, match="dense tensor was found at position 1"):
            L.cat([s, s.to_dense()])
        with pytest.raises(RuntimeError):
            L.cat([s, L.sparse_coo_tensor([[0], [0]], [1.0], (2, 5), dtype=L.float64)], 0)


# ------------------------------------------------------------------------------ indexing
KEYS = {
    "s[1]": lambda s: s[1], "s[-1]": lambda s: s[-1], "s[:, 3]": lambda s: s[:, 3],
    "s[..., 2]": lambda s: s[..., 2], "s[0, 3]": lambda s: s[0, 3],
    "s[None]": lambda s: s[None], "s[:, None]": lambda s: s[:, None],
    "s[None, 2]": lambda s: s[None, 2], "s.select(1, 0)": lambda s: s.select(1, 0),
}


@pytest.mark.parametrize("key", list(KEYS))
@pytest.mark.parametrize("pattern", list(PATTERNS))
@pytest.mark.parametrize("single", PRECISIONS)
def test_integer_indexing(key, pattern, single):
    _both(lambda L, s: KEYS[key](s), pattern, single)


@pytest.mark.parametrize("key", ["s[0]", "s[1, 2]", "s[:, 1]", "s[..., 1]", "s[0, :, 1]"])
def test_integer_indexing_of_hybrid_tensors(key):
    keys = {"s[0]": lambda s: s[0], "s[1, 2]": lambda s: s[1, 2], "s[:, 1]": lambda s: s[:, 1],
            "s[..., 1]": lambda s: s[..., 1], "s[0, :, 1]": lambda s: s[0, :, 1]}
    _both(lambda L, s: keys[key](s), "duplicates", False, (2,))


def test_indexing_by_a_0d_integer_tensor():
    _both(lambda L, s: s[L.tensor(2)], "duplicates", False)
    _both(lambda L, s: s[L.tensor(2, dtype=L.int8)], "duplicates", False)


@pytest.mark.parametrize("dtype", ["uint8", "bool"])
def test_a_0d_mask_is_not_an_index_as_torch(dtype):
    for L in (torch, gpugrad):
        _, s = _sparse(L, "coalesced", False)
        with pytest.raises(NotImplementedError):
            s[L.tensor(1, dtype=getattr(L, dtype))]


def test_indexing_errors():
    for L in (torch, gpugrad):
        _, s = _sparse(L, "coalesced", False)
        with pytest.raises(IndexError, match="out of bounds for dimension 0 with size 3"):
            s[3]
        with pytest.raises(IndexError):
            s[0, 0, 0]
        with pytest.raises(NotImplementedError):
            s[0:2]


# ---------------------------------------------------------------------------- gradcheck
def test_gradcheck_through_the_new_ops():
    idx = gpugrad.tensor(PATTERNS["duplicates"])
    v = gpugrad.tensor(np.linspace(0.2, 0.8, 5), dtype=gpugrad.float64, requires_grad=True)
    d = gpugrad.tensor(np.linspace(-1, 1, 12).reshape(3, 4), dtype=gpugrad.float64,
                       requires_grad=True)

    def fn(v, d):
        s = gpugrad.sparse_coo_tensor(idx, v, SIZE)
        t = gpugrad.cat([gpugrad.sqrt(s) * d, s ** 3], 1)
        return gpugrad.sum(t[1], 0).to_dense() + gpugrad.sum(t[:, 2]).to_dense().sum()

    assert gradcheck(fn, (v, d))


# --------------------------------------------------------------------------- save / load
@pytest.mark.parametrize("dense", HYBRID)
@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_save_and_load(pattern, dense):
    v, s = _sparse(gpugrad, pattern, False, dense)
    leaf = gpugrad.sparse_coo_tensor(s._indices(), v.detach(), s.shape, requires_grad=True)
    buffer = io.BytesIO()
    gpugrad.save({"adj": s.detach(), "coalesced": s.detach().coalesce(), "leaf": leaf}, buffer)
    buffer.seek(0)
    back = gpugrad.load(buffer)
    for key, want in (("adj", s), ("coalesced", s.coalesce()), ("leaf", leaf)):
        got = back[key]
        assert got.is_sparse and tuple(got.shape) == tuple(want.shape)
        assert got.is_coalesced() == want.is_coalesced()
        assert np.array_equal(got._indices().numpy(), want._indices().numpy())
        assert np.array_equal(got._values().detach().numpy(), want._values().detach().numpy())
    assert back["leaf"].requires_grad and back["leaf"].is_leaf
    assert not back["adj"].requires_grad


def test_load_a_torch_checkpoint_with_sparse_tensors():
    idx = torch.tensor(PATTERNS["duplicates"])
    plain = torch.sparse_coo_tensor(idx, torch.arange(5.0), SIZE)
    hybrid = torch.sparse_coo_tensor(idx, torch.ones(5, 2, dtype=torch.float64), SIZE + (2,))
    buffer = io.BytesIO()
    torch.save({"plain": plain, "coalesced": plain.coalesce(), "hybrid": hybrid}, buffer)
    for weights_only in (True, False):
        buffer.seek(0)
        back = gpugrad.load(buffer, weights_only=weights_only)
        for key, want in (("plain", plain), ("coalesced", plain.coalesce()),
                          ("hybrid", hybrid)):
            _same(back[key], want, False)
            assert back[key].is_coalesced() == want.is_coalesced()


def test_load_refuses_other_sparse_layouts():
    buffer = io.BytesIO()
    torch.save(torch.eye(3).to_sparse_csr(), buffer)
    buffer.seek(0)
    with pytest.raises(RuntimeError, match="layout torch.sparse_csr"):
        gpugrad.load(buffer)


def test_load_checks_the_coordinates_of_a_torch_checkpoint():
    bad = torch.sparse_coo_tensor(torch.tensor([[0, 7]]), torch.ones(2), (3,),
                                  check_invariants=False)
    buffer = io.BytesIO()
    torch.save(bad, buffer)
    buffer.seek(0)
    with pytest.raises(RuntimeError, match="size is inconsistent with indices"):
        gpugrad.load(buffer)
