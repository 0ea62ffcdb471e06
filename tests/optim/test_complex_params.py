"""Complex parameters in the optimizers, against torch 2.13: every optimizer that takes them
updates a complex number as the pair of its parts (PyTorch's ``view_as_real``), beside real
parameters in the same group; its state stays complex; the three that refuse them raise
PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

CONFIGS = {
    "SGD": dict(lr=0.01),
    "SGD_momentum": dict(lr=0.01, momentum=0.9, dampening=0.1, weight_decay=0.1),
    "SGD_nesterov": dict(lr=0.01, momentum=0.9, nesterov=True, maximize=True),
    "Adam": dict(lr=0.05),
    "Adam_amsgrad": dict(lr=0.05, amsgrad=True, weight_decay=0.1),
    "AdamW": dict(lr=0.05, weight_decay=0.1),
    "NAdam": dict(lr=0.05, decoupled_weight_decay=True, weight_decay=0.1),
    "RAdam": dict(lr=0.05),
    "Adamax": dict(lr=0.05),
    "Adagrad": dict(lr=0.1, initial_accumulator_value=0.1, lr_decay=0.01),
    "Adadelta": dict(lr=1.0, weight_decay=0.1),
    "RMSprop": dict(lr=0.01, centered=True, momentum=0.5),
    "ASGD": dict(lr=0.01, t0=2),
    "Rprop": dict(lr=0.01),
    "LBFGS": dict(lr=0.5),
    "LBFGS_strong_wolfe": dict(line_search_fn="strong_wolfe"),
}

_RNG = np.random.default_rng(0)
Z0 = _RNG.standard_normal((3, 4)) + 1j * _RNG.standard_normal((3, 4))
X0 = _RNG.standard_normal(4)
TARGET = _RNG.standard_normal((3, 4)) + 1j * _RNG.standard_normal((3, 4))


def _train(L, config: str, complex_dtype, steps: int = 5):
    """``steps`` updates of a complex matrix and a real vector in one group; the loss reads
    the complex parameter through a transpose (a non-contiguous gradient)."""
    real_dtype = L.float32 if complex_dtype == L.complex64 else L.float64
    z = L.tensor(Z0, dtype=complex_dtype, requires_grad=True)
    x = L.tensor(X0, dtype=real_dtype, requires_grad=True)
    target = L.tensor(TARGET, dtype=complex_dtype)
    kwargs = CONFIGS[config]
    opt = getattr(L.optim, config.split("_")[0])([z, x], **kwargs)

    def closure():
        opt.zero_grad()
        loss = ((z.t().t() * x - target).abs() ** 2).sum() + 0.1 * (z.real ** 4).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        if config.startswith("LBFGS"):
            opt.step(closure)
        else:
            closure()
            opt.step()
    return z, x, opt


@pytest.mark.parametrize("config", CONFIGS)
def test_complex_and_real_parameters_update_as_torch(config):
    zw, xw, _ = _train(torch, config, torch.complex128)
    zg, xg, _ = _train(gpugrad, config, gpugrad.complex128)
    # (LBFGS's line searches amplify rounding: its real runs differ from torch's alike)
    tol = dict(rtol=1e-4) if config.startswith("LBFGS") else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(zg.detach().numpy(), zw.detach().numpy(), **tol)
    np.testing.assert_allclose(xg.detach().numpy(), xw.detach().numpy(), **tol)


@pytest.mark.parametrize("config", ["LBFGS", "LBFGS_strong_wolfe"])
def test_lbfgs_on_a_complex_parameter_is_lbfgs_on_its_parts(config):
    """The same run with the complex parameter kept as real (…, 2) pairs, viewed as complex
    in the loss: the same numbers, to rounding."""
    zg, xg, _ = _train(gpugrad, config, gpugrad.complex128)
    pairs = gpugrad.tensor(np.stack([Z0.real, Z0.imag], -1), requires_grad=True)
    x = gpugrad.tensor(X0, requires_grad=True)
    target = gpugrad.tensor(TARGET)
    opt = gpugrad.optim.LBFGS([pairs, x], **CONFIGS[config])

    def closure():
        opt.zero_grad()
        z = gpugrad.view_as_complex(pairs)
        loss = ((z * x - target).abs() ** 2).sum() + 0.1 * (z.real ** 4).sum()
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    np.testing.assert_allclose(zg.detach().numpy(),
                               gpugrad.view_as_complex(pairs.detach()).numpy(), rtol=1e-9)
    np.testing.assert_allclose(xg.detach().numpy(), x.detach().numpy(), rtol=1e-9)


@pytest.mark.parametrize("config", ["SGD_momentum", "Adam", "RMSprop", "Adagrad"])
def test_complex64_parameters_as_torch(config):
    zw, xw, _ = _train(torch, config, torch.complex64)
    zg, xg, _ = _train(gpugrad, config, gpugrad.complex64)
    assert zg.dtype == gpugrad.complex64 and xg.dtype == gpugrad.float32
    np.testing.assert_allclose(zg.detach().numpy(), zw.detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("config", ["SGD_momentum", "Adam_amsgrad", "Rprop", "Adagrad",
                                    "ASGD", "LBFGS"])
def test_state_as_torch(config):
    """The state's entries: complex buffers shaped as the parameter (LBFGS's flat vectors are
    real, the parts side by side), the same values."""
    _, _, want = _train(torch, config, torch.complex128, steps=3)
    _, _, got = _train(gpugrad, config, gpugrad.complex128, steps=3)
    want_state = want.state_dict()["state"]
    got_state = got.state_dict()["state"]
    assert sorted(got_state) == sorted(want_state)
    for key in want_state:
        assert sorted(got_state[key]) == sorted(want_state[key])
        for name, w in want_state[key].items():
            g = got_state[key][name]
            if isinstance(w, torch.Tensor):
                assert str(g.dtype).split(".")[-1] == str(w.dtype).split(".")[-1], name
                assert tuple(g.shape) == tuple(w.shape), name
                np.testing.assert_allclose(g.numpy(), w.numpy(), rtol=1e-6, atol=1e-12,
                                           err_msg=name)


def test_state_dict_round_trip_keeps_training_as_torch():
    """Save after 3 steps, load into a fresh optimizer, 3 more: as torch."""
    results = []
    for L in (torch, gpugrad):
        z, x, opt = _train(L, "Adam", L.complex128, steps=3)
        saved = opt.state_dict()
        opt2 = L.optim.Adam([z, x], lr=0.05)
        opt2.load_state_dict(saved)
        for _ in range(3):
            opt2.zero_grad()
            (z.abs() ** 2).sum().backward()
            opt2.step()
        results.append(z.detach().numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-10)


@pytest.mark.parametrize("name,error", [("Adafactor", RuntimeError), ("Muon", RuntimeError)])
def test_optimizers_that_refuse_complex_parameters_raise_at_step_as_torch(name, error):
    for L in (torch, gpugrad):
        z = L.zeros(3, 3, dtype=L.complex64, requires_grad=True)
        opt = getattr(L.optim, name)([z])
        (z.abs() ** 2).sum().backward()
        with pytest.raises(error, match=f"{name} does not support complex parameters"):
            opt.step()


def test_sparse_adam_refuses_complex_parameters_as_torch():
    for L in (torch, gpugrad):
        params = [L.zeros(2, requires_grad=True), L.zeros(2, dtype=L.complex64,
                                                          requires_grad=True)]
        with pytest.raises(ValueError, match=r"Complex params at indices \[\[0, 1\]\]: "
                                             "SparseAdam does not support complex parameters"):
            L.optim.SparseAdam(params)
