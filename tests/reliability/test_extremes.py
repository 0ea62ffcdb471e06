"""Extreme values: a NaN or Inf in one row stays in that row (loss and gradient); cross-entropy
is finite and shift-invariant for huge logits; BCE-with-logits is finite at +-1e4; empty and
fully ignored batches give PyTorch's values and zero gradients; integer division is exact.

Every check compares with PyTorch on the same inputs. The whole file also runs under
``GPUGRAD_KERNELS=interpret`` (the Triton kernels interpreted) in a subprocess, float32 only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.backend import kernel_mode

TOLS = {"float64": dict(rtol=1e-10, atol=1e-12), "float32": dict(rtol=1e-5, atol=1e-6)}
DTYPES = ["float32"] if kernel_mode() == "interpret" else ["float32", "float64"]
BAD_ROW = 1


def _pair(arr, requires_grad=True):
    return (gpugrad.tensor(arr, requires_grad=requires_grad),
            torch.tensor(arr, requires_grad=requires_grad))


def _close(g, t, dtype, what=""):
    """Equal values, and NaN and Inf in the same places (assert_allclose checks both)."""
    g = g.detach().numpy() if isinstance(g, gpugrad.Tensor) else g
    t = t.detach().numpy() if isinstance(t, torch.Tensor) else t
    assert g.shape == t.shape, what
    np.testing.assert_allclose(g, t, err_msg=what, **TOLS[dtype])


# Each row-wise computation: (name, build(m, x, dtype) -> output). Row BAD_ROW of x gets the bad
# value; every other row's output and gradient must not see it.
def _classes(x):
    return np.arange(x.shape[0]) % x.shape[1]


def _binary_target(x):
    return (np.arange(x.size).reshape(x.shape) % 3 == 0).astype(x.dtype)


def _regression_target(x):
    return np.linspace(-1, 1, x.size).reshape(x.shape).astype(x.dtype)


def _linear_relu(m, x, dtype):
    rng = np.random.default_rng(7)
    layer = m.nn.Linear(x.shape[1], 6, dtype=getattr(m, dtype))
    with m.no_grad():
        layer.weight.copy_(m.tensor(rng.standard_normal((6, x.shape[1])).astype(dtype)))
        layer.bias.copy_(m.tensor(rng.standard_normal(6).astype(dtype)))
    return m.nn.functional.relu(layer(x)), layer


ROWWISE = {
    "cross_entropy": lambda m, x, red: m.nn.functional.cross_entropy(
        x, m.tensor(_classes(x.detach().numpy())), reduction=red),
    "cross_entropy_smoothed": lambda m, x, red: m.nn.functional.cross_entropy(
        x, m.tensor(_classes(x.detach().numpy())), reduction=red, label_smoothing=0.2),
    "log_softmax": lambda m, x, red: m.nn.functional.log_softmax(x, dim=1),
    "softmax": lambda m, x, red: m.nn.functional.softmax(x, dim=1),
    "bce_with_logits": lambda m, x, red: m.nn.functional.binary_cross_entropy_with_logits(
        x, m.tensor(_binary_target(x.detach().numpy())), reduction=red),
    "mse": lambda m, x, red: m.nn.functional.mse_loss(
        x, m.tensor(_regression_target(x.detach().numpy())), reduction=red),
    "linear_relu": lambda m, x, red: _linear_relu(m, x, x.detach().numpy().dtype.name)[0],
}
LOSSES = ("cross_entropy", "cross_entropy_smoothed", "bce_with_logits", "mse")


def _run(m, name, x_np, reduction):
    """Output and input gradient, with a fixed upstream gradient on the unreduced output."""
    x = m.tensor(x_np, requires_grad=True)
    y = ROWWISE[name](m, x, reduction)
    if y.ndim:
        up = np.linspace(0.5, 1.5, y.numel()).reshape(tuple(y.shape)).astype(x_np.dtype)
        (y * m.tensor(up)).sum().backward()
    else:
        y.backward()
    return y.detach().numpy(), x.grad.numpy()


BAD_VALUES = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "row-of-inf": "row"}


def _poisoned(dtype, bad):
    x = np.random.default_rng(3).standard_normal((5, 4)).astype(dtype)
    clean = x.copy()
    if bad == "row":  # a whole row at -inf: softmax's 0/0
        x[BAD_ROW] = -np.inf
    else:
        x[BAD_ROW, 2] = bad
    return x, clean


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", list(BAD_VALUES), ids=list(BAD_VALUES))
@pytest.mark.parametrize("name", list(ROWWISE))
def test_a_bad_value_stays_in_its_row(name, bad, dtype):
    reduction = "none"
    x, clean = _poisoned(dtype, BAD_VALUES[bad])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own sum of inf - inf
        out, grad = _run(gpugrad, name, x, reduction)
        t_out, t_grad = _run(torch, name, x, reduction)
    _close(out, t_out, dtype, "output vs torch")
    _close(grad, t_grad, dtype, "gradient vs torch")
    ref_out, ref_grad = _run(gpugrad, name, clean, reduction)
    others = np.arange(x.shape[0]) != BAD_ROW
    assert np.isfinite(out[others]).all() and np.isfinite(grad[others]).all()
    _close(out[others], ref_out[others], dtype, "other rows' output changed")
    _close(grad[others], ref_grad[others], dtype, "other rows' gradient changed")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", LOSSES)
def test_a_nan_in_a_mean_loss_leaves_the_other_rows_gradient_exact(name, dtype):
    """The mean is NaN, as PyTorch's; each row's gradient does not read the loss value."""
    x, clean = _poisoned(dtype, np.nan)
    out, grad = _run(gpugrad, name, x, "mean")
    t_out, t_grad = _run(torch, name, x, "mean")
    assert np.isnan(out) and np.isnan(t_out.item())
    _close(grad, t_grad, dtype)
    ref_grad = _run(gpugrad, name, clean, "mean")[1]
    others = np.arange(x.shape[0]) != BAD_ROW
    _close(grad[others], ref_grad[others], dtype)


def test_a_bad_sample_poisons_only_the_weight_column_it_touches():
    """Linear + ReLU: one sample's input feature is NaN, so only that feature's column of the
    weight gradient is NaN (as PyTorch's: ReLU's backward lets the gradient through where its
    output is NaN); the bias gradient and every other column stay finite and equal PyTorch's."""
    x, _ = _poisoned("float64", np.nan)
    grads = {}
    for m in (gpugrad, torch):
        xt = m.tensor(x, requires_grad=True)
        y, layer = _linear_relu(m, xt, "float64")
        y.sum().backward()
        grads[m.__name__] = layer.weight.grad.numpy(), layer.bias.grad.numpy()
    (w, b), (t_w, t_b) = grads["gpugrad"], grads["torch"]
    _close(w, t_w, "float64")
    _close(b, t_b, "float64")
    assert np.isnan(w[:, 2]).all() and np.isfinite(np.delete(w, 2, axis=1)).all()
    assert np.isfinite(b).all()


# --------------------------------------------------------------------------- huge logits
HUGE = np.array([[0.0, -3.0, 2.0, 1.0], [5.0, 5.0, -5.0, 0.5], [1e4, -1e4, 0.0, 1e4 - 1],
                 [-1e4, -1e4, -1e4, -1e4 + 3], [1e4, 1e4, 1e4, 1e4]])
HUGE_TARGET = np.array([2, 1, 3, 0, 1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("offset", [0.0, 1e4, -1e4, 1e6, -1e6, 1e8, -1e8])
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1}], ids=["plain", "smoothed"])
def test_cross_entropy_is_finite_and_shift_invariant(offset, dtype, options):
    x = (HUGE + offset).astype(dtype)
    g, t = _pair(x)
    loss = gpugrad.nn.functional.cross_entropy(g, gpugrad.tensor(HUGE_TARGET), reduction="none",
                                               **options)
    ref = torch.nn.functional.cross_entropy(t, torch.tensor(HUGE_TARGET), reduction="none",
                                            **options)
    loss.sum().backward()
    ref.sum().backward()
    assert np.isfinite(loss.detach().numpy()).all() and np.isfinite(g.grad.numpy()).all()
    _close(loss, ref, dtype)
    _close(g.grad, t.grad, dtype)
    # Shift invariance, judged on the logits as stored: subtracting each row's max in float64
    # is exact, so the float64 loss of the shifted rows is the exact answer.
    stored = x.astype(np.float64)
    shifted = stored - stored.max(1, keepdims=True)
    exact = torch.nn.functional.cross_entropy(torch.tensor(shifted), torch.tensor(HUGE_TARGET),
                                              reduction="none", **options).numpy()
    np.testing.assert_allclose(loss.detach().numpy(), exact, rtol=TOLS[dtype]["rtol"],
                               atol=TOLS[dtype]["atol"] * 10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_with_probability_targets_is_finite_for_huge_logits(dtype):
    x = (HUGE * np.array([[1], [1], [1], [-1], [1]])).astype(dtype)
    p = np.full(x.shape, 0.25, dtype)
    g, t = _pair(x)
    loss = gpugrad.nn.functional.cross_entropy(g, gpugrad.tensor(p), reduction="sum")
    ref = torch.nn.functional.cross_entropy(t, torch.tensor(p), reduction="sum")
    loss.backward()
    ref.backward()
    assert np.isfinite(loss.item()) and np.isfinite(g.grad.numpy()).all()
    _close(loss, ref, dtype)
    _close(g.grad, t.grad, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scale", [1e4, 1e8])
@pytest.mark.parametrize("weights", [{}, {"pos_weight": [3.0]}, {"weight": [0.5]}],
                         ids=["plain", "pos_weight", "weight"])
def test_bce_with_logits_is_finite_for_huge_logits(scale, dtype, weights):
    x = (np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0]) * scale).astype(dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.3, 0.7], dtype)
    g, t = _pair(x)
    gk = {k: gpugrad.tensor(np.array(v, dtype)) for k, v in weights.items()}
    tk = {k: torch.tensor(np.array(v, dtype)) for k, v in weights.items()}
    loss = gpugrad.nn.functional.binary_cross_entropy_with_logits(
        g, gpugrad.tensor(y), reduction="none", **gk)
    ref = torch.nn.functional.binary_cross_entropy_with_logits(
        t, torch.tensor(y), reduction="none", **tk)
    loss.sum().backward()
    ref.sum().backward()
    assert np.isfinite(loss.detach().numpy()).all() and np.isfinite(g.grad.numpy()).all()
    _close(loss, ref, dtype)
    _close(g.grad, t.grad, dtype)


# ---------------------------------------------------------------- empty and ignored batches
def _class_target(shape):
    return np.zeros(shape[:1] + shape[2:], np.int64)


def _float_target(shape):
    return np.zeros(shape, np.float32)


EMPTY_LOSSES = {
    "cross_entropy": _class_target, "nll_loss": _class_target,
    "mse_loss": _float_target, "l1_loss": _float_target, "smooth_l1_loss": _float_target,
    "huber_loss": _float_target, "binary_cross_entropy": _float_target,
    "binary_cross_entropy_with_logits": _float_target,
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shape", [(0, 4), (0, 4, 3), (2, 4, 0)])
@pytest.mark.parametrize("name", list(EMPTY_LOSSES))
def test_empty_batch_matches_torch(name, shape, reduction):
    x = np.zeros(shape, np.float32)
    y = EMPTY_LOSSES[name](shape)
    g, t = _pair(x)
    loss = getattr(gpugrad.nn.functional, name)(g, gpugrad.tensor(y), reduction=reduction)
    ref = getattr(torch.nn.functional, name)(t, torch.tensor(y), reduction=reduction)
    _close(loss, ref, "float32")  # nan for a mean, 0 for a sum, empty for none
    loss.sum().backward()
    ref.sum().backward()
    assert g.grad.shape == tuple(t.grad.shape) == shape
    assert g.grad.dtype == gpugrad.float32


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", [{}, {"weight": True}, {"label_smoothing": 0.3},
                                     {"weight": True, "label_smoothing": 0.3}],
                         ids=["plain", "weight", "smoothed", "weight+smoothed"])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2), (3,)])
def test_fully_ignored_batch_matches_torch_with_zero_gradient(shape, options, reduction):
    x = np.random.default_rng(5).standard_normal(shape)
    target = np.full(shape[:1] + shape[2:] if len(shape) > 1 else (), 2)
    results = []
    for m in (gpugrad, torch):
        kw = dict(options, reduction=reduction, ignore_index=2)
        if kw.pop("weight", False):
            kw["weight"] = m.tensor([1.0, 2.0, 3.0], dtype=m.float64)
        xt = m.tensor(x, requires_grad=True)
        loss = m.nn.functional.cross_entropy(xt, m.tensor(target), **kw)
        loss.sum().backward()
        results.append((loss.detach().numpy(), xt.grad.numpy()))
    (loss, grad), (ref, ref_grad) = results
    np.testing.assert_array_equal(loss, ref)  # nan for a mean, as PyTorch
    np.testing.assert_array_equal(grad, ref_grad)
    np.testing.assert_array_equal(grad, np.zeros(shape))


# ----------------------------------------------------------------------- integer division
def test_integer_division_is_exact_past_float_precision():
    """Integer floor division, trunc division and remainder stay in integer arithmetic:
    2**24 + 1 is not a float32, 2**53 + 1 not a float64."""
    values = [2**24 + 1, 2**53 + 1, -(2**62) - 3, 7, -7, 0, 5]
    ops = [lambda m, a, d: a // d, lambda m, a, d: a % d,
           lambda m, a, d: a.div(d, rounding_mode="trunc"),
           lambda m, a, d: m.floor_divide(a, m.tensor(d))]
    for divisor in (1, 3, -2, 2**31 + 11):
        for op in ops:
            np.testing.assert_array_equal(op(gpugrad, gpugrad.tensor(values), divisor).numpy(),
                                          op(torch, torch.tensor(values), divisor).numpy())


def test_python_ints_outside_a_small_dtype_wrap_as_in_torch():
    cases = [lambda m: m.tensor([5, 7], dtype=m.uint8) // -2,
             lambda m: m.tensor([5, -7], dtype=m.int8) * 300,
             lambda m: m.tensor([1, 200], dtype=m.uint8) > 300,
             lambda m: m.tensor([1, 2]) + 2**63]
    for op in cases:
        got, want = op(gpugrad), op(torch)
        assert got.dtype.name == str(want.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(got.numpy(), want.numpy())


# ------------------------------------------------------------------- under the interpreter
def test_this_file_under_the_interpreter_backend():
    """The same checks with every fused primitive running its Triton kernel interpreted."""
    if kernel_mode() == "interpret":
        pytest.skip("already running under the interpreter")
    pytest.importorskip("triton")
    env = dict(os.environ, GPUGRAD_KERNELS="interpret")
    cmd = [sys.executable, "-m", "pytest", __file__, "-q", "-x", "-p", "no:cacheprovider",
           "-k", "not under_the_interpreter and not integer_division and not python_ints", "-W",
           "ignore::RuntimeWarning"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and " skipped" not in done.stdout, done.stdout[-2000:]
