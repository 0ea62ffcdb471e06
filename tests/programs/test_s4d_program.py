"""The diagonal state-space classifier (s4d_sequence.py), run with gpugrad and with
PyTorch: both learn the noisy-sine frequencies and gpugrad's losses land in a band around
PyTorch's (the random streams differ); from the same weights and batches the two train to the
same losses. The complex kernel computation itself (``exp``, complex arithmetic with ``1j``,
``view_as_complex``, a complex tensor times ``arange``, ``einsum``, ``.real``) is checked
against PyTorch and a NumPy reference, forward and the gradients of the four real SSM
parameters, and by float64 finite differences; the causal convolution that stands in for the
FFT against a direct sum."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

from ._compare import assert_trains_like_torch, both, load

S4D = load("s4d_sequence")
LIBS = pytest.mark.parametrize("lib", [gpugrad, torch], ids=["gpugrad", "torch"])
SSM_NAMES = ("log_step", "readout", "log_decay", "frequency")


def test_s4d_classifier_trains_like_torch():
    ours, theirs = both(lambda m: S4D.main(m, steps=150))
    # the final loss depends on the initial draws (0.02-0.13 over seeds 0-3 in either
    # library): a wide band here; the same-start tests below compare exactly
    assert_trains_like_torch(ours, theirs, shrink=0.2, rel=1.0)
    for result in (ours, theirs):
        assert result["grads_set"], result  # the kernel's parameters all reached
        assert result["accuracy"] >= 0.95 > 0.5 > result["initial_accuracy"], result
        assert result["ssm_change"] > 1e-2, result  # the SSM group was trained
        # the state-space parameters (3 a block) in a group of their own
        assert result["param_groups"] == [(16, 1e-2, 0.01), (6, 1e-2, 0.0)], result


def _same_start_state(dtype, prenorm=False):
    """gpugrad's freshly initialized weights, and the same as PyTorch tensors (via NumPy)."""
    gpugrad.manual_seed(0)
    state = S4D.make_model(gpugrad, dtype, prenorm=prenorm).state_dict()
    return state, {k: torch.from_numpy(v.detach().numpy().copy()) for k, v in state.items()}


@pytest.mark.parametrize("dtype, rel, prenorm", [("float64", 1e-9, False),
                                                 ("float64", 1e-9, True),
                                                 ("float32", 1e-4, False)])
def test_same_start_trains_as_torch(dtype, rel, prenorm):
    """From gpugrad's initial weights copied into PyTorch's model, with the same batches, 30
    AdamW steps (two parameter groups, cosine schedule) give the same loss at every step."""
    ours_state, theirs_state = _same_start_state(dtype, prenorm)
    assert list(ours_state) == list(S4D.make_model(torch, dtype, prenorm=prenorm).state_dict())
    ours = S4D.main(gpugrad, steps=30, dtype=dtype, initial_state=ours_state, prenorm=prenorm)
    theirs = S4D.main(torch, steps=30, dtype=dtype, initial_state=theirs_state, prenorm=prenorm)
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=rel)
    assert ours["losses"][-1] < ours["losses"][0]
    assert ours["initial_accuracy"] == theirs["initial_accuracy"]
    assert ours["ssm_change"] == pytest.approx(theirs["ssm_change"], rel=100 * rel)


H, M, L = 4, 4, 12  # channels, complex modes, kernel length


def _ssm_parameters(dtype, seed=2):
    """A kernel module's four real parameters as NumPy arrays: gpugrad's initialization, with
    log_decay and log_step redrawn so that the check does not rest on the symmetric start
    (all real parts -1/2)."""
    gpugrad.manual_seed(seed)
    DiagonalSSM, _, _ = S4D.build(gpugrad)
    module = DiagonalSSM(H, M).to(getattr(gpugrad, dtype))
    params = {name: getattr(module, name).detach().numpy().copy() for name in SSM_NAMES}
    rng = np.random.default_rng(seed)
    params["log_decay"] = np.log(rng.uniform(0.2, 1.0, (H, M))).astype(dtype)
    params["log_step"] = np.log(rng.uniform(1e-3, 1e-1, H)).astype(dtype)
    assert params["readout"].shape == (H, M, 2) and params["frequency"].shape == (H, M)
    return params


def _reference_kernel(params):
    """NumPy, complex128: 2 Re sum_m w_m (exp(d_m) - 1) / p_m exp(d_m l), d = p exp(log_step)."""
    p = {k: v.astype(np.float64) for k, v in params.items()}
    poles = -np.exp(p["log_decay"]) + 1j * p["frequency"]
    d = poles * np.exp(p["log_step"])[:, None]
    w = (p["readout"][..., 0] + 1j * p["readout"][..., 1]) * (np.exp(d) - 1) / poles
    return 2 * np.einsum("cm,cml->cl", w, np.exp(d[..., None] * np.arange(L))).real


def _run_kernel(lib, params, upstream):
    """The kernel of ``DiagonalSSM.forward`` (its module, with these parameter values) and the
    gradients of ``sum(K * upstream)`` for the four parameters."""
    DiagonalSSM, _, _ = S4D.build(lib)
    module = DiagonalSSM(H, M).to(getattr(lib, str(params["readout"].dtype)))
    module.load_state_dict({k: lib.from_numpy(v) for k, v in params.items()})
    K = module(L)
    (K * lib.from_numpy(upstream)).sum().backward()
    return {"K": K.detach().numpy(), "dtype": str(K.dtype),
            **{name: getattr(module, name).grad.numpy() for name in SSM_NAMES}}


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 2e-5)])
def test_kernel_and_its_gradients_match_torch(dtype, tol):
    """From the same parameter values, the (H, L) kernel and the gradients of log_step, readout
    (its real storage, through view_as_complex), log_decay and frequency agree with PyTorch's,
    and the kernel with NumPy's complex arithmetic."""
    params = _ssm_parameters(dtype)
    upstream = np.random.default_rng(4).standard_normal((H, L)).astype(dtype)
    ours, theirs = (_run_kernel(lib, params, upstream) for lib in (gpugrad, torch))
    assert ours["dtype"].endswith(dtype) and theirs["dtype"].endswith(dtype)
    for key in ("K",) + SSM_NAMES:
        assert ours[key].dtype == np.dtype(dtype), key
        scale = np.abs(theirs[key]).max()
        assert scale > 1e-3, key  # every parameter gets a real gradient
        np.testing.assert_allclose(ours[key], theirs[key], rtol=tol, atol=tol * scale,
                                   err_msg=key)
    reference = _reference_kernel(params)
    np.testing.assert_allclose(ours["K"], reference, rtol=tol, atol=tol * np.abs(reference).max())


@LIBS
def test_kernel_gradcheck(lib):
    """Float64 central differences of the kernel as a function of its four real parameters
    (small sizes: 2 channels, 2 complex modes, 5 steps)."""
    rng = np.random.default_rng(7)
    h, half, length = 2, 2, 5
    values = (np.log(rng.uniform(1e-2, 1e-1, h)), rng.standard_normal((h, half, 2)),
              np.log(rng.uniform(0.2, 1.0, (h, half))), np.pi * rng.uniform(0, 3, (h, half)))
    inputs = tuple(lib.from_numpy(v).requires_grad_() for v in values)
    kernel = S4D.kernel_of(lib, *inputs, length)
    assert tuple(kernel.shape) == (h, length) and not kernel.is_complex()
    # functional_call computes with these tensors: every one of them moves the kernel
    grads = lib.autograd.grad(kernel.sum(), inputs)
    assert all(float(g.abs().max()) > 1e-3 for g in grads)
    assert lib.autograd.gradcheck(lambda *p: S4D.kernel_of(lib, *p, length), inputs)


@LIBS
def test_causal_conv_is_the_direct_sum(lib):
    """The padded, flipped, grouped conv1d that applies the kernel is the causal convolution
    ``y[b, h, t] = sum_{s <= t} k[h, s] u[b, h, t - s]`` (what an FFT would compute)."""
    rng = np.random.default_rng(9)
    u, k = rng.standard_normal((3, H, L)), rng.standard_normal((H, L))
    y = S4D.causal_conv(lib, lib.from_numpy(u), lib.from_numpy(k)).numpy()
    expected = np.zeros_like(u)
    for t in range(L):
        for s in range(t + 1):
            expected[:, :, t] += k[None, :, s] * u[:, :, t - s]
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
