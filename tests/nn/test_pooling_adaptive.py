"""The adaptive pooling modules against PyTorch's: reprs, outputs, indices and gradients (the
functionals are checked through the op registry), and their dtype under autocast."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_same_run, module_pair


@pytest.mark.parametrize("name,args,shape", [
    ("AdaptiveAvgPool2d", ((1, 1),), (2, 3, 5, 4)),
    ("AdaptiveAvgPool2d", ((3, None),), (2, 3, 7, 4)),
    ("AdaptiveAvgPool2d", (4,), (3, 6, 6)),
    ("AdaptiveAvgPool1d", (3,), (2, 3, 8)),
    ("AdaptiveMaxPool2d", ((2, 3),), (2, 3, 5, 7)),
    ("AdaptiveMaxPool1d", (4,), (3, 9)),
])
def test_modules_match_torch(name, args, shape):
    ours, theirs = module_pair(name, *args)
    x = np.random.default_rng(0).permutation(int(np.prod(shape))).reshape(shape) * 0.1
    assert_same_run(ours, theirs, [x])


@pytest.mark.parametrize("dims", [1, 2])
def test_max_modules_return_indices_as_torch(dims):
    name = f"AdaptiveMaxPool{dims}d"
    ours, theirs = getattr(gpugrad.nn, name)(3, True), getattr(torch.nn, name)(3, True)
    assert repr(ours) == repr(theirs)
    shape = (2, 4, 7, 5)[:dims + 2]
    x = np.random.default_rng(1).standard_normal(shape)
    (v, i), (tv, ti) = ours(gpugrad.tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_array_equal(v.numpy(), tv.numpy())
    np.testing.assert_array_equal(i.numpy(), ti.numpy())
    assert i.dtype == gpugrad.int64


def test_global_average_pooling_keeps_the_dtype_under_autocast():
    x = np.random.default_rng(2).standard_normal((2, 3, 5, 5)).astype(np.float32)
    for size in ((1, 1), (2, 3)):
        with gpugrad.autocast("cpu"):
            ours = gpugrad.nn.AdaptiveAvgPool2d(size)(gpugrad.tensor(x))
        with torch.autocast("cpu"):
            theirs = torch.nn.AdaptiveAvgPool2d(size)(torch.tensor(x))
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
