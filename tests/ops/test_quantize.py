"""Fake quantization against torch, bit for bit: values (float32, float64, float16, a
non-contiguous and a zero-size input, per tensor and per channel along each dim), the
straight-through gradient where the code was not clamped, node names and PyTorch's errors. (No
finite-difference check: the function is piecewise constant; its gradient is by definition the
estimator, as PyTorch's.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

RNG = np.random.default_rng(0)
VALUES = (RNG.standard_normal((4, 6)) * 3).astype(np.float32)


def _inputs(L, dtype: str, layout: str):
    x = L.from_numpy(VALUES.copy()).to(getattr(L, dtype))
    if layout == "transposed":
        x = x.t()
    elif layout == "empty":
        x = x[:0]
    return x.requires_grad_()


def _run(L, call, dtype, layout):
    x = _inputs(L, dtype, layout)
    out = call(L, x)
    weights = L.arange(out.numel(), dtype=out.dtype).reshape(out.shape)
    (out * weights).sum().backward()
    return (out.detach().float().numpy(), x.grad.float().numpy(), out.grad_fn.name())


CALLS = {
    "per_tensor": lambda L, x: L.fake_quantize_per_tensor_affine(x, 0.07, 3, -128, 127),
    "per_tensor_narrow": lambda L, x: L.fake_quantize_per_tensor_affine(x, 0.5, 1, -4, 3),
    "per_tensor_qparams": lambda L, x: L.fake_quantize_per_tensor_affine(
        x, L.tensor(0.3), L.tensor(0, dtype=L.int32), 0, 15),
    "per_channel_last": lambda L, x: L.fake_quantize_per_channel_affine(
        x, L.linspace(0.05, 0.4, x.shape[-1]), L.arange(x.shape[-1], dtype=L.int32) - 2, 1,
        -8, 7),
    "per_channel_first": lambda L, x: L.fake_quantize_per_channel_affine(
        x, L.linspace(0.1, 0.6, x.shape[0]), L.zeros(x.shape[0], dtype=L.int32), 0, 0, 255),
}


@pytest.mark.parametrize("layout", ["contiguous", "transposed", "empty"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("call", list(CALLS))
def test_fake_quantize_as_torch(call, dtype, layout):
    if layout == "empty" and call == "per_channel_first":
        return  # (no channels along an empty first dim: nothing to pair scales with)
    ours = _run(gpugrad, CALLS[call], dtype, layout)
    theirs = _run(torch, CALLS[call], dtype, layout)
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])
    assert ours[2] == theirs[2]


@pytest.mark.parametrize("call", [
    "L.fake_quantize_per_tensor_affine(x, 0.5, 1, 4, 3)",
    "L.fake_quantize_per_tensor_affine(x, 0.5, 10, -4, 3)",
    "L.fake_quantize_per_channel_affine(x, L.ones(6), L.zeros(6, dtype=L.int64), 1, -4, 3)",
    "L.fake_quantize_per_channel_affine(x, L.ones(5), L.zeros(5, dtype=L.int32), 1, -4, 3)",
    "L.fake_quantize_per_channel_affine(x, L.ones(6), L.full((6,), 9, dtype=L.int32), 1, 0, 3)",
    "L.fake_quantize_per_channel_affine(x, L.ones(6), L.zeros(6, dtype=L.int32), -1, -4, 3)",
])
def test_fake_quantize_errors_as_torch(call):
    seen = []
    for L in (torch, gpugrad):
        with pytest.raises(RuntimeError) as err:
            eval(call, {"L": L, "x": L.ones(4, 6)})
        seen.append(str(err.value))
    assert seen[1] == seen[0]
