"""``nn.grad.convNd_input`` / ``convNd_weight`` against ``torch.nn.grad``'s: strides, padding,
dilation, groups, an input size the stride does not divide evenly, float64 and float32; their
results differentiable as PyTorch's; ``F.grad`` is ``nn.grad``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

# (dims, input shape, weight shape, stride, padding, dilation, groups)
CASES = {
    "1d": (1, (2, 4, 9), (6, 4, 3), 1, 0, 1, 1),
    "1d strided, padded, grouped": (1, (2, 4, 10), (6, 2, 3), 2, 1, 2, 2),
    "2d": (2, (2, 3, 7, 6), (4, 3, 3, 2), 1, 0, 1, 1),
    "2d strided (uneven), padded, dilated": (2, (1, 4, 8, 9), (6, 4, 3, 3), (2, 3), (1, 2),
                                             (2, 1), 1),
    "2d grouped": (2, (2, 4, 6, 6), (4, 2, 3, 3), 2, 1, 1, 2),
    "3d": (3, (1, 2, 5, 6, 4), (3, 2, 2, 3, 2), 1, 0, 1, 1),
    "3d strided, padded, grouped": (3, (2, 4, 6, 5, 7), (4, 2, 3, 2, 3), (2, 1, 2), 1, 1, 2),
}
TOLERANCES = {"float64": 1e-12, "float32": 2e-5}


def _arrays(case, seed=0):
    dims, input_shape, weight_shape, stride, padding, dilation, groups = CASES[case]
    conv = getattr(torch.nn.functional, f"conv{dims}d")
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(input_shape), rng.standard_normal(weight_shape)
    out_shape = conv(torch.tensor(x), torch.tensor(w), None, stride, padding, dilation,
                     groups).shape
    return x, w, rng.standard_normal(tuple(out_shape))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch(case, dtype):
    dims, input_shape, weight_shape, *geometry = CASES[case]
    x, w, g = _arrays(case)
    results = []
    for lib in (gpugrad, torch):
        as_tensor = {"dtype": getattr(lib, dtype)}
        grad = lib.nn.grad
        results.append([
            getattr(grad, f"conv{dims}d_input")(input_shape, lib.tensor(w, **as_tensor),
                                                lib.tensor(g, **as_tensor), *geometry),
            getattr(grad, f"conv{dims}d_weight")(lib.tensor(x, **as_tensor), weight_shape,
                                                 lib.tensor(g, **as_tensor), *geometry),
        ])
    for ours, theirs in zip(*results):
        assert ours.dtype == getattr(gpugrad, dtype) and ours.shape == theirs.shape
        assert not ours.requires_grad
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=TOLERANCES[dtype],
                                   rtol=TOLERANCES[dtype])


@pytest.mark.parametrize("case", ["1d strided, padded, grouped", "2d grouped", "3d"])
def test_keyword_arguments_and_sizes_as_lists(case):
    dims, input_shape, weight_shape, stride, padding, dilation, groups = CASES[case]
    x, w, g = _arrays(case, seed=1)
    kw = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    results = []
    for lib in (gpugrad, torch):
        grad = lib.nn.functional.grad
        results.append([
            getattr(grad, f"conv{dims}d_input")(list(input_shape), lib.tensor(w),
                                                lib.tensor(g), **kw),
            getattr(grad, f"conv{dims}d_weight")(lib.tensor(x), list(weight_shape),
                                                 lib.tensor(g), **kw),
        ])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=1e-12)


@pytest.mark.parametrize("case", ["1d strided, padded, grouped", "2d strided (uneven), padded, "
                                  "dilated", "3d"])
def test_results_are_differentiable(case):
    """Their gradients with respect to the given tensors (weight or input, and grad_output)
    match PyTorch's double backward."""
    dims, input_shape, weight_shape, *geometry = CASES[case]
    x, w, g = _arrays(case, seed=2)
    grads = []
    for lib in (gpugrad, torch):
        xt, wt, gt = (lib.tensor(a, requires_grad=True) for a in (x, w, g))
        grad = lib.nn.grad
        grad_input = getattr(grad, f"conv{dims}d_input")(input_shape, wt, gt, *geometry)
        grad_weight = getattr(grad, f"conv{dims}d_weight")(xt, weight_shape, gt, *geometry)
        (grad_input.pow(2).sum() + grad_weight.pow(3).sum()).backward()
        grads.append([t.grad.numpy() for t in (xt, wt, gt)])
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, atol=1e-10, rtol=1e-10)


def test_grad_output_of_another_shape_fails():
    w, g = gpugrad.randn(4, 3, 3, 3), gpugrad.randn(2, 4, 5, 5)
    with pytest.raises(RuntimeError):
        gpugrad.nn.grad.conv2d_input((2, 3, 8, 8), w, g)
    with pytest.raises(RuntimeError):
        gpugrad.nn.grad.conv2d_weight(gpugrad.randn(2, 3, 8, 8), (4, 3, 3, 3), g)
