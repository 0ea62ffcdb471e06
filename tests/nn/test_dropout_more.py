"""The channel-wise and alpha dropouts against PyTorch's: reprs, argument errors and warnings,
train/eval behaviour, and (their random streams differ) the structure and statistics of the
masks: whole channels dropped at rate p, the scaling, alpha dropout's kept mean and variance,
and gradients equal to the scaled mask. Exact values are compared in the op registry."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import gpugrad

F = gpugrad.nn.functional
TF = torch.nn.functional
SATURATION = 1.7580993408473766
MODULES = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
           "FeatureAlphaDropout"]


@pytest.mark.parametrize("name", MODULES)
def test_module_reprs_defaults_and_errors_as_torch(name):
    for args in ((), (0.2,), (0.3, True)):
        assert repr(getattr(gpugrad.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
    for lib in (gpugrad, torch):
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, "
                                             "but got 1.5"):
            getattr(lib.nn, name)(1.5)


@pytest.mark.parametrize("name,shape", [("dropout1d", (64, 32, 3)), ("dropout1d", (512, 4)),
                                        ("dropout2d", (64, 32, 2, 3)),
                                        ("dropout3d", (64, 32, 2, 1, 2)),
                                        ("dropout3d", (512, 2, 2, 3))])
@pytest.mark.parametrize("p", [0.25, 0.6])
def test_channel_dropout_drops_whole_channels_at_rate_p(name, shape, p):
    x = gpugrad.randn(*shape, requires_grad=True)
    out = getattr(F, name)(x, p)
    out.sum().backward()
    scale = np.where(out.detach().numpy() == 0, 0.0, 1 / (1 - p))
    np.testing.assert_allclose(out.detach().numpy(), x.detach().numpy() * scale, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), scale, rtol=1e-6)  # the gradient is the mask
    lead = 2 if len(shape) == {"dropout1d": 3, "dropout2d": 4, "dropout3d": 5}[name] else 1
    per_channel = scale.reshape(*shape[:lead], -1)
    assert (per_channel == per_channel[..., :1]).all()  # a channel is kept or dropped whole
    dropped = (per_channel[..., 0] == 0).mean()
    theirs = (getattr(TF, name)(torch.ones(shape), p) == 0).float().mean().item()
    assert abs(dropped - p) < 0.06 and abs(theirs - p) < 0.06


def test_eval_mode_and_training_false_are_the_identity():
    x = gpugrad.randn(2, 3, 4, 4)
    for name in MODULES:
        module = getattr(gpugrad.nn, name)(0.5).eval()
        given = x[0] if name == "Dropout1d" else x
        np.testing.assert_array_equal(module(given).numpy(), given.numpy())
    for fn in (F.alpha_dropout, F.feature_alpha_dropout):  # training defaults to False
        assert fn(x, 0.5) is x and fn(x, 0.0, True) is x


@pytest.mark.parametrize("feature", [False, True])
@pytest.mark.parametrize("p", [0.2, 0.5])
def test_alpha_dropout_keeps_mean_and_variance_and_its_structure(feature, p):
    gpugrad.manual_seed(0)
    shape = (400, 500, 1) if feature else (200000,)
    x = gpugrad.randn(*shape, dtype=gpugrad.float64, requires_grad=True)
    fn = F.feature_alpha_dropout if feature else F.alpha_dropout
    out = fn(x, p, True)
    out.sum().backward()
    a = 1 / math.sqrt((SATURATION ** 2 * p + 1) * (1 - p))
    kept = x.grad.numpy() != 0  # the gradient is a on kept values, 0 on dropped ones
    np.testing.assert_allclose(x.grad.numpy()[kept], a)
    values = out.detach().numpy()
    np.testing.assert_allclose(values[~kept], SATURATION * a * (p - 1))
    np.testing.assert_allclose(values[kept], x.detach().numpy()[kept] * a
                               + SATURATION * a * p, rtol=1e-12)
    theirs = (TF.feature_alpha_dropout if feature else TF.alpha_dropout)(
        torch.randn(shape, dtype=torch.float64), p, True)
    for stats in (values, theirs.numpy()):
        assert abs(stats.mean()) < 0.02 and abs(stats.std() - 1) < 0.02
    assert abs((~kept).mean() - p) < 0.01


def _warnings_of(fn, *args):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(*args)
    return [str(w.message) for w in caught], [w.filename for w in caught]


@pytest.mark.parametrize("name,shape", [("dropout2d", (2, 3, 4)), ("dropout2d", (3, 4)),
                                        ("dropout2d", (2, 3, 4, 5, 2)),
                                        ("dropout3d", (2, 3, 4)), ("dropout2d", (2, 3, 4, 4))])
def test_warnings_as_torch(name, shape):
    ours, files = _warnings_of(getattr(F, name), gpugrad.ones(*shape), 0.5)
    theirs, _ = _warnings_of(getattr(TF, name), torch.ones(shape), 0.5)
    assert ours == theirs
    assert all(f == __file__ for f in files)  # attributed to the caller's line


def test_input_errors_as_torch():
    for lib, fn in ((gpugrad, F), (torch, TF)):
        with pytest.raises(RuntimeError, match="dropout1d: Expected 2D or 3D input, but "
                                               "received a 4D input"):
            fn.dropout1d(lib.ones(1, 2, 3, 4))
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
            fn.feature_alpha_dropout(lib.ones(4), 0.5, True)
        with pytest.raises(ValueError, match="dropout probability"):
            fn.alpha_dropout(lib.ones(4), -0.1)


@pytest.mark.parametrize("name,shape", [("dropout1d", (3, 6)), ("dropout2d", (2, 3, 4, 4)),
                                        ("dropout3d", (3, 2, 2, 2)),
                                        ("feature_alpha_dropout", (2, 3, 4))])
def test_inplace_writes_into_the_input(name, shape):
    x = gpugrad.randn(*shape)
    before = x.numpy().copy()
    out = getattr(F, name)(x, 0.5, True, True)
    np.testing.assert_array_equal(x.numpy(), out.numpy())
    assert not np.array_equal(x.numpy(), before)
