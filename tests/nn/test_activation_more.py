"""The activation modules beyond ReLU/GELU/SiLU against PyTorch's (repr, outputs, gradients,
PReLU's parameter); the in-place forms write into their input and keep the gradient; rrelu's
random slopes; Softmax2d's and Hardtanh's checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from nn._compare import assert_same_run, module_pair

import gpugrad

X = np.random.default_rng(0).uniform(-5, 5, (2, 3, 4))

MODULES = [
    ("ELU", {}), ("ELU", {"alpha": 0.3}), ("SELU", {}), ("CELU", {"alpha": 1.5}),
    ("Softplus", {"beta": 2, "threshold": 3}), ("Softsign", {}), ("Mish", {}),
    ("LogSigmoid", {}), ("Tanhshrink", {}), ("GLU", {"dim": 1}), ("Softmin", {"dim": 1}),
    ("Softmax2d", {}), ("Hardtanh", {"min_val": -2.0, "max_val": 2.0}), ("ReLU6", {}),
    ("Hardsigmoid", {}), ("Hardswish", {}), ("Softshrink", {"lambd": 1.0}), ("Hardshrink", {}),
    ("Threshold", {"threshold": 0.5, "value": -1.0}), ("PReLU", {}),
    ("PReLU", {"num_parameters": 3, "init": 0.1}), ("RReLU", {"lower": 0.1, "upper": 0.2}),
]


@pytest.mark.parametrize("name,kw", MODULES, ids=[f"{n}{k}" for n, k in MODULES])
def test_module_matches_torch(name, kw):
    ours, theirs = module_pair(name, **kw)
    if name == "RReLU":  # evaluation: the mean slope, deterministic
        ours.eval(), theirs.eval()
    x = X[:, :2] if name == "GLU" else X
    assert_same_run(ours, theirs, [x])


INPLACE = [
    ("elu", {}), ("selu", {}), ("celu", {"alpha": 2.0}), ("hardtanh", {}), ("relu6", {}),
    ("hardsigmoid", {}), ("hardswish", {}), ("mish", {}), ("threshold", {"threshold": 0.1,
                                                                        "value": 3.0}),
    ("leaky_relu", {"negative_slope": 0.2}), ("silu", {}), ("rrelu", {}),
]


@pytest.mark.parametrize("name,kw", INPLACE, ids=[n for n, _ in INPLACE])
def test_inplace_writes_into_the_input_and_keeps_the_gradient(name, kw):
    results = []
    for m in (gpugrad, torch):
        x = m.tensor(X, requires_grad=True)
        y = x * 1.5  # a non-leaf, which in-place ops may overwrite
        out = getattr(m.nn.functional, name)(y, inplace=True, **kw)
        assert out is y
        (out * m.tensor(X)).sum().backward()
        results.append((y.detach().numpy(), x.grad.numpy()))
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(m.nn.functional, name)(m.ones(2, requires_grad=True), inplace=True, **kw)
    (g_out, g_grad), (t_out, t_grad) = results
    np.testing.assert_allclose(g_out, t_out, atol=1e-12)
    np.testing.assert_allclose(g_grad, t_grad, atol=1e-12)


def test_underscore_forms_are_in_place():
    for fn in ("elu_", "selu_", "celu_", "hardtanh_", "threshold_", "relu_", "leaky_relu_",
               "rrelu_"):
        x = gpugrad.tensor(X)
        args = (0.0, 1.0) if fn == "threshold_" else ()
        assert getattr(gpugrad.nn.functional, fn)(x, *args) is x
        expected = getattr(torch.nn.functional, fn)(torch.tensor(X), *args)
        np.testing.assert_allclose(x.numpy(), expected.numpy(), atol=1e-12)


def test_rrelu_training_draws_a_slope_per_negative_entry():
    values = np.random.default_rng(2).uniform(-5, 5, (40, 50))
    x = gpugrad.tensor(values, requires_grad=True)
    out = gpugrad.nn.RReLU(0.1, 0.3)(x)  # training mode
    out.sum().backward()
    slopes = out.detach().numpy() / values
    neg = values < 0
    assert np.all((slopes[neg] >= 0.1) & (slopes[neg] <= 0.3))
    assert abs(slopes[neg].std() - 0.2 / 12 ** 0.5) < 0.01  # uniform on [0.1, 0.3]
    np.testing.assert_array_equal(slopes[~neg], 1.0)
    np.testing.assert_allclose(x.grad.numpy(), slopes)  # the gradient is the drawn slope


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_module_checks_as_torch(m):
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D"):
        m.nn.Softmax2d()(m.ones(2, 3))
    with pytest.raises(AssertionError, match=r"max_val \(1\) must be greater than min_val"):
        m.nn.Hardtanh(1, 1)
    with pytest.warns(FutureWarning, match="min_value"):
        assert m.nn.Hardtanh(min_value=-3.0).min_val == -3.0
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal"):
        m.nn.functional.rrelu(m.ones(2), 0.5, 0.2)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmin"):
        m.nn.functional.softmin(m.ones(2, 3))
