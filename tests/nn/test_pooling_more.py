"""The power-average and fractional max pooling modules, ``CrossMapLRN2d`` and ``NLLLoss2d``
against PyTorch's (the functionals are checked through the op registry)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.autograd import gradcheck, gradgradcheck

from ._compare import assert_same_run, module_pair


@pytest.mark.parametrize("name,args,shape", [
    ("LPPool1d", (2, 3, 2), (2, 3, 9)),
    ("LPPool2d", (1.5, (2, 3)), (2, 3, 6, 7)),
    ("LPPool2d", (float("inf"), 2, 1), (3, 5, 5)),
    ("LPPool3d", (2, 2), (2, 2, 4, 4, 5)),
])
def test_lp_pool_modules_match_torch(name, args, shape):
    ours, theirs = module_pair(name, *args)
    x = np.random.default_rng(0).permutation(int(np.prod(shape))).reshape(shape) * 0.1 + 0.05
    assert_same_run(ours, theirs, [x])


def test_lp_pool_ceil_mode_repr():
    assert repr(gpugrad.nn.LPPool1d(2, 3, 2, True)) == repr(torch.nn.LPPool1d(2, 3, 2, True))


@pytest.mark.parametrize("dims", [2, 3])
def test_fractional_modules_match_torch_with_fixed_samples(dims):
    name = f"FractionalMaxPool{dims}d"
    shape = (2, 3, 9, 8, 7)[:dims + 2]
    rng = np.random.default_rng(1)
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1
    samples = rng.random((2, 3, dims))
    ours = getattr(gpugrad.nn, name)(2, output_ratio=0.5, return_indices=True,
                                     _random_samples=gpugrad.tensor(samples))
    theirs = getattr(torch.nn, name)(2, output_ratio=0.5, return_indices=True,
                                     _random_samples=torch.tensor(samples))
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["_random_samples"]
    xg, xt = gpugrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (v, i), (tv, ti) = ours(xg), theirs(xt)
    np.testing.assert_array_equal(v.detach().numpy(), tv.detach().numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    up = rng.standard_normal(tuple(tv.shape))
    v.backward(gpugrad.tensor(up))
    tv.backward(torch.tensor(up))
    np.testing.assert_array_equal(xg.grad.numpy(), xt.grad.numpy())


def test_fractional_without_samples_draws_from_the_default_generator():
    x = gpugrad.randn(2, 3, 10, 10)
    pool = gpugrad.nn.FractionalMaxPool2d(3, output_size=4)
    gpugrad.manual_seed(5)
    first = pool(x)
    gpugrad.manual_seed(5)
    np.testing.assert_array_equal(pool(x).numpy(), first.numpy())
    gpugrad.manual_seed(5)
    samples = gpugrad.rand(2, 3, 2)
    again = gpugrad.nn.functional.fractional_max_pool2d(x, 3, 4, _random_samples=samples)
    np.testing.assert_array_equal(again.numpy(), first.numpy())
    assert pool(gpugrad.randn(3, 10, 10)).shape == (3, 4, 4)  # unbatched: one sample row


def test_fractional_float32_and_nan_windows_match_torch():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 8, 8)).astype(np.float32)
    x[0, 0, 1, 1] = x[0, 0, 2, 3] = np.nan  # the last NaN of a window is its maximum
    x[0, 1] = 1.0  # ties: the first position
    samples = rng.random((1, 2, 2)).astype(np.float32)
    ours = gpugrad.nn.functional.fractional_max_pool2d(
        gpugrad.tensor(x), 3, 3, return_indices=True, _random_samples=gpugrad.tensor(samples))
    theirs = torch.nn.functional.fractional_max_pool2d(
        torch.tensor(x), 3, 3, return_indices=True, _random_samples=torch.tensor(samples))
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())


@pytest.mark.parametrize("kwargs,match", [
    ({}, "either an output size, or a pooling ratio"),
    ({"output_size": 3, "output_ratio": 0.5}, "only one of"),
    ({"output_ratio": (0.5, 1.0)}, "between 0 and 1"),
    ({"output_ratio": 0.0}, "between 0 and 1"),
])
def test_fractional_module_errors_as_torch(kwargs, match):
    for lib in (gpugrad, torch):
        with pytest.raises(ValueError, match=match):
            lib.nn.FractionalMaxPool2d(2, **kwargs)
    with pytest.raises(ValueError, match="kernel_size must be greater than 0"):
        gpugrad.nn.FractionalMaxPool3d(0, output_ratio=0.5)


def test_fractional_2d_functional_ratio_must_be_a_sequence_as_torch():
    for lib in (gpugrad, torch):
        with pytest.raises(TypeError):
            lib.nn.functional.fractional_max_pool2d(lib.ones(1, 1, 8, 8), 2, output_ratio=0.5)


def test_fractional_samples_that_require_grad_are_refused():
    s = gpugrad.rand(1, 1, 2, requires_grad=True)
    with pytest.raises(RuntimeError, match="not differentiable with respect to argument"):
        gpugrad.nn.functional.fractional_max_pool2d(gpugrad.ones(1, 1, 8, 8), 2, 3,
                                                    _random_samples=s)


@pytest.mark.parametrize("size,channels", [(1, 4), (2, 5), (3, 1), (3, 7), (5, 9), (6, 4)])
def test_cross_map_lrn2d_values_match_torch(size, channels):
    ours, theirs = module_pair("CrossMapLRN2d", size, 0.5, 0.75, 2.0)
    x = np.random.default_rng(size).standard_normal((2, channels, 3, 4))
    for dtype in (np.float64, np.float32):
        got = ours(gpugrad.tensor(x.astype(dtype)))
        want = theirs.float()(torch.tensor(x.astype(dtype))) if dtype == np.float32 else \
            theirs.double()(torch.tensor(x))
        assert got.dtype.name == str(want.dtype).removeprefix("torch.")
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-7)


def test_cross_map_lrn2d_gradient_is_the_exact_one():
    # (PyTorch's hand-written backward does not match its forward: compared with finite
    # differences, not with it)
    layer = gpugrad.nn.CrossMapLRN2d(3, 0.5, 0.75, 1.0)
    x = gpugrad.tensor(np.random.default_rng(3).standard_normal((2, 6, 2, 3)),
                       requires_grad=True)
    assert gradcheck(layer, (x,))
    assert gradgradcheck(layer, (x,))
    strided = gpugrad.tensor(np.random.default_rng(4).standard_normal((2, 3, 4, 6)))[..., ::2]
    np.testing.assert_allclose(layer(strided).numpy(),
                               torch.nn.CrossMapLRN2d(3, 0.5, 0.75, 1.0)(
                                   torch.tensor(strided.numpy())).numpy(), rtol=1e-12)
    empty = layer(gpugrad.zeros(0, 3, 2, 2))
    assert empty.shape == (0, 3, 2, 2)


def test_cross_map_lrn2d_refuses_non_4d():
    for lib in (gpugrad, torch):
        with pytest.raises(ValueError, match="Expected input to be 4D, got 3D"):
            lib.nn.CrossMapLRN2d(3)(lib.ones(3, 4, 4))


def test_nll_loss2d_is_a_deprecated_nll_loss():
    with pytest.warns(FutureWarning, match="NLLLoss2d` has been deprecated"):
        ours = gpugrad.nn.NLLLoss2d(ignore_index=1, reduction="sum")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = torch.nn.NLLLoss2d(ignore_index=1, reduction="sum")
    assert isinstance(ours, gpugrad.nn.NLLLoss) and repr(ours) == repr(theirs)
    rng = np.random.default_rng(5)
    logp = np.log(rng.dirichlet(np.ones(4), size=(2, 3, 3))).transpose(0, 3, 1, 2).copy()
    target = rng.integers(0, 4, (2, 3, 3))
    assert_same_run(ours, theirs, [logp, target])


def test_top_level_pooling_spellings_take_torchs_arguments():
    x = np.random.default_rng(6).standard_normal((2, 3, 8))
    xg, xt = gpugrad.tensor(x), torch.tensor(x)
    for name in ("max_pool1d", "avg_pool1d"):
        got = getattr(gpugrad, name)(xg, 3, [], 1, ceil_mode=True)
        want = getattr(torch, name)(xt, 3, [], 1, ceil_mode=True)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    with pytest.raises(TypeError):
        gpugrad.max_pool2d(xg[None], 2, return_indices=True)  # as torch.max_pool2d
    values, indices = gpugrad.adaptive_max_pool1d(xg, 3)
    assert indices.dtype == gpugrad.int64


POOLS = ["max_pool1d(x3, 2)", "max_pool2d(x4, 2)", "max_pool3d(x5, 2)", "avg_pool1d(x3, 2)",
         "avg_pool2d(x4, 2)", "avg_pool3d(x5, 2)", "adaptive_max_pool1d(x3, 2)",
         "adaptive_max_pool2d(x4, 2)", "adaptive_avg_pool2d(x4, 2)", "adaptive_max_pool3d(x5, 2)",
         "lp_pool2d(x4, 2, 2)", "max_pool2d(x4, 2, return_indices=True)[1]",
         "avg_pool2d(-x4, 3, padding=1, count_include_pad=False)",
         "avg_pool2d(-x4, 2, divisor_override=3)", "max_pool2d(-x4, 3, stride=2, padding=1)"]


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
@pytest.mark.parametrize("call", POOLS)
def test_pooling_integers_as_torch(call, dtype):
    """Max pooling takes every integer dtype, average pooling int64 (truncated), the rest
    PyTorch's NotImplementedError naming its kernel."""
    if dtype in ("uint8", "bool") and call.startswith(("avg_pool2d(-", "max_pool2d(-")):
        return  # (no negation of those dtypes in either library)
    seen = []
    for L in (torch, gpugrad):
        d = getattr(L, dtype)
        env = {"F": L.nn.functional, "x3": L.arange(16).reshape(1, 1, 16).to(d),
               "x4": L.arange(16).reshape(1, 1, 4, 4).to(d),
               "x5": L.arange(64).reshape(1, 1, 4, 4, 4).to(d)}
        try:
            out = eval("F." + call, env)
            seen.append((out.tolist(), str(out.dtype).split(".")[1]))
        except NotImplementedError as err:
            seen.append(str(err))
    if isinstance(seen[0], tuple) and seen[0][1].startswith("float"):  # (lp_pool: a float root)
        np.testing.assert_allclose(seen[1][0], seen[0][0], rtol=1e-6)
        assert seen[1][1] == seen[0][1]
    else:
        assert seen[1] == seen[0]
