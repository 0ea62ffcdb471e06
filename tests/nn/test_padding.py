"""The padding modules and ``Conv1d``/``Conv2d``'s ``padding_mode`` against PyTorch (values,
gradients, reprs, errors); ``F.pad`` itself is in the op registry (opinfo/specs/nn_padding.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad import nn

KINDS = ["Zero", "Constant", "Reflection", "Replication", "Circular"]


def _pair(rng, shape, dtype=np.float64):
    a = rng.standard_normal(shape).astype(dtype)
    return gpugrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _check(ours, theirs, x, tx, rng, tol=1e-12):
    out, tout = ours(x), theirs(tx)
    assert tuple(out.shape) == tuple(tout.shape)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=tol, atol=tol)
    up = rng.standard_normal(tuple(tout.shape))
    (out * gpugrad.tensor(up.astype(out.detach().numpy().dtype))).sum().backward()
    (tout * torch.tensor(up, dtype=tout.dtype)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("padding", ["int", "tuple"])
def test_padding_module_matches_torch(kind, n, padding):
    rng = np.random.default_rng(n)
    pad = 2 if padding == "int" else tuple(int(v) for v in rng.integers(0, 3, 2 * n))
    args = (pad, 0.5) if kind == "Constant" else (pad,)
    ours = getattr(nn, f"{kind}Pad{n}d")(*args)
    theirs = getattr(torch.nn, f"{kind}Pad{n}d")(*args)
    assert repr(ours) == repr(theirs)
    x, tx = _pair(rng, (2, 3, 4, 5, 6)[-(n + 2):])
    _check(ours, theirs, x, tx, rng)


def test_padding_module_bad_padding():
    with pytest.raises(ValueError, match="tuple of 4"):
        nn.ReflectionPad2d((1, 2))


CONV_CASES = [
    (1, {"kernel_size": 3, "padding": 1}),
    (1, {"kernel_size": 4, "padding": "same", "dilation": 2}),
    (1, {"kernel_size": 3, "padding": 2, "stride": 2}),
    (2, {"kernel_size": 3, "padding": 1}),
    (2, {"kernel_size": (2, 3), "padding": (1, 2), "stride": (2, 1)}),
    (2, {"kernel_size": 4, "padding": "same"}),
    (2, {"kernel_size": 3, "padding": "valid"}),
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("dims,kw", CONV_CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_conv_padding_mode_matches_torch(mode, dims, kw, dtype):
    rng = np.random.default_rng(7)
    gpugrad.manual_seed(0)
    ours = getattr(nn, f"Conv{dims}d")(2, 3, padding_mode=mode, **kw)
    theirs = getattr(torch.nn, f"Conv{dims}d")(2, 3, padding_mode=mode, **kw)
    assert repr(ours) == repr(theirs)
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy())
                            for k, v in ours.state_dict().items()})
    if dtype == np.float32:
        ours, theirs = ours.float(), theirs.float()
    else:
        ours, theirs = ours.double(), theirs.double()
    x, tx = _pair(rng, (2, 2, 7) if dims == 1 else (2, 2, 6, 7), dtype)
    _check(ours, theirs, x, tx, rng, tol=1e-4 if dtype == np.float32 else 1e-10)
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        tol = 1e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=tol, atol=tol)


def test_conv_padding_mode_errors():
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(1, 1, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="strided convolutions"):
        nn.Conv1d(1, 1, 3, stride=2, padding="same", padding_mode="reflect")
    conv = nn.Conv2d(1, 1, 3, padding=3, padding_mode="reflect")
    with pytest.raises(RuntimeError, match="Padding size should be less"):
        conv(gpugrad.ones(1, 1, 3, 3))


def test_reflect_padded_conv_double_backward():
    conv = nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect").double()
    x = gpugrad.randn(1, 1, 4, 4, dtype=gpugrad.float64, requires_grad=True)
    assert gpugrad.autograd.gradcheck(conv, (x,))
    assert gpugrad.autograd.gradgradcheck(conv, (x,))
