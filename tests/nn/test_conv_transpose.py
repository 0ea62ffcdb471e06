"""ConvTranspose1d/2d and their lazy forms against PyTorch's: reprs, initialization, outputs
and gradients (with ``output_size``), argument errors, and a small generator's training step
(the functionals are checked through the op registry)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_same_run, module_pair


@pytest.mark.parametrize("name,args,kwargs,shape,output_size", [
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1,
                                    "groups": 2, "dilation": 2, "bias": False}, (2, 4, 3, 4),
     None),
    ("ConvTranspose2d", (3, 2, (2, 3)), {"stride": (2, 3)}, (2, 3, 3, 3), [7, 9]),
    ("ConvTranspose2d", (3, 2, 3), {"stride": 3, "padding": 1}, (3, 4, 4), [2, 11, 12]),
    ("ConvTranspose1d", (4, 2, 3), {"stride": 2, "groups": 2}, (2, 4, 5), [2, 2, 12]),
    ("ConvTranspose1d", (2, 3, 2), {"dilation": 2}, (2, 6), None),
])
def test_modules_match_torch(name, args, kwargs, shape, output_size):
    ours, theirs = module_pair(name, *args, **kwargs)
    x = np.random.default_rng(0).standard_normal(shape)
    assert_same_run(ours, theirs, [x] if output_size is None else [x, output_size])


def test_initialization_bounds_as_torch():
    conv = gpugrad.nn.ConvTranspose2d(6, 8, (3, 2), groups=2)
    fan_in = 4 * 3 * 2  # weight.shape[1] * kernel, as PyTorch computes it for transposed ones
    assert tuple(conv.weight.shape) == (6, 4, 3, 2)
    weight, bias = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert np.abs(weight).max() <= 1 / np.sqrt(fan_in) + 1e-7
    assert np.abs(bias).max() <= 1 / np.sqrt(fan_in) + 1e-7
    assert weight.std() > 0.3 / np.sqrt(fan_in)


def test_argument_errors_as_torch():
    for lib in (gpugrad, torch):
        m = lib.nn
        with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for '
                                             "ConvTranspose2d"):
            m.ConvTranspose2d(2, 2, 3, padding_mode="reflect")
        with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
            m.ConvTranspose2d(4, 6, 3, groups=4)
        with pytest.raises(ValueError, match="groups must be a positive integer"):
            m.ConvTranspose1d(4, 6, 3, groups=0)
        conv = m.ConvTranspose2d(2, 3, 3, stride=2)
        x = lib.ones(1, 2, 3, 3)
        with pytest.raises(ValueError, match=r"requested an output size of \[9, 8\], but "
                                             r"valid sizes range from \[7, 7\] to \[8, 8\]"):
            conv(x, output_size=[9, 8])
        with pytest.raises(ValueError, match="for 4D input, output_size must have 2 or 4 "
                                             r"elements \(got 1\)"):
            conv(x, output_size=[8])


@pytest.mark.parametrize("dims", [1, 2])
def test_lazy_modules_become_transposed_convolutions(dims):
    lazy = getattr(gpugrad.nn, f"LazyConvTranspose{dims}d")(4, 3, stride=2, groups=2)
    theirs = getattr(torch.nn, f"LazyConvTranspose{dims}d")(4, 3, stride=2, groups=2)
    assert repr(lazy) == repr(theirs)
    shape = (2, 6, 5, 4)[:dims + 2]
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    out, expected = lazy(gpugrad.tensor(x)), theirs(torch.tensor(x))
    assert type(lazy) is getattr(gpugrad.nn, f"ConvTranspose{dims}d")
    assert repr(lazy) == repr(theirs)
    assert tuple(lazy.weight.shape) == tuple(theirs.weight.shape) == (6, 2, *(3,) * dims)
    assert tuple(out.shape) == tuple(expected.shape)


def test_a_small_generator_trains_as_torch():
    """A DCGAN-style generator step: ConvTranspose2d, BatchNorm2d, ReLU, Tanh."""
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.ConvTranspose2d(8, 6, 4, 1, 0, bias=False), torch.nn.BatchNorm2d(6),
        torch.nn.ReLU(), torch.nn.ConvTranspose2d(6, 3, 4, 2, 1, bias=False), torch.nn.Tanh())
    ours = gpugrad.nn.Sequential(
        gpugrad.nn.ConvTranspose2d(8, 6, 4, 1, 0, bias=False), gpugrad.nn.BatchNorm2d(6),
        gpugrad.nn.ReLU(), gpugrad.nn.ConvTranspose2d(6, 3, 4, 2, 1, bias=False),
        gpugrad.nn.Tanh())
    assert repr(ours) == repr(theirs)
    ours.load_state_dict({k: gpugrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    z = np.random.default_rng(2).standard_normal((5, 8, 1, 1)).astype(np.float32)
    out_g, out_t = ours(gpugrad.tensor(z)), theirs(torch.tensor(z))
    assert tuple(out_g.shape) == (5, 3, 8, 8)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), atol=1e-5)
    (out_g ** 2).mean().backward()
    (out_t ** 2).mean().backward()
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-6)
