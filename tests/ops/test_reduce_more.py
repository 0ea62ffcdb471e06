"""What the op registry cannot say about the order statistics, scans, counting and the
indexing writes: NaN inputs (finite differences cannot run through NaN), and values and
gradients against PyTorch where a sample needs more than the registry's layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from node_hooks import assert_same_hooked, run_hooked

import gpugrad

NAN = np.nan


def _with_nan():
    x = np.random.default_rng(0).standard_normal((3, 4))
    x[0, 1] = x[2, 0] = x[2, 3] = NAN
    return x


def _compare(fn, *arrays, grad=True):
    """Values (and, for float inputs, gradients with a random upstream) of ``fn`` on gpugrad
    and torch."""
    g_in = [gpugrad.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    t_in = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    g_out, t_out = fn(gpugrad, *g_in), fn(torch, *t_in)
    g_out = tuple(g_out) if isinstance(g_out, tuple) else (g_out,)
    t_out = tuple(t_out) if isinstance(t_out, tuple) else (t_out,)
    for go, to in zip(g_out, t_out, strict=True):
        assert tuple(go.shape) == tuple(to.shape)
        assert go.dtype.name == str(to.dtype).replace("torch.", "")
        np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), equal_nan=True)
    diff = [(g, t) for g, t in zip(g_out, t_out) if t.requires_grad]
    if not diff:
        return
    rng = np.random.default_rng(1)
    ups = [rng.standard_normal(tuple(t.shape)) for _, t in diff]
    gpugrad.autograd.backward([g for g, _ in diff], [gpugrad.tensor(u) for u in ups])
    torch.autograd.backward([t for _, t in diff], [torch.tensor(u) for u in ups])
    for g, t in zip(g_in, t_in):
        if t.grad is not None:
            np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), equal_nan=True)


@pytest.mark.parametrize("fn", [
    lambda m, x: m.median(x),
    lambda m, x: m.median(x, 1),
    lambda m, x: m.median(x, 0, True),
    lambda m, x: m.nanmedian(x),
    lambda m, x: m.nanmedian(x, 1),
    lambda m, x: m.nanmedian(x, 0),
    lambda m, x: m.kthvalue(x, 3, 1),
    lambda m, x: m.kthvalue(x, 2, 0),
    lambda m, x: m.quantile(x, 0.3),
    lambda m, x: m.quantile(x, m.tensor([0.0, 0.5, 1.0], dtype=m.float64), 1),
    lambda m, x: m.nanquantile(x, 0.3),
    lambda m, x: m.nanquantile(x, m.tensor([0.0, 0.5, 1.0], dtype=m.float64), 1),
    lambda m, x: m.nanquantile(x, 0.6, 0, interpolation="nearest"),
    lambda m, x: m.nansum(x),
    lambda m, x: m.nansum(x, 1, True),
    lambda m, x: m.nanmean(x),
    lambda m, x: m.nanmean(x, 0),
    lambda m, x: m.count_nonzero(x, 0),
    lambda m, x: tuple(m.cummax(x, 1)),
    lambda m, x: tuple(m.cummin(x, 1)),
    lambda m, x: tuple(m.cummax(x, 0)),
])
def test_order_statistics_with_nan_match_torch(fn):
    _compare(fn, _with_nan())


def test_aminmax_with_nan():
    """Values as PyTorch's; the gradient at NaN follows gpugrad's amax / amin (shared among the
    NaN entries; PyTorch's is NaN across the slice)."""
    _compare(lambda m, x: tuple(m.aminmax(x, dim=1)), _with_nan(), grad=False)


# Ties in each row and column: the gradient of each output is shared among them.
TIES = np.array([[1.0, 3.0, 3.0, -2.0], [2.0, 0.0, 0.5, 2.0], [1.0, 3.0, 0.0, -2.0]])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kwargs", [{}, {"keepdim": True}, {"dim": 1}, {"dim": 0, "keepdim": True},
                                    {"dim": -1}])
@pytest.mark.parametrize("used", [(0, 1), (0,), (1,)], ids=["both", "min", "max"])
def test_aminmax_is_one_node_with_two_outputs_as_torch(kwargs, dtype, used):
    """One AminmaxBackward0 whose outputs are the min and the max: its hooks see a gradient per
    output (None for an output that sent none), ties share each one."""
    ours, theirs = (run_hooked(m, lambda m, x: m.aminmax(x, **kwargs), TIES, dtype, used)
                    for m in (gpugrad, torch))
    assert theirs["node"][0] == "AminmaxBackward0" and theirs["outputs"] == [True, True]
    assert len(theirs["seen"]["post"]) == 2
    assert_same_hooked(ours, theirs, rtol=1e-6 if dtype == "float32" else 1e-12)


def test_aminmax_of_a_0d_tensor_and_its_second_derivative_match_torch():
    def run(m):
        x = m.tensor(TIES, requires_grad=True)
        lo, hi = m.aminmax(x, dim=0)
        (g,) = m.autograd.grad((lo ** 2 + hi ** 3).sum(), x, create_graph=True)
        (gg,) = m.autograd.grad(g.sum(), x)
        s = m.tensor(1.5, requires_grad=True)
        zero_d = m.aminmax(s, dim=0, keepdim=True)
        sum(zero_d).backward()
        return [g.detach().numpy(), gg.numpy(), s.grad.numpy(),
                [tuple(t.shape) for t in zero_d], type(zero_d[0].grad_fn).__name__]

    ours, theirs = run(gpugrad), run(torch)
    for a, b in zip(ours[:3], theirs[:3], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert ours[3:] == theirs[3:]


def test_all_nan_and_empty():
    x = _with_nan()
    x[1] = NAN
    _compare(lambda m, x: m.nanmedian(x, 1).values, x, grad=False)  # (PyTorch picks any NaN)
    _compare(lambda m, x: m.nanquantile(x, 0.4, 1), x)
    _compare(lambda m, x: m.nanmedian(x), np.full(3, NAN))
    _compare(lambda m, x: m.median(x), np.zeros(0))


def test_mode_counts_a_run_of_nan_as_equal_values():
    """PyTorch's mode with NaN depends on how its sort places them; ours counts a run of NaN
    as one value, the largest."""
    x = gpugrad.tensor([[1.0, NAN, 2.0, NAN, NAN], [NAN, 3.0, 3.0, 1.0, NAN]])
    values, indices = gpugrad.mode(x)
    np.testing.assert_array_equal(values.numpy(), [NAN, 3.0])
    np.testing.assert_array_equal(indices.numpy(), [4, 2])


def test_logcumsumexp_of_minus_infinity_and_large_values():
    x = np.array([[-np.inf, -np.inf, 0.0, 800.0], [1e3, -1e3, 1e3, -np.inf]])
    _compare(lambda m, x: m.logcumsumexp(x, 1), x, grad=False)
    _compare(lambda m, x: m.logcumsumexp(x, 1), x[:, 2:].copy())


@pytest.mark.parametrize("scan", ["cumsum", "cumprod"])
def test_long_float32_scans_keep_torch_cpu_precision(scan):
    """PyTorch's CPU scans keep a float64 running value for float32 inputs; ours too, so a
    million-term float32 cumsum (or a slowly decaying cumprod, as a diffusion schedule's)
    rounds once per term, not drifting by float32's error per addition."""
    rng = np.random.default_rng(0)
    n = 1_000_000
    x = (rng.random(n) if scan == "cumsum" else 1 - 1e-4 * rng.random(n)).astype(np.float32)
    ours = getattr(gpugrad.from_numpy(x), scan)(0).numpy()
    theirs = getattr(torch.from_numpy(x), scan)(0).numpy()
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=2e-7, atol=0)
    exact = getattr(np, scan)(x.astype(np.float64))
    np.testing.assert_allclose(ours, exact, rtol=2e-7, atol=0)


_X = np.random.default_rng(3).standard_normal((3, 4))
_INT = np.array([0, 2, 2, 5, 1])


@pytest.mark.parametrize("call", [
    "x.median()", "x.median(1)", "x.nanmedian(0, True)", "x.kthvalue(2, 1)", "x.mode(0)",
    "x.quantile(0.3, 1)", "x.nanquantile(0.6)", "x.nansum(1)", "x.nanmean()",
    "x.aminmax(dim=0)", "x.count_nonzero(1)", "x.dist(x * 2, 3)", "x.renorm(2, 0, 1.0)",
    "x.cov()", "x.corrcoef()", "x.cummax(1)", "x.cummin(0)", "x.cumprod(1)",
    "x.logcumsumexp(0)", "x.diff(1, 0)", "x.argwhere()", "x.histc(5)", "x.histogram(4)",
    "(x > 0).unique(return_counts=True)", "x.round().unique_consecutive(return_inverse=True)",
    "m.tensor(_INT).bincount(minlength=7)",
    "x.scatter_reduce(0, m.tensor([[0, 2, 1, 0]]), x[:1] * 3, 'amax')",
    "x.index_reduce(1, m.tensor([3, 0]), x[:, :2] * 3, 'mean', include_self=False)",
    "x.index_copy(0, m.tensor([2, 0]), x[:2] * 2)", "x.index_fill(1, m.tensor([1]), -1.0)",
    "x.index_put((m.tensor([0, 2]), m.tensor([1, 1])), x[0, :2], True)",
    "x.masked_scatter(x > 0, x * 3)", "x.put(m.tensor([0, -1]), x[0, :2] * 2)",
])
def test_tensor_methods_match_torch(call):
    """Each Tensor method is its function with the tensor first: one call each, against
    PyTorch's method (the registry checks the functions fully)."""
    import warnings

    def fn(m, x):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = eval(call, {"m": m, "x": x, "_INT": _INT})
        return tuple(out) if isinstance(out, tuple) else out

    # (PyTorch marks histogram's and unique_consecutive's outputs as requiring grad, then has
    # no derivative for them: not differentiable in either library)
    _compare(fn, _X, grad="histogram" not in call and "unique" not in call)


@pytest.mark.parametrize("call", [
    lambda m, x: x.sum(dtype=m.int32), lambda m, x: m.sum(x, 0, dtype=m.int16),
    lambda m, x: x.sum(dtype=m.uint8), lambda m, x: x.sum(dtype=m.bool),
    lambda m, x: x.prod(dtype=m.int32), lambda m, x: x.prod(0, dtype=m.int16),
    lambda m, x: x.cumsum(1, dtype=m.int32), lambda m, x: x.cumsum(0, dtype=m.uint8),
    lambda m, x: x.cumprod(1, dtype=m.int16), lambda m, x: m.nansum(x, dtype=m.int32),
    lambda m, x: x.sum(dtype=m.float32), lambda m, x: x.float().sum(1, dtype=m.int8),
])
def test_integer_dtype_asked_of_sums_and_products_is_the_results(call):
    """``dtype=`` names the result's type, narrow integer types included (wrapping as PyTorch's
    do); gpugrad accumulates integers in int64 and casts, which agrees."""
    values = [[100, -200, 300], [7, 0, -90]]
    ours = call(gpugrad, gpugrad.tensor(values))
    theirs = call(torch, torch.tensor(values))
    assert str(ours.dtype)[8:] == str(theirs.dtype)[6:]
    assert ours.tolist() == theirs.tolist()


@pytest.mark.parametrize("call", [
    lambda m: m.dist(m.tensor([1, 2]), m.tensor([1.0, 3.0])),
    lambda m: m.dist(m.tensor([1.0, 2.0], dtype=m.float16), m.tensor([1, 5])),
    lambda m: m.dist(m.tensor([1, 2]), m.tensor([1.0, 3.0], dtype=m.float64), 1),
    lambda m: m.dist(m.tensor([1, 2]), m.tensor([1, 3])),
    lambda m: m.std_mean(m.tensor([1, 2])), lambda m: m.var_mean(m.tensor([1, 2])),
    lambda m: m.std(m.tensor([1, 2])),
])
def test_integer_inputs_of_dist_and_the_moments_as_torch(call):
    """dist of an integer and a float tensor computes in the float type; integer inputs to
    var_mean/std_mean are refused in their own name."""
    outcomes = []
    for m in (gpugrad, torch):
        try:
            out = call(m)
            outcomes.append((str(out.dtype).split(".")[1], round(out.item(), 3)))
        except RuntimeError as e:
            outcomes.append(("RuntimeError", str(e)))
    assert outcomes[0] == outcomes[1]
