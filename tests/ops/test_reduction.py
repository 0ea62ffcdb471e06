"""Reductions and softmax beyond the registry: ties, zeros, infinities, legacy signatures,
float16 accumulation, return types, the primitives backward goes through, and a property test
against PyTorch."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import gpugrad
from gpugrad.backend import cpu_backend

INF, NAN = math.inf, math.nan


def _run(lib, fn, values, dtype="float64", upstream=None):
    """Value and gradient of ``fn(lib, x)`` (first output if it returns a pair)."""
    x = lib.tensor(np.asarray(values, dtype=dtype), requires_grad=True)
    out = fn(lib, x)
    y = out[0] if isinstance(out, tuple) else out
    up = np.ones(tuple(y.shape), dtype=dtype) if upstream is None else upstream
    y.backward(lib.tensor(up))
    grad = None if x.grad is None else np.asarray(x.grad.detach().numpy())
    return np.asarray(y.detach().numpy()), grad


def assert_like_torch(fn, values, dtype="float64", rtol=1e-7, atol=1e-10, upstream=None):
    gv, gg = _run(gpugrad, fn, values, dtype, upstream)
    tv, tg = _run(torch, fn, values, dtype, upstream)
    np.testing.assert_allclose(gv, tv, rtol=rtol, atol=atol, equal_nan=True, err_msg="value")
    if tg is None:
        assert gg is None or not np.any(gg)
    else:
        np.testing.assert_allclose(gg, tg, rtol=rtol, atol=atol, equal_nan=True, err_msg="grad")


TIES = [[1.0, 4.0, 3.0, -2.0], [2.0, 2.0, 2.0, 0.5], [-1.0, -1.0, 4.0, -2.0]]  # global ties too


@pytest.mark.parametrize("fn", [
    lambda m, x: x.max(),
    lambda m, x: x.min(),
    lambda m, x: x.max(1),
    lambda m, x: x.min(1),
    lambda m, x: m.max(x, 0, keepdim=True),
    lambda m, x: m.min(x, -1),
    lambda m, x: x.amax(),
    lambda m, x: x.amin(),
    lambda m, x: x.amax(1),
    lambda m, x: m.amin(x, (0, 1), keepdim=True),
    lambda m, x: m.amax(x, 0),
    lambda m, x: x.norm(INF, dim=1),
    lambda m, x: x.norm(-INF),
    lambda m, x: m.maximum(x, m.full_like(x, 3.0)),
    lambda m, x: x.min(m.ones_like(x) * 2.0),
], ids=["max", "min", "max_dim", "min_dim", "max_dim0_keep", "min_dim_neg", "amax", "amin",
        "amax_dim", "amin_tuple", "amax_dim0", "norm_inf", "norm_neg_inf", "maximum",
        "min_binary"])
def test_ties_split_or_pick_like_torch(fn):
    assert_like_torch(fn, TIES)


def test_nan_wins_like_torch():
    values = [[1.0, NAN, NAN], [2.0, 2.0, 0.0]]
    for fn in (lambda m, x: x.max(1), lambda m, x: x.min(0), lambda m, x: x.amax(0)):
        np.testing.assert_array_equal(_run(gpugrad, fn, values)[0], _run(torch, fn, values)[0])
    for name in ("argmax", "argmin"):
        g, t = gpugrad.tensor(values), torch.tensor(values)
        assert getattr(g, name)(1).tolist() == getattr(t, name)(1).tolist()
        assert getattr(g, name)().item() == getattr(t, name)().item()


def test_nan_gradient_goes_to_the_nans():
    assert_like_torch(lambda m, x: x.max(1), [[1.0, NAN, NAN], [2.0, 2.0, 0.0]])
    assert_like_torch(lambda m, x: x.max(), [1.0, NAN, 3.0, NAN])
    assert_like_torch(lambda m, x: x.min(), [1.0, NAN, -3.0])


@pytest.mark.parametrize("name", ["max", "min", "cummax", "cummin"])
def test_max_dim_node_lists_only_the_values(name):
    """PyTorch's MaxBackward0 (and CummaxBackward0...) has one output, the indices not being
    differentiable: its hooks see one gradient, its next_functions the input alone, and it
    checks the saved indices' version."""
    seen = {}
    for lib in (gpugrad, torch):
        x = lib.tensor([[1.0, 3.0, 2.0], [4.0, 0.0, 5.0]], requires_grad=True)
        values, indices = getattr(lib, name)(x, 1)
        counts = []
        values.grad_fn.register_hook(
            lambda gi, go, counts=counts: counts.append((len(gi), len(go))))
        values.sum().backward()
        seen[lib.__name__] = (counts, len(values.grad_fn.next_functions), indices.requires_grad,
                              x.grad.tolist())
        values, indices = getattr(lib, name)(x, 1)
        indices.add_(0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            values.sum().backward()
    assert seen["gpugrad"] == seen["torch"]


@pytest.mark.parametrize("values", [
    [2.0, 0.0, 3.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0], [[2.0, 0.0, 3.0], [1.0, 2.0, 3.0]],
    [[0.0, 0.0, 3.0], [1.0, 0.0, -3.0]],
], ids=["one_zero", "two_zeros", "all_zeros", "rows_one_zero", "rows_mixed"])
@pytest.mark.parametrize("dim", [None, -1])
def test_prod_gradient_with_zeros(values, dim):
    fn = (lambda m, x: x.prod()) if dim is None else (lambda m, x: x.prod(dim))
    assert_like_torch(fn, values)
    assert_like_torch(fn, values, dtype="float32", rtol=1e-6, atol=1e-6)


def test_prod_double_backward_at_zeros():
    for values in ([2.0, 0.0, 3.0], [[0.0, 0.5, 0.0], [1.5, 2.0, -1.0]]):
        x = gpugrad.tensor(values, dtype=gpugrad.float64, requires_grad=True)
        assert gpugrad.autograd.gradgradcheck(lambda t: t.prod(-1), (x,))


@pytest.mark.parametrize("p", [2, 1.5, 3, 0.5, -1, 1, INF])
def test_norm_gradient_at_zero_vector_is_torchs(p):
    assert_like_torch(lambda m, x: x.norm(p), [0.0, 0.0, 0.0])
    assert_like_torch(lambda m, x: x.norm(p, dim=1), [[0.0, 0.0], [3.0, -4.0]])


def test_norm_p0_counts_nonzeros_and_has_no_gradient():
    assert_like_torch(lambda m, x: x.norm(0, dim=1), [[0.0, 1.0, -2.0], [0.0, 0.0, 5.0]])


@pytest.mark.parametrize("kw", [
    {"dim": 1, "correction": 3}, {"dim": 1, "correction": 4}, {"correction": 6},
    {"correction": 7}, {"dim": (0, 1), "correction": 6}, {"dim": 0, "correction": 2.5},
])
@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_with_correction_at_or_above_count(name, kw):
    values = [[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_like_torch(lambda m, x: getattr(x, name)(**kw), values)
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        getattr(gpugrad, name)(gpugrad.tensor(values), **kw)


@pytest.mark.parametrize("call", [
    lambda m, x: m.var(x, False),
    lambda m, x: m.var(x, 1, False, True),
    lambda m, x: x.var(unbiased=False),
    lambda m, x: x.std(0, True),
    lambda m, x: m.std(x, dim=(0, 1), unbiased=True, keepdim=True),
    lambda m, x: x.std(1, correction=0),
    lambda m, x: x.std(),
])
def test_var_std_legacy_and_keyword_forms(call):
    assert_like_torch(call, [[1.0, 2.5, -3.0], [0.5, 4.0, 1.0]])


def test_std_of_constant_has_zero_gradient():
    assert_like_torch(lambda m, x: x.std(1), [[1.0, 1.0, 1.0], [0.0, 1.0, 3.0]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logsumexp_finite_for_huge_inputs(dtype):
    values = [[1e4, -1e4, 1e4 - 1.0], [-1e4, -1e4 + 2.0, -1e4]]
    gv, gg = _run(gpugrad, lambda m, x: m.logsumexp(x, 1), values, dtype)
    assert np.all(np.isfinite(gv)) and np.all(np.isfinite(gg))
    assert_like_torch(lambda m, x: m.logsumexp(x, 1), values, dtype, rtol=1e-6, atol=1e-6)


def test_logsumexp_infinite_rows_like_torch():
    values = [[-INF, -INF, -INF], [INF, 1.0, 2.0], [-INF, 0.0, 1.0]]
    assert_like_torch(lambda m, x: m.logsumexp(x, 1), values)
    assert_like_torch(lambda m, x: m.logsumexp(x, 1, keepdim=True), values)


def test_logsumexp_of_integers_is_float():
    x = gpugrad.tensor([1, 2, 3])
    assert gpugrad.logsumexp(x, 0).dtype == gpugrad.float32
    np.testing.assert_allclose(gpugrad.logsumexp(x, 0).item(),
                               torch.logsumexp(torch.tensor([1, 2, 3]), 0).item(), rtol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_stable_for_huge_logits(name, dtype):
    values = [[1e4, -1e4, 1e4 - 1.0, 0.0], [-1e4, -1e4, -1e4 + 3.0, -1e4]]
    up = np.arange(8, dtype=dtype).reshape(2, 4)
    gv, gg = _run(gpugrad, lambda m, x: getattr(m, name)(x, 1), values, dtype, up)
    assert np.all(np.isfinite(gv)) and np.all(np.isfinite(gg))
    assert_like_torch(lambda m, x: getattr(m, name)(x, 1), values, dtype, 1e-5, 1e-5, up)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_infinite_logits_like_torch(name):
    values = [[-INF, -INF, -INF], [-INF, 1.0, 2.0], [0.0, 1.0, -INF]]
    up = np.arange(9, dtype="float64").reshape(3, 3)
    assert_like_torch(lambda m, x: getattr(m, name)(x, -1), values, upstream=up)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, 2])
def test_softmax_zero_size_forward_and_backward(name, dim):
    x = gpugrad.zeros(2, 0, 3, requires_grad=True)
    y = getattr(gpugrad, name)(x, dim)
    assert y.shape == (2, 0, 3)
    y.sum().backward()
    assert x.grad.shape == (2, 0, 3)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_implicit_dim_warns_and_matches_functional(name, shape):
    values = np.random.default_rng(0).standard_normal(shape)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        out = getattr(gpugrad.nn.functional, name)(gpugrad.tensor(values))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = getattr(torch.nn.functional, name)(torch.tensor(values))
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_torch_softmax_needs_an_int_dim(name):
    """Only nn.functional's softmax picks an implicit dim: torch.softmax, Tensor.softmax and
    torch.special.softmax need an int (or a 0-d integer tensor), as PyTorch's."""
    forms = [lambda m, x, *d: getattr(m, name)(x, *d),
             lambda m, x, *d: getattr(x, name)(*d),
             lambda m, x, *d: getattr(m.special, name)(x, *d)]
    for form in forms:
        for dims in ((), (None,), (1.0,), ("a",), (True,), ("tensor", [1]), ("tensor", 1.0)):
            for m in (gpugrad, torch):
                x = m.ones(2, 3)
                args = (m.tensor(dims[1]),) if dims[:1] == ("tensor",) else dims
                with pytest.raises(TypeError):
                    form(m, x, *args)
        for m in (gpugrad, torch):
            x = m.ones(2, 3)
            assert form(m, x, m.tensor(1)).sum().item() == pytest.approx(
                2.0 if name == "softmax" else 2 * 3 * np.log(1 / 3))
            assert form(m, x, np.int64(0)).shape == (2, 3)
    with pytest.raises(TypeError, match=rf"{name}\(\): argument 'dim' must be int, not NoneType"):
        getattr(gpugrad, name)(gpugrad.ones(2), None)


def test_softmax_dtype_casts_first():
    x = gpugrad.tensor([1, 2, 3])
    y = gpugrad.softmax(x, 0, dtype=gpugrad.float64)
    assert y.dtype == gpugrad.float64
    np.testing.assert_allclose(y.numpy(), torch.softmax(torch.tensor([1, 2, 3]), 0,
                                                        dtype=torch.float64).numpy())
    with pytest.raises(NotImplementedError, match="not implemented for"):
        gpugrad.softmax(x, 0)


def test_float16_reductions_accumulate_in_float32():
    values = np.full(4096, 0.1, dtype=np.float16)
    g, t = gpugrad.from_numpy(values), torch.from_numpy(values)
    for fn in (lambda x: x.sum(), lambda x: x.mean(), lambda x: x.cumsum(0).amax(),
               lambda x: x.norm(), lambda x: x.var(), lambda x: x.logsumexp(0),
               lambda x: x.softmax(0).amax(), lambda x: x.prod()):
        gv, tv = fn(g), fn(t)
        assert gv.dtype == gpugrad.float16
        np.testing.assert_allclose(float(gv.item()), float(tv.item()), rtol=2e-3)
    assert g.sum().item() > 400  # float16 accumulation would stall at 256


def test_float16_gradients():
    for fn in (lambda m, x: x.softmax(1), lambda m, x: x.log_softmax(0), lambda m, x: x.var(1),
               lambda m, x: x.amax(1), lambda m, x: m.logsumexp(x, 1), lambda m, x: x.norm(dim=0)):
        values = np.random.default_rng(1).standard_normal((3, 5)).astype(np.float16)
        shape = tuple(fn(torch, torch.tensor(values)).shape)
        up = np.random.default_rng(2).standard_normal(shape).astype(np.float16)
        assert_like_torch(fn, values, "float16", 1e-2, 1e-2, up)


def test_max_dim_returns_named_pair():
    x = gpugrad.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    out = x.max(1)
    values, indices = out
    assert out.values is values and out.indices is indices and out[0] is values
    assert isinstance(out, tuple) and len(out) == 2
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert indices.dtype == gpugrad.int64 and not indices.requires_grad
    assert repr(out).startswith("gpugrad.return_types.max(\nvalues=tensor(")
    assert isinstance(out, gpugrad.return_types.max)
    assert type(gpugrad.min(x, dim=0)).__name__ == "min"


def test_max_dim_grad_fn_and_indices_without_grad():
    x = gpugrad.tensor([[1.0, 5.0], [7.0, 0.0]], requires_grad=True)
    values, indices = gpugrad.max(x, 1)
    assert values.grad_fn.name() == "MaxBackward0" and indices.grad_fn is None
    assert x.amax().grad_fn.name() == "AmaxBackward0"


def test_argmax_like_torch():
    values = np.random.default_rng(3).standard_normal((3, 4, 5))
    g, t = gpugrad.tensor(values), torch.tensor(values)
    for kw in ({}, {"keepdim": True}, {"dim": 1}, {"dim": -1, "keepdim": True}):
        for name in ("argmax", "argmin"):
            gv, tv = getattr(g, name)(**kw), getattr(t, name)(**kw)
            assert gv.dtype == gpugrad.int64 and gv.shape == tv.shape
            assert gv.tolist() == tv.tolist()


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool", "uint8"])
def test_integer_reductions_dtypes_like_torch(dtype):
    values = np.array([[1, 0, 3], [2, 2, 1]]).astype(dtype)
    g, t = gpugrad.from_numpy(values), torch.from_numpy(values)
    for fn in (lambda x: x.sum(), lambda x: x.sum(1), lambda x: x.prod(), lambda x: x.prod(0),
               lambda x: x.cumsum(1), lambda x: x.amax(), lambda x: x.max(1)[0],
               lambda x: x.all(), lambda x: x.any(1), lambda x: x.max()):
        gv, tv = fn(g), fn(t)
        assert gv.dtype.name == str(tv.dtype).replace("torch.", "")
        assert gv.tolist() == tv.tolist()


def test_errors_name_the_problem():
    x = gpugrad.ones(2, 3)
    with pytest.raises(IndexError, match=r"range of \[-2, 1\], but got 5"):
        x.amax(5)
    with pytest.raises(RuntimeError, match=r"max\(\): Expected reduction dim to be specified"):
        gpugrad.ones(0).max()
    with pytest.raises(IndexError, match="argmax"):
        gpugrad.ones(2, 0).argmax(1)
    with pytest.raises(RuntimeError, match="could not infer output dtype"):
        gpugrad.ones(3, dtype=gpugrad.int64).mean()
    with pytest.raises(TypeError):
        gpugrad.cumsum(x)


# Backward without create_graph goes through these backend primitives (the CUDA backend
# replaces them with kernels); each case names the primitive it must call.
PRIMITIVE_CASES = [
    ("reduce_grad", lambda x: x.amax(1)), ("reduce_grad", lambda x: x.max()),
    ("where", lambda x: x.min(0)[0]), ("prod_grad", lambda x: x.prod(1)),
    ("reduce_grad", lambda x: x.var(1)), ("reduce_grad", lambda x: x.std()),
    ("reduce_grad", lambda x: x.norm(3, dim=1)), ("reduce_grad", lambda x: x.logsumexp(1)),
    ("reduce_grad", lambda x: x.softmax(1)), ("reduce_grad", lambda x: x.log_softmax(0)),
    ("reduce_grad", lambda x: x.mean(0)), ("cumsum", lambda x: x.cumsum(1)),
]


@pytest.mark.parametrize("primitive,fn", PRIMITIVE_CASES,
                         ids=[f"{p}-{i}" for i, (p, _) in enumerate(PRIMITIVE_CASES)])
def test_backward_runs_through_the_primitive(monkeypatch, primitive, fn):
    backend = cpu_backend()
    calls = []
    original = getattr(backend, primitive)

    def spy(*args, **kwargs):
        calls.append(primitive)
        return original(*args, **kwargs)

    x = gpugrad.tensor(np.random.default_rng(4).standard_normal((3, 4)), requires_grad=True)
    y = fn(x)
    monkeypatch.setattr(backend, primitive, spy)
    y.sum().backward()
    assert calls, f"backward did not call backend.{primitive}"


@st.composite
def _reduction_case(draw):
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim)))
    dims = draw(st.one_of(st.none(), st.sets(st.integers(-ndim, ndim - 1) if ndim else
                                              st.sampled_from([0, -1]), min_size=1,
                                              max_size=max(ndim, 1))))
    if dims is not None:  # distinct dims after wrapping
        wrapped = {d % ndim if ndim else 0: d for d in dims}
        dims = tuple(wrapped.values())
    return shape, dims, draw(st.booleans()), draw(st.integers(0, 2**31 - 1))


@settings(max_examples=30, deadline=None)
@given(_reduction_case())
def test_property_reductions_match_torch(case):
    shape, dims, keepdim, seed = case
    values = np.random.default_rng(seed).standard_normal(shape)
    ops = {
        "sum": lambda m, x: x.sum() if dims is None else x.sum(dims, keepdim=keepdim),
        "mean": lambda m, x: x.mean() if dims is None else x.mean(dims, keepdim=keepdim),
        "amax": lambda m, x: x.amax() if dims is None else x.amax(dims, keepdim=keepdim),
        "logsumexp": lambda m, x: m.logsumexp(x, tuple(range(x.ndim)) if dims is None else dims,
                                              keepdim=keepdim),
    }
    up = np.random.default_rng(seed + 1)
    for name, fn in ops.items():
        out_shape = tuple(fn(torch, torch.tensor(values)).shape)
        upstream = up.standard_normal(out_shape)
        try:
            assert_like_torch(fn, values, upstream=upstream)
        except AssertionError as e:
            raise AssertionError(f"{name} {shape} dims={dims} keepdim={keepdim}: {e}") from None


def test_return_types_print_and_unpack_as_torch():
    """Every named tuple comes from one maker: aminmax's and histogram's print as torch's."""
    x = [[1.0, 3.0], [2.0, 0.0]]
    for name, call in [("aminmax", lambda m, t: m.aminmax(t)),
                       ("histogram", lambda m, t: m.histogram(t.reshape(-1), 2)),
                       ("max", lambda m, t: m.max(t, 1))]:
        ours, theirs = call(gpugrad, gpugrad.tensor(x)), call(torch, torch.tensor(x))
        assert repr(ours).replace("gpugrad.", "torch.") == repr(theirs)
        assert isinstance(ours, getattr(gpugrad.return_types, name))


MAX_CALLS = [
    "x.max(dim=t)", "L.max(x, t, keepdim=True)", "L.max(x, other=y)", "x.max(other=y)",
    "L.max(x, 1, dim=1)", "L.max(x, other=y, dim=1)", "L.max(x, y, True)", "x.max(t)",
    "L.max(x, 1, True)", "L.max(x, keepdim=True)", "L.max(x, t.float())", "x.min(1)", "x.min()",
    "x.min(dim=0, keepdim=True)", "L.min(x, 1, False)", "L.min(x, other=y)", "x.max(None)",
    "x.max(dim=None)", "L.max(x, None, True)", "x.max(axis=1)", "x.max(1, keepdims=True)",
    "x.max(axis=1, dim=1)", "x.max(keepdims=True)", "x.max(None, keepdim=True)",
    "L.max(x, y, out=L.empty(0))",
]


@pytest.mark.parametrize("call", MAX_CALLS)
def test_max_and_min_tell_their_overloads_apart_as_torch(call):
    seen = []
    for L in (torch, gpugrad):
        x, y = L.tensor([[1.0, 5, 2], [0, 3, 4]]), L.full((2, 3), 2.0)
        try:
            r = eval(call, {"L": L, "x": x, "y": y, "t": L.tensor(1)})
        except TypeError:
            seen.append("TypeError")
            continue
        seen.append((r.values.tolist(), r.indices.tolist()) if isinstance(r, tuple)
                    else r.tolist())
    assert seen[1] == seen[0]


INT_ARGUMENTS = [
    "s.topk(min(100, (s > 0.4).sum()))", "s.topk(L.tensor([2]))", "x.sum(L.tensor(1))",
    "x.unsqueeze(L.tensor(0))", "x.cumsum(L.tensor(0))", "x.transpose(L.tensor(0), 1)",
    "x.kthvalue(L.tensor(2))", "x.tril(L.tensor(-1))", "x.argmax(dim=L.tensor(1))",
    "x.softmax(L.tensor(1))", "x.unsqueeze(L.tensor([0]))", "x.topk(L.tensor(1.0))",
]


@pytest.mark.parametrize("call", INT_ARGUMENTS)
def test_integer_tensors_are_taken_for_int_arguments_as_torch(call):
    seen = []
    for L in (torch, gpugrad):
        x, s = L.tensor([[1.0, 5, 2], [0, 3, 4]]), L.tensor([0.3, 0.9, 0.1, 0.8, 0.5])
        try:
            r = eval(call, {"L": L, "x": x, "s": s})
        except TypeError:
            seen.append("TypeError")
            continue
        seen.append([t.tolist() for t in r] if isinstance(r, tuple) else r.tolist())
    assert seen[1] == seen[0]
