"""``linalg.householder_product`` (``orgqr``) and ``geqrf`` against PyTorch's: values and
gradients in float64 and float32, batched; ``gradcheck``; the QR round trip; refusals. (The
op registry's specs compare the small cases and their layouts as well.)"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.autograd import gradcheck, gradgradcheck


def _inputs(shape, k, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.uniform(0.0, 2.0, size=shape[:-2] + (k,))


@pytest.mark.parametrize("dtype,atol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("shape,k", [((7, 5), 5), ((3, 6, 4), 3), ((2, 1, 4, 4), 4)])
def test_values_and_gradients_as_torch(shape, k, dtype, atol):
    a, tau = _inputs(shape, k)
    up = np.random.default_rng(1).standard_normal(shape)
    results = []
    for lib in (gpugrad, torch):
        ta = lib.tensor(a, dtype=getattr(lib, dtype), requires_grad=True)
        tt = lib.tensor(tau, dtype=getattr(lib, dtype), requires_grad=True)
        q = lib.linalg.householder_product(ta, tt)
        (q * lib.tensor(up, dtype=getattr(lib, dtype))).sum().backward()
        results.append((q.detach().numpy(), ta.grad.numpy(), tt.grad.numpy()))
    for ours, theirs in zip(*results):
        assert ours.dtype == theirs.dtype
        np.testing.assert_allclose(ours, theirs, atol=atol)


def test_gradcheck_in_both_arguments():
    a, tau = _inputs((2, 5, 3), 3, seed=2)
    args = (gpugrad.tensor(a, requires_grad=True), gpugrad.tensor(tau, requires_grad=True))
    assert gradcheck(gpugrad.linalg.householder_product, args)
    assert gradgradcheck(gpugrad.linalg.householder_product, args)


def test_geqrf_then_householder_product_is_torchs_q():
    a = np.random.default_rng(3).standard_normal((2, 6, 4))
    ours, theirs = gpugrad.geqrf(gpugrad.tensor(a)), torch.geqrf(torch.tensor(a))
    assert type(ours).__name__ == type(theirs).__name__ == "geqrf"
    np.testing.assert_allclose(ours.a.numpy(), theirs.a.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.tau.numpy(), theirs.tau.numpy(), atol=1e-12)
    q = gpugrad.orgqr(*ours).numpy()
    np.testing.assert_allclose(q, torch.orgqr(*theirs).numpy(), atol=1e-12)
    np.testing.assert_allclose(q @ np.triu(ours.a.numpy()[..., :4, :]), a, atol=1e-12)
    np.testing.assert_allclose(gpugrad.tensor(ours.a.numpy()).orgqr(input2=ours.tau).numpy(),
                               q, atol=0)


def test_geqrf_has_no_derivative_as_torch():
    for lib in (gpugrad, torch):
        a = lib.tensor(np.eye(3, 2), requires_grad=True)
        out = lib.geqrf(a)
        assert out.a.grad_fn is not None
        with pytest.raises(NotImplementedError, match="the derivative for 'geqrf' is not "
                                                      "implemented"):
            out.a.sum().backward()


def _error(fn):
    try:
        fn()
    except Exception as e:  # (the library's error is the value compared)
        return type(e), str(e)
    return None


@pytest.mark.parametrize("a_dtype,tau_dtype", [("float16", "float16"), ("bfloat16", "bfloat16"),
                                                ("int64", "int64"), ("float64", "float32"),
                                                ("float32", "float64")])
def test_dtype_refusals_as_torch(a_dtype, tau_dtype):
    a, tau = _inputs((4, 3), 2)
    errors = [_error(lambda lib=lib: lib.linalg.householder_product(
        lib.tensor(a).to(getattr(lib, a_dtype)), lib.tensor(tau).to(getattr(lib, tau_dtype))))
        for lib in (gpugrad, torch)]
    assert errors[0] is not None and errors[0] == errors[1]
    if a_dtype == tau_dtype:
        errors = [_error(lambda lib=lib: lib.geqrf(lib.tensor(a).to(getattr(lib, a_dtype))))
                  for lib in (gpugrad, torch)]
        assert errors[0] is not None and errors[0] == errors[1]
