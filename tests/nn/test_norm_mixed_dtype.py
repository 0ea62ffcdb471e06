"""Normalizations with parameters of another dtype than the input, against PyTorch: a
float16/bfloat16 input beside float32 weight, bias and running statistics (what a float32
model sees under autocast, after a lowered convolution or linear) gives a result in the
input's dtype, float32 gradients for the parameters and float32 running statistics; every
other mix raises PyTorch's error. ``rms_norm`` returns the input's dtype for any weight."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

rng = np.random.default_rng(0)
X = rng.standard_normal((4, 3, 5)).astype(np.float32)
W = rng.uniform(0.5, 1.5, 3).astype(np.float32)
B = rng.uniform(-0.5, 0.5, 3).astype(np.float32)
W5 = rng.uniform(0.5, 1.5, 5).astype(np.float32)
B5 = rng.uniform(-0.5, 0.5, 5).astype(np.float32)

# name -> f(module, x, params), params a dict of float arrays made into tensors by the caller
CALLS = {
    "batch_norm_train": lambda m, x, p: m.nn.functional.batch_norm(
        x, p["rm"], p["rv"], p["w"], p["b"], training=True, momentum=0.3),
    "batch_norm_eval": lambda m, x, p: m.nn.functional.batch_norm(
        x, p["rm"], p["rv"], p["w"], p["b"], training=False),
    "batch_norm_no_stats": lambda m, x, p: m.nn.functional.batch_norm(
        x, None, None, p["w"], p["b"], training=True),
    "layer_norm": lambda m, x, p: m.nn.functional.layer_norm(x, (5,), p["w5"], p["b5"]),
    "group_norm": lambda m, x, p: m.nn.functional.group_norm(x, 3, p["w"], p["b"]),
    "instance_norm": lambda m, x, p: m.nn.functional.instance_norm(
        x, p["rm"], p["rv"], p["w"], p["b"], use_input_stats=True, momentum=0.3),
    "rms_norm": lambda m, x, p: m.nn.functional.rms_norm(x, (5,), p["w5"]),
}


def _run(m, name, x_dtype, p_dtype):
    x = m.tensor(X).to(getattr(m, x_dtype)).requires_grad_()
    values = {"w": W, "b": B, "w5": W5, "b5": B5, "rm": np.full(3, 0.1, np.float32),
              "rv": np.full(3, 2.0, np.float32)}
    p = {k: m.tensor(v).to(getattr(m, p_dtype)) for k, v in values.items()}
    for k in ("w", "b", "w5", "b5"):
        p[k].requires_grad_()
    out = CALLS[name](m, x, p)
    return x, p, out


@pytest.mark.filterwarnings("ignore:Mismatch dtype")
@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize("low", ["bfloat16", "float16"])
def test_half_input_with_float32_parameters(name, low):
    ours, theirs = _run(gpugrad, name, low, "float32"), _run(torch, name, low, "float32")
    (gx, gp, gout), (tx, tp, tout) = ours, theirs
    assert str(gout.dtype).split(".")[-1] == str(tout.dtype).split(".")[-1] == low
    tol = 1e-2 if low == "bfloat16" else 2e-3
    np.testing.assert_allclose(gout.float().detach().numpy(), tout.float().detach().numpy(),
                               rtol=tol, atol=tol)
    seed = rng.standard_normal(X.shape).astype(np.float32)
    (gout.float() * gpugrad.tensor(seed)).sum().backward()
    (tout.float() * torch.tensor(seed)).sum().backward()
    assert str(gx.grad.dtype).split(".")[-1] == low
    np.testing.assert_allclose(gx.grad.float().numpy(), tx.grad.float().numpy(), rtol=5 * tol,
                               atol=5 * tol)
    for k in ("w", "b", "w5", "b5"):
        if tp[k].grad is None:
            assert gp[k].grad is None, k
            continue
        assert gp[k].grad.dtype is gpugrad.float32, k
        np.testing.assert_allclose(gp[k].grad.numpy(), tp[k].grad.numpy(), rtol=5 * tol,
                                   atol=5 * tol, err_msg=k)
    for k in ("rm", "rv"):  # running statistics stay float32 and move as PyTorch's
        assert gp[k].dtype is gpugrad.float32
        np.testing.assert_allclose(gp[k].numpy(), tp[k].numpy(), rtol=tol, atol=tol, err_msg=k)


MIXES = [("float32", "float64"), ("float64", "float32"), ("float32", "bfloat16"),
         ("bfloat16", "float16"), ("float16", "float64")]


@pytest.mark.parametrize("x_dtype,p_dtype", MIXES)
@pytest.mark.parametrize("name", [n for n in CALLS if n != "rms_norm"])
def test_other_mixes_raise_as_torch(name, x_dtype, p_dtype):
    with pytest.raises(RuntimeError) as theirs:
        _run(torch, name, x_dtype, p_dtype)
    with pytest.raises(RuntimeError) as ours:
        _run(gpugrad, name, x_dtype, p_dtype)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.filterwarnings("ignore:Mismatch dtype")
@pytest.mark.parametrize("x_dtype,p_dtype", MIXES)
def test_rms_norm_keeps_the_input_dtype(x_dtype, p_dtype):
    (_, _, gout), (_, _, tout) = (_run(m, "rms_norm", x_dtype, p_dtype)
                                  for m in (gpugrad, torch))
    assert str(gout.dtype).split(".")[-1] == str(tout.dtype).split(".")[-1] == x_dtype
    np.testing.assert_allclose(gout.double().detach().numpy(), tout.double().detach().numpy(),
                               rtol=1e-2, atol=1e-2)


def test_batchnorm_module_under_autocast_gives_bfloat16():
    """A float32 model under CPU autocast: the lowered convolution's bfloat16 output goes
    through BatchNorm2d (unlisted, so run mixed), which keeps bfloat16, as PyTorch's."""
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    dtypes = []
    for m in (gpugrad, torch):
        m.manual_seed(0)
        model = m.nn.Sequential(m.nn.Conv2d(3, 4, 3), m.nn.BatchNorm2d(4), m.nn.GroupNorm(2, 4))
        with m.autocast("cpu", dtype=m.bfloat16):
            out = model(m.tensor(x))
        out.float().sum().backward()
        dtypes.append((str(out.dtype).split(".")[-1], str(model[1].running_mean.dtype)[-7:],
                       str(model[1].weight.grad.dtype)[-7:]))
    assert dtypes[0] == dtypes[1] == ("bfloat16", "float32", "float32")
