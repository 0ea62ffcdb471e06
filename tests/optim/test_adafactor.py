"""Adafactor against PyTorch: the same gradients on the same parameters (0-D to 3-D, two param
groups with different options, one parameter skipping steps, one never given a gradient),
parameters and state compared after every step; state dicts both ways; constructor checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from optim_state import assert_state_equal, state_dict_for, step_side_by_side, to_numpy

import gpugrad

SHAPES = [(3, 4), (5,), (), (2, 3, 2), (1, 6), (4,)]
STEPS = 8

# options of both groups, options only the second group overrides
CASES = [
    ({}, {}),
    ({"lr": 0.05, "weight_decay": 0.1}, {"maximize": True}),
    ({"maximize": True, "beta2_decay": -0.5}, {"eps": (1e-4, 1e-2), "d": 2.0}),
    ({"lr": 0.5, "eps": (1e-3, 0.1)}, {"lr": 0.02, "weight_decay": 0.3, "beta2_decay": 0.0}),
    ({"d": 1.2, "foreach": True}, {"eps": (None, 0.5)}),
]


def _values(dtype, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    weights[4] *= 1e-4  # an RMS below eps2: eps2 sets its step size
    # gradients of very different sizes from step to step: the update clipping acts on some
    grads = [[(rng.standard_normal(s) * 10.0 ** rng.integers(-3, 3)).astype(dtype)
              for s in SHAPES] for _ in range(STEPS)]
    return weights, grads


def _make(m, common, second, weights):
    params = [m.tensor(w.copy()).requires_grad_() for w in weights]
    groups = [{"params": params[:3]}, dict(second, params=params[3:])]
    return params, m.optim.Adafactor(groups, **common)


def _feed(m, params, grads, step):
    for i, (p, g) in enumerate(zip(params, grads)):
        # the second parameter skips every third step (its step count lags behind); the last
        # never gets a gradient (no state)
        skip = (i == 1 and step % 3 == 2) or i == len(params) - 1
        p.grad = None if skip else m.tensor(g.copy())


def _tol(dtype):
    return dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)


def _run_both(common, second, weights, grads, dtype):
    ours, theirs = _make(gpugrad, common, second, weights), _make(torch, common, second, weights)
    step_side_by_side(ours, theirs, _feed, grads, _tol(dtype))
    return ours[0], theirs[0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("common,second", CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_step_matches_torch(common, second, dtype):
    weights, grads = _values(dtype)
    g_params, _ = _run_both(common, second, weights, grads, dtype)
    np.testing.assert_array_equal(to_numpy(g_params[-1]), weights[-1])  # never had a gradient


def test_default_eps1_is_the_first_parameters_dtype_eps_for_the_whole_group():
    """Gradients so small that ``eps1`` bounds their update: float32's epsilon serves a float64
    parameter after a float32 one in the same group, float64's when it comes first."""
    rng = np.random.default_rng(2)
    w32, w64 = rng.standard_normal(4).astype("float32"), rng.standard_normal((2, 3))
    tiny = [rng.standard_normal(w.shape).astype(w.dtype) * 1e-10 for w in (w32, w64)]
    float64_results = []
    for order in ((0, 1), (1, 0)):
        out = []
        for m in (gpugrad, torch):
            params = [m.tensor(w.copy()).requires_grad_() for w in (w32, w64)]
            opt = m.optim.Adafactor([params[i] for i in order])
            for _ in range(3):
                for p, g in zip(params, tiny):
                    p.grad = m.tensor(g.copy())
                opt.step()
            out.append([to_numpy(p) for p in params])
        for g_value, t_value in zip(*out):
            np.testing.assert_allclose(g_value, t_value, rtol=2e-6, atol=1e-7)
        float64_results.append(out[0][1])
    # the order shows: float64's own epsilon moves the float64 parameter much further
    moved = [np.abs(r - w64).max() for r in float64_results]
    assert moved[1] > 100 * moved[0]


def test_an_empty_parameter_is_left_alone():
    """PyTorch divides by zero (the RMS of no elements) and raises ``ZeroDivisionError``;
    gpugrad updates the other parameters and leaves the empty one (and its factors) as they
    were."""
    p, q = gpugrad.zeros(2, 0, requires_grad=True), gpugrad.ones(3, requires_grad=True)
    opt = gpugrad.optim.Adafactor([p, q])
    p.grad, q.grad = gpugrad.zeros(2, 0), gpugrad.ones(3)
    opt.step()
    assert p.shape == (2, 0) and not np.allclose(q.detach().numpy(), 1.0)
    assert opt.state[p]["row_var"].shape == (2, 1) and opt.state[p]["col_var"].shape == (1, 0)
    np.testing.assert_array_equal(opt.state[p]["row_var"].numpy(), 0.0)


def test_float64_default_dtype_keeps_a_float64_step_as_torch():
    dtypes = []
    for m in (gpugrad, torch):
        previous = m.get_default_dtype()
        m.set_default_dtype(m.float64)
        try:
            p = m.ones(2, 2, requires_grad=True)
            opt = m.optim.Adafactor([p])
            p.grad = m.ones(2, 2)
            opt.step()
            dtypes.append({k: str(v.dtype).split(".")[-1] for k, v in opt.state[p].items()})
        finally:
            m.set_default_dtype(previous)
    assert dtypes[0] == dtypes[1] == {"step": "float64", "row_var": "float64",
                                      "col_var": "float64"}


@pytest.mark.parametrize("common,second", CASES[1:3], ids=["1", "2"])
def test_state_dicts_load_both_ways(common, second):
    """Three steps in PyTorch, its state dict loaded into a fresh gpugrad optimizer (and
    gpugrad's into a fresh PyTorch one); the next steps agree with the uninterrupted run."""
    weights, grads = _values("float64", seed=1)
    t_params, t_opt = _make(torch, common, second, weights)
    for step in range(3):
        _feed(torch, t_params, grads[step], step)
        t_opt.step()
    now = [to_numpy(p).copy() for p in t_params]
    g_params, g_opt = _make(gpugrad, {}, {}, now)  # options come from the state dict
    g_opt.load_state_dict(state_dict_for(gpugrad, t_opt.state_dict()))
    t2_params, t2_opt = _make(torch, {}, {}, now)
    t2_opt.load_state_dict(state_dict_for(torch, g_opt.state_dict()))
    assert_state_equal(g_opt, t2_opt, _tol("float64"))
    for step in range(3, STEPS):
        for m, params, opt in ((gpugrad, g_params, g_opt), (torch, t_params, t_opt),
                               (torch, t2_params, t2_opt)):
            _feed(m, params, grads[step], step)
            opt.step()
    for gp, tp, tp2 in zip(g_params, t_params, t2_params):
        np.testing.assert_allclose(to_numpy(gp), to_numpy(tp2), **_tol("float64"))
        np.testing.assert_allclose(to_numpy(gp), to_numpy(tp), **_tol("float64"))
    assert_state_equal(g_opt, t2_opt, _tol("float64"))


BAD_OPTIONS = [
    {"lr": -1.0}, {"lr": float("nan")}, {"beta2_decay": 0.1}, {"eps": (-1.0, 1e-3)},
    {"eps": (None, -1.0)}, {"d": 0.5}, {"weight_decay": -1.0},
    {"lr": "tensor"},  # a 2-element tensor
    {"fused": True}, {"differentiable": True},  # not Adafactor's: TypeError
]


@pytest.mark.parametrize("kwargs", BAD_OPTIONS, ids=["-".join(k) for k in BAD_OPTIONS])
def test_bad_options_raise_as_torch(kwargs):
    raised = []
    for m in (gpugrad, torch):
        kw = {k: m.tensor([0.1, 0.2]) if v == "tensor" else v for k, v in kwargs.items()}
        with pytest.raises(Exception) as info:
            m.optim.Adafactor([m.zeros(2, requires_grad=True)], **kw)
        raised.append(info.value)
    assert type(raised[0]) is type(raised[1])
    if not isinstance(raised[1], TypeError):  # a TypeError names the function
        assert str(raised[0]) == str(raised[1])


def test_defaults_and_repr_as_torch():
    out = []
    for m in (gpugrad, torch):
        opt = m.optim.Adafactor([m.zeros(2, requires_grad=True)])
        out.append((opt.defaults, repr(opt)))
    assert out[0] == out[1]
