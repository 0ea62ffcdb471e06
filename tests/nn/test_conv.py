"""conv2d, max_pool2d, avg_pool2d, unfold, fold and their modules against PyTorch (values and
gradients, float32 and float64, strides, padding, dilation, groups, non-contiguous and empty
batches), float64 gradcheck and gradgradcheck, errors, and a small CNN's training step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

F = gpugrad.nn.functional
TF = torch.nn.functional


def _run(fn_ours, fn_theirs, arrays, seed=0, tol=None):
    """Values and gradients of every input, ours against torch's, for a random upstream."""
    ours = [gpugrad.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_g, out_t = fn_ours(*ours), fn_theirs(*theirs)
    assert tuple(out_g.shape) == tuple(out_t.shape)
    dtype = arrays[0].dtype
    tol = tol or (2e-5 if dtype == np.float32 else 1e-11)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), rtol=tol,
                               atol=tol)
    upstream = np.random.default_rng(seed).standard_normal(tuple(out_t.shape)).astype(dtype)
    (out_g * gpugrad.tensor(upstream)).sum().backward()
    (out_t * torch.tensor(upstream)).sum().backward()
    for g, t in zip(ours, theirs):
        np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


def _rand(rng, *shape, dtype=np.float64):
    return rng.standard_normal(shape).astype(dtype)


CONV_CASES = [
    ((2, 3, 7, 6), (4, 3, 3, 2), {}),
    ((2, 3, 7, 6), (4, 3, 3, 3), {"stride": 2, "padding": 1}),
    ((1, 2, 9, 8), (3, 2, 2, 3), {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1)}),
    ((2, 4, 5, 5), (6, 2, 3, 3), {"groups": 2, "padding": 1}),
    ((2, 4, 5, 5), (4, 1, 3, 3), {"groups": 4}),  # depthwise
    ((2, 3, 6, 5), (2, 3, 4, 2), {"padding": "same"}),  # even kernel: extra pad at the end
    ((2, 3, 6, 5), (2, 3, 3, 3), {"padding": "valid"}),
    ((0, 3, 5, 5), (2, 3, 3, 3), {}),  # an empty batch
    ((3, 5, 5), (2, 3, 3, 3), {"padding": 1}),  # unbatched
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on even kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("x_shape,w_shape,kw", CONV_CASES)
def test_conv2d_matches_torch(x_shape, w_shape, kw, bias, dtype):
    rng = np.random.default_rng(1)
    arrays = [_rand(rng, *x_shape, dtype=dtype), _rand(rng, *w_shape, dtype=dtype)]
    if bias:
        arrays.append(_rand(rng, w_shape[0], dtype=dtype))
    _run(lambda *a: F.conv2d(*a, **kw), lambda *a: TF.conv2d(*a, **kw), arrays)


def test_conv2d_of_a_non_contiguous_input():
    rng = np.random.default_rng(2)
    x, w = _rand(rng, 2, 3, 6, 7), _rand(rng, 4, 3, 3, 3)
    _run(lambda x, w: F.conv2d(x.transpose(2, 3), w, padding=1),
         lambda x, w: TF.conv2d(x.transpose(2, 3), w, padding=1), [x, w])


POOL_CASES = [
    (2, {}), (3, {"stride": 2}), ((3, 2), {"stride": (1, 2), "padding": (1, 1)}),
    (2, {"stride": 1, "dilation": 2}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel,kw", POOL_CASES)
def test_max_pool2d_matches_torch_ties_included(kernel, kw, dtype):
    rng = np.random.default_rng(3)
    x = np.maximum(_rand(rng, 2, 3, 7, 6, dtype=dtype), 0)  # relu'd: windows of tied zeros
    x[0, 0, 1, 1] = np.nan  # a NaN is its windows' maximum
    _run(lambda x: F.max_pool2d(x, kernel, **kw), lambda x: TF.max_pool2d(x, kernel, **kw), [x])


AVG_CASES = [
    (2, {}), (3, {"stride": 2, "padding": 1}),
    (3, {"stride": 1, "padding": 1, "count_include_pad": False}),
    ((2, 3), {"padding": (1, 1), "divisor_override": 5}),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel,kw", AVG_CASES)
def test_avg_pool2d_matches_torch(kernel, kw, dtype):
    x = _rand(np.random.default_rng(4), 2, 3, 7, 6, dtype=dtype)
    _run(lambda x: F.avg_pool2d(x, kernel, **kw), lambda x: TF.avg_pool2d(x, kernel, **kw), [x])


@pytest.mark.parametrize("kw", [{"kernel_size": 2}, {"kernel_size": (2, 3), "stride": 2,
                                                      "padding": 1, "dilation": (1, 2)}])
def test_unfold_and_fold_match_torch(kw):
    rng = np.random.default_rng(5)
    x = _rand(rng, 2, 3, 6, 7)
    _run(lambda x: F.unfold(x, **kw), lambda x: TF.unfold(x, **kw), [x])
    cols = TF.unfold(torch.tensor(x), **kw).numpy()
    _run(lambda c: F.fold(c, (6, 7), **kw), lambda c: TF.fold(c, (6, 7), **kw), [cols])
    _run(lambda c: F.fold(c, (6, 7), **kw), lambda c: TF.fold(c, (6, 7), **kw), [cols[0]])


def test_gradcheck_and_gradgradcheck_float64():
    rng = np.random.default_rng(6)
    x = gpugrad.tensor(_rand(rng, 1, 2, 5, 4), requires_grad=True)
    w = gpugrad.tensor(_rand(rng, 3, 2, 2, 2), requires_grad=True)
    b = gpugrad.tensor(_rand(rng, 3), requires_grad=True)

    def conv(x, w, b):
        return F.conv2d(x, w, b, stride=(2, 1), padding=1)

    assert gpugrad.autograd.gradcheck(conv, (x, w, b))
    assert gpugrad.autograd.gradgradcheck(conv, (x, w, b))
    grouped = gpugrad.tensor(_rand(rng, 4, 1, 2, 2), requires_grad=True)
    assert gpugrad.autograd.gradcheck(lambda x, w: F.conv2d(x, w, groups=2), (x, grouped))
    assert gpugrad.autograd.gradcheck(lambda x: F.max_pool2d(x, 2, padding=1), (x,))
    assert gpugrad.autograd.gradgradcheck(lambda x: F.max_pool2d(x, (2, 3), 1, 1), (x,))
    assert gpugrad.autograd.gradcheck(
        lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False), (x,))
    assert gpugrad.autograd.gradgradcheck(lambda x: F.avg_pool2d(x, 2), (x,))


_INT_CONVS = {
    "conv1d": lambda m, d: m.nn.functional.conv1d(
        m.arange(10).reshape(1, 2, 5).to(d), (m.arange(18).reshape(3, 2, 3) % 4 - 1).to(d)),
    "conv1d-dilated": lambda m, d: m.nn.functional.conv1d(
        m.arange(10).reshape(1, 2, 5).to(d), m.ones(3, 2, 3, dtype=d), dilation=2),
    "conv2d-bias": lambda m, d: m.nn.functional.conv2d(
        m.arange(50).reshape(1, 2, 5, 5).to(d), (m.arange(54).reshape(3, 2, 3, 3) % 5 - 2).to(d),
        m.tensor([1, 2, 3]).to(d)),
    "conv2d-strided": lambda m, d: m.nn.functional.conv2d(
        m.arange(50).reshape(1, 2, 5, 5).to(d), m.ones(3, 2, 3, 3, dtype=d), stride=2, padding=1),
    "conv2d-groups": lambda m, d: m.nn.functional.conv2d(
        m.arange(50).reshape(2, 5, 5).to(d), m.ones(2, 1, 3, 3, dtype=d), groups=2),
    "conv2d-dilated": lambda m, d: m.nn.functional.conv2d(
        m.ones(1, 2, 5, 5, dtype=d), m.ones(3, 2, 3, 3, dtype=d), dilation=2),
    "conv2d-empty": lambda m, d: m.nn.functional.conv2d(
        m.ones(0, 2, 5, 5, dtype=d), m.ones(2, 2, 3, 3, dtype=d)),
    "conv3d": lambda m, d: m.nn.functional.conv3d(
        m.arange(128).reshape(1, 2, 4, 4, 4).to(d), m.ones(3, 2, 3, 3, 3, dtype=d)),
    "conv3d-dilated": lambda m, d: m.nn.functional.conv3d(
        m.ones(1, 2, 5, 5, 5, dtype=d), m.ones(3, 2, 3, 3, 3, dtype=d), dilation=2),
    "conv_transpose1d": lambda m, d: m.nn.functional.conv_transpose1d(
        m.arange(10).reshape(1, 2, 5).to(d), m.ones(2, 3, 3, dtype=d)),
    "conv_transpose2d": lambda m, d: m.nn.functional.conv_transpose2d(
        m.arange(50).reshape(1, 2, 5, 5).to(d), m.ones(2, 3, 3, 3, dtype=d), stride=2,
        output_padding=1),
    "conv_transpose3d": lambda m, d: m.nn.functional.conv_transpose3d(
        m.ones(1, 2, 4, 4, 4, dtype=d), m.ones(2, 3, 3, 3, 3, dtype=d)),
    "conv_transpose2d-empty": lambda m, d: m.nn.functional.conv_transpose2d(
        m.ones(0, 2, 5, 5, dtype=d), m.ones(2, 3, 3, 3, dtype=d)),
}


def _int_conv(m, name, dtype):
    try:
        out = _INT_CONVS[name](m, getattr(m, dtype))
    except NotImplementedError as e:
        return NotImplementedError, str(e)
    return str(out.dtype).split(".")[-1], tuple(out.shape), out.tolist()


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8", "bool"])
@pytest.mark.parametrize("name", _INT_CONVS)
def test_integer_convolutions_computed_or_refused_as_torch_on_the_cpu(name, dtype):
    """PyTorch's CPU kernels take every integer dtype but bool, undilated (int8/uint8 wrap
    around); dilated and transposed ones only int64; an empty input anything."""
    assert _int_conv(gpugrad, name, dtype) == _int_conv(torch, name, dtype)


def test_errors():
    x, w = gpugrad.randn(2, 4, 5, 5), gpugrad.randn(3, 3, 3, 3)
    with pytest.raises(RuntimeError, match="to have 3 channels, but got 4 channels instead"):
        F.conv2d(x, w)
    with pytest.raises(RuntimeError, match="Kernel size can't be greater than actual input"):
        F.conv2d(gpugrad.randn(1, 3, 2, 2), w)
    with pytest.raises(RuntimeError, match="expected weight to be divisible by 2 at dimension"):
        F.conv2d(x, gpugrad.randn(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="not supported for strided"):
        F.conv2d(gpugrad.randn(1, 3, 5, 5), w, stride=2, padding="same")
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        F.conv2d(gpugrad.randn(1, 3, 5, 5), w.double())
    with pytest.raises(RuntimeError, match="pad should be at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(RuntimeError, match="4-D"):
        F.max_pool2d(gpugrad.randn(4, 5), 2)
    with pytest.raises(ValueError, match="divisible by groups"):
        gpugrad.nn.Conv2d(3, 4, 3, groups=2)


def test_modules_match_torch_in_a_small_cnn_training_step():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 6, 3, groups=2, bias=False), torch.nn.ReLU(),
        torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(6, 3))
    ours = gpugrad.nn.Sequential(
        gpugrad.nn.Conv2d(1, 4, 3, padding=1), gpugrad.nn.ReLU(), gpugrad.nn.MaxPool2d(2),
        gpugrad.nn.Conv2d(4, 6, 3, groups=2, bias=False), gpugrad.nn.ReLU(),
        gpugrad.nn.AvgPool2d(2), gpugrad.nn.Flatten(), gpugrad.nn.Linear(6, 3))
    assert repr(ours) == repr(theirs).replace("torch.nn", "gpugrad.nn")
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert tuple(p.shape) == tuple(q.shape)
        p.data = gpugrad.tensor(q.detach().numpy())
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((5, 1, 10, 10)).astype(np.float32), rng.integers(0, 3, 5)
    loss_g = gpugrad.nn.functional.cross_entropy(ours(gpugrad.tensor(x)), gpugrad.tensor(y))
    loss_t = TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
    loss_g.backward(), loss_t.backward()
    np.testing.assert_allclose(loss_g.item(), loss_t.item(), rtol=1e-5)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_conv2d_initialization_bounds_as_torch():
    conv = gpugrad.nn.Conv2d(6, 8, (3, 2), groups=2)
    fan_in = 3 * 3 * 2
    assert tuple(conv.weight.shape) == (8, 3, 3, 2)
    weight, bias = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert np.abs(weight).max() <= 1 / np.sqrt(fan_in) + 1e-7
    assert np.abs(bias).max() <= 1 / np.sqrt(fan_in) + 1e-7
    assert weight.std() > 0.3 / np.sqrt(fan_in)  # not all zeros


CONV1D_CASES = [((2, 4, 9), (6, 4, 3), {}), ((2, 4, 9), (6, 4, 2), {"stride": 2, "padding": 1}),
                ((2, 4, 9), (6, 2, 3), {"dilation": 2, "groups": 2}),
                ((2, 4, 8), (3, 4, 4), {"padding": "same"}), ((4, 7), (2, 4, 3), {})]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape,w_shape,kw", CONV1D_CASES)
def test_conv1d_matches_torch(x_shape, w_shape, kw, dtype):
    rng = np.random.default_rng(8)
    arrays = [_rand(rng, *x_shape, dtype=dtype), _rand(rng, *w_shape, dtype=dtype),
              _rand(rng, w_shape[0], dtype=dtype)]
    _run(lambda *a: F.conv1d(*a, **kw), lambda *a: TF.conv1d(*a, **kw), arrays)


@pytest.mark.parametrize("name,args", [("max_pool1d", (3, 2, 1)), ("avg_pool1d", (3, 2, 1)),
                                       ("max_pool1d", (2,)), ("avg_pool1d", (4, 1, 2))])
def test_pool1d_matches_torch(name, args):
    x = np.maximum(_rand(np.random.default_rng(9), 2, 3, 11), 0)
    _run(lambda x: getattr(F, name)(x, *args), lambda x: getattr(TF, name)(x, *args), [x])


def test_1d_modules_match_torch():
    torch.manual_seed(1)
    theirs = torch.nn.Sequential(torch.nn.Conv1d(2, 4, 3, padding=1), torch.nn.ReLU(),
                                 torch.nn.MaxPool1d(2), torch.nn.Conv1d(4, 4, 3, groups=2),
                                 torch.nn.AvgPool1d(2))
    ours = gpugrad.nn.Sequential(gpugrad.nn.Conv1d(2, 4, 3, padding=1), gpugrad.nn.ReLU(),
                                 gpugrad.nn.MaxPool1d(2), gpugrad.nn.Conv1d(4, 4, 3, groups=2),
                                 gpugrad.nn.AvgPool1d(2))
    assert repr(ours) == repr(theirs)
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        p.data = gpugrad.tensor(q.detach().numpy())
    x = np.random.default_rng(10).standard_normal((3, 2, 12)).astype(np.float32)
    np.testing.assert_allclose(ours(gpugrad.tensor(x)).detach().numpy(),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_pool_unpool_modules_match_torch():
    """A pooling autoencoder's pieces: MaxPool2d(return_indices=True) and MaxUnpool2d, with
    ceil_mode pooling and its 1-D forms, as modules."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 3, 7, 6))
    x, tx = gpugrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    pool, tpool = gpugrad.nn.MaxPool2d(2, return_indices=True), torch.nn.MaxPool2d(
        2, return_indices=True)
    unpool, tunpool = gpugrad.nn.MaxUnpool2d(2), torch.nn.MaxUnpool2d(2)
    assert repr(unpool) == repr(tunpool)
    (v, i), (tv, ti) = pool(x), tpool(tx)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    out, tout = unpool(v, i, output_size=x.shape), tunpool(tv, ti, output_size=tx.shape)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    avg = gpugrad.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    tavg = torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    (out * 2 + avg(x).sum()).sum().backward()
    (tout * 2 + tavg(tx).sum()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    line = a[0]
    v1, i1 = gpugrad.nn.MaxPool1d(3, 2, ceil_mode=True, return_indices=True)(
        gpugrad.tensor(line))
    tv1, ti1 = torch.nn.MaxPool1d(3, 2, ceil_mode=True, return_indices=True)(torch.tensor(line))
    np.testing.assert_array_equal(i1.numpy(), ti1.numpy())
    np.testing.assert_array_equal(v1.numpy(), tv1.numpy())


def test_unpool_errors():
    v, i = F.max_pool2d(gpugrad.randn(1, 1, 4, 4), 2, return_indices=True)
    with pytest.raises(RuntimeError, match="shape of indices"):
        F.max_unpool2d(v, i[..., :1], 2)
    with pytest.raises(RuntimeError, match="int64"):
        F.max_unpool2d(v, i.int(), 2)
    with pytest.raises(RuntimeError, match="invalid max index"):
        F.max_unpool2d(v, i + 100, 2)


_SAME_PADDING_SCRIPT = """
import warnings
import {lib} as torch
F = torch.nn.functional
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    F.conv1d(torch.ones(1, 1, 5), torch.ones(1, 1, 3), padding="same")  # even total: silent
    F.conv1d(torch.ones(1, 1, 5), torch.ones(1, 1, 2), padding="same", dilation=2)
    print(len(caught))
    torch.nn.Conv2d(1, 1, 4, padding="same")(torch.ones(1, 1, 4, 4))
    F.conv1d(torch.ones(1, 1, 5), torch.ones(1, 1, 2), padding="same")
    print(len(caught), "zero-padded copy" in str(caught[-1].message))
"""


def test_uneven_same_padding_warns_once_a_process_as_torch():
    import subprocess
    import sys

    outputs = [subprocess.run([sys.executable, "-c", _SAME_PADDING_SCRIPT.format(lib=lib)],
                              capture_output=True, text=True, check=True).stdout.split()
               for lib in ("gpugrad", "torch")]
    assert outputs[0] == outputs[1] == ["0", "1", "True"]


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("padding_mode", ["zeros", "reflect"])
def test_conv_forward_with_a_given_weight_as_torch(dims, padding_mode):
    # what masked and weight-standardized conv subclasses call: the layer's convolution
    # (stride, padding, padding mode) with a transformed weight
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 2) + (6,) * dims)
    weight = rng.standard_normal((3, 2) + (3,) * dims)
    results = []
    for lib in (torch, gpugrad):
        conv = getattr(lib.nn, f"Conv{dims}d")(2, 3, 3, padding=1, padding_mode=padding_mode,
                                              bias=False, dtype=lib.float64)
        conv.load_state_dict({"weight": lib.tensor(weight)})
        xin = lib.tensor(x, requires_grad=True)
        out = conv._conv_forward(xin, conv.weight * 0.5, None)
        out.sum().backward()
        results.append((out.detach().numpy(), xin.grad.numpy(), conv.weight.grad.numpy()))
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", [
    ((1, 5, 9), (2, 4, 3), {}), ((1, 4, 2), (2, 4, 3), {}), ((1, 4, 1), (2, 4, 5), {"padding": 1}),
    ((1, 4, 2), (2, 4, 3), {"dilation": 2, "padding": 1}), ((5, 9), (2, 4, 3), {}),
    ((4, 2), (2, 4, 3), {"padding": "valid"}), ((1, 6, 9), (2, 4, 3), {"groups": 2}),
], ids=str)
def test_conv1d_errors_name_the_1d_shapes_as_torch(case):
    x, w, kw = case
    messages = []
    for lib in (torch, gpugrad):
        with pytest.raises(RuntimeError) as err:
            lib.nn.functional.conv1d(lib.zeros(*x), lib.zeros(*w), **kw)
        messages.append(str(err.value))
    assert messages[1] == messages[0]
