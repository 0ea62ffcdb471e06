"""The 3-D layers against PyTorch's: signatures and defaults, module reprs, every padding_mode
of ``Conv3d``, ``ConvTranspose3d``'s ``output_size``, a pooling autoencoder's pieces, and a small
3-D CNN's training step (values and gradients; the registry specs cover the functionals'
float64/float32, non-contiguous, empty-batch and unbatched cases)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

import gpugrad

NAMES_NN = ["Conv3d", "LazyConv3d", "ConvTranspose3d", "LazyConvTranspose3d", "MaxPool3d",
            "AvgPool3d", "MaxUnpool3d", "AdaptiveAvgPool3d", "AdaptiveMaxPool3d"]


def _params(fn):
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]


_KEYWORD_CALLS = {  # every argument by PyTorch's name, in PyTorch's order
    "conv3d": lambda m, x, w: m.nn.functional.conv3d(
        input=x, weight=w[:3, :2], bias=None, stride=1, padding=1, dilation=1, groups=1),
    "conv_transpose3d": lambda m, x, w: m.nn.functional.conv_transpose3d(
        input=x, weight=w[:2], bias=None, stride=2, padding=0, output_padding=1, groups=1,
        dilation=1),
    "max_pool3d": lambda m, x, w: m.nn.functional.max_pool3d(
        input=x, kernel_size=2, stride=1, padding=1, dilation=1, ceil_mode=True,
        return_indices=False),
    "avg_pool3d": lambda m, x, w: m.nn.functional.avg_pool3d(
        input=x, kernel_size=2, stride=1, padding=1, ceil_mode=True, count_include_pad=False,
        divisor_override=None),
    "adaptive_max_pool3d": lambda m, x, w: m.nn.functional.adaptive_max_pool3d(
        input=x, output_size=2, return_indices=False),
    "adaptive_avg_pool3d": lambda m, x, w: m.nn.functional.adaptive_avg_pool3d(
        input=x, output_size=2),
}


@pytest.mark.parametrize("name", list(_KEYWORD_CALLS))
def test_functionals_take_torchs_keywords(name):
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 3, 4, 3)), rng.standard_normal((3, 3, 2, 2, 2))
    out = _KEYWORD_CALLS[name](gpugrad, gpugrad.tensor(x), gpugrad.tensor(w))
    tout = _KEYWORD_CALLS[name](torch, torch.tensor(x), torch.tensor(w))
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-12, atol=1e-12)


def test_unpool_signature_as_torch():
    F, TF = gpugrad.nn.functional, torch.nn.functional
    assert _params(F.max_unpool3d) == _params(TF.max_unpool3d)
    assert _params(F.adaptive_avg_pool3d) == _params(TF.adaptive_avg_pool3d)


@pytest.mark.parametrize("name", NAMES_NN)
def test_module_signatures_as_torch(name):
    assert _params(getattr(gpugrad.nn, name)) == _params(getattr(torch.nn, name))
    assert name in gpugrad.nn.__all__


def _copy_params(ours, theirs):
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        p.data = gpugrad.tensor(q.detach().numpy())


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv3d_padding_modes_match_torch(mode):
    torch.manual_seed(0)
    theirs = torch.nn.Conv3d(2, 4, (2, 3, 2), padding=(1, 1, 0), padding_mode=mode,
                             groups=2).double()
    ours = gpugrad.nn.Conv3d(2, 4, (2, 3, 2), padding=(1, 1, 0), padding_mode=mode, groups=2,
                             dtype=gpugrad.float64)
    assert repr(ours) == repr(theirs)
    _copy_params(ours, theirs)
    a = np.random.default_rng(1).standard_normal((2, 2, 3, 4, 3))
    x, tx = gpugrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours(x).square().sum().backward()
    theirs(tx).square().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                               rtol=1e-10)


def test_conv_transpose3d_output_size_and_reprs_as_torch():
    torch.manual_seed(0)
    theirs = torch.nn.ConvTranspose3d(3, 2, (2, 3, 2), stride=(2, 1, 3), padding=(0, 1, 1),
                                      dilation=(1, 2, 1), bias=False)
    ours = gpugrad.nn.ConvTranspose3d(3, 2, (2, 3, 2), stride=(2, 1, 3), padding=(0, 1, 1),
                                      dilation=(1, 2, 1), bias=False)
    assert repr(ours) == repr(theirs)
    _copy_params(ours, theirs)
    a = np.random.default_rng(2).standard_normal((3, 2, 3, 2)).astype(np.float32)  # unbatched
    size = (5, 5, 4)
    out, tout = ours(gpugrad.tensor(a), output_size=size), theirs(torch.tensor(a),
                                                                   output_size=size)
    assert tuple(out.shape) == tuple(tout.shape) == (2, 5, 5, 4)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    for m, tm in [(gpugrad.nn.MaxPool3d((2, 1, 2), dilation=2, ceil_mode=True),
                   torch.nn.MaxPool3d((2, 1, 2), dilation=2, ceil_mode=True)),
                  (gpugrad.nn.AvgPool3d(2, 1, 1, divisor_override=3),
                   torch.nn.AvgPool3d(2, 1, 1, divisor_override=3)),
                  (gpugrad.nn.MaxUnpool3d((1, 2, 2), padding=1),
                   torch.nn.MaxUnpool3d((1, 2, 2), padding=1)),
                  (gpugrad.nn.AdaptiveAvgPool3d((None, 2, 3)),
                   torch.nn.AdaptiveAvgPool3d((None, 2, 3))),
                  (gpugrad.nn.AdaptiveMaxPool3d(2, True), torch.nn.AdaptiveMaxPool3d(2, True)),
                  (gpugrad.nn.LazyConv3d(3, 2), torch.nn.LazyConv3d(3, 2))]:
        assert repr(m) == repr(tm)


def test_pool_unpool3d_modules_match_torch():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 2, 5, 4, 6))
    x, tx = gpugrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    pool = gpugrad.nn.MaxPool3d(2, return_indices=True)
    tpool = torch.nn.MaxPool3d(2, return_indices=True)
    (v, i), (tv, ti) = pool(x), tpool(tx)
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    out = gpugrad.nn.MaxUnpool3d(2)(v, i, output_size=x.shape)
    tout = torch.nn.MaxUnpool3d(2)(tv, ti, output_size=tx.shape)
    np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy())
    avg = gpugrad.nn.AvgPool3d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    tavg = torch.nn.AvgPool3d(3, 2, 1, ceil_mode=True, count_include_pad=False)
    (out * 2 + avg(x).sum()).sum().backward()
    (tout * 2 + tavg(tx).sum()).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_small_3d_cnn_training_step_matches_torch():
    def net(nn):
        return nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool3d(2),
                             nn.ConvTranspose3d(4, 3, 2, stride=2), nn.AvgPool3d(2),
                             nn.AdaptiveMaxPool3d((1, 2, 2)), nn.AdaptiveAvgPool3d(1),
                             nn.Flatten(), nn.Linear(3, 2))

    torch.manual_seed(3)
    theirs, ours = net(torch.nn), net(gpugrad.nn)
    assert repr(ours) == repr(theirs)
    _copy_params(ours, theirs)
    a = np.random.default_rng(4).standard_normal((2, 2, 4, 6, 4)).astype(np.float32)
    ours(gpugrad.tensor(a)).square().sum().backward()
    theirs(torch.tensor(a)).square().sum().backward()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_errors_as_torch():
    F = gpugrad.nn.functional
    with pytest.raises(RuntimeError, match="expected a 5-D"):
        F.max_pool3d(gpugrad.ones(4, 4), 2)
    with pytest.raises(RuntimeError, match="Kernel size can't be greater"):
        F.avg_pool3d(gpugrad.ones(1, 1, 1, 4, 4), 2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided"):
        gpugrad.nn.Conv3d(1, 1, 3, stride=(1, 2, 1), padding="same")
    with pytest.raises(TypeError, match="3-tuple"):
        F.conv3d(gpugrad.ones(1, 1, 3, 3, 3), gpugrad.ones(1, 1, 2, 2, 2), stride=(1, 1))
