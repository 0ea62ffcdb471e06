"""Muon against PyTorch: the same gradients on the same 2-D parameters (wide, tall, square,
one row, one column; two param groups with different options, one parameter skipping steps,
one given a zero gradient, one never given a gradient), parameters and momentum buffers
compared after every step; half-precision parameters; state dicts both ways; the checks of the
constructor and of ``step``.

PyTorch orthogonalizes in bfloat16, and gpugrad rounds its float32 products to bfloat16 values
in the same places; where a sum taken in another order rounds one element the other way, the
update differs by one bfloat16 step. So each step's update may differ by about
``lr' * 2^-8`` in a few elements (``lr'`` the adjusted learning rate); everything else agrees
to the parameter's precision."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from optim_state import assert_state_equal, state_dict_for, to_numpy

import gpugrad

SHAPES = [(4, 6), (6, 4), (5, 5), (1, 7), (7, 1), (24, 40)]
STEPS = 6

# options of both groups, options only the second group overrides
CASES = [
    ({}, {}),  # defaults: Nesterov, weight decay 0.1, the "original" lr adjustment
    ({"lr": 0.02, "nesterov": False}, {"adjust_lr_fn": "match_rms_adamw"}),
    ({"lr": 0.05, "weight_decay": 0.0, "adjust_lr_fn": "original"},
     {"momentum": 0.5, "nesterov": False}),
    ({"lr": 0.01, "momentum": 0.0, "adjust_lr_fn": "match_rms_adamw"},
     {"weight_decay": 0.3, "lr": 0.1}),
    ({"ns_coefficients": (2.0, -1.5, 0.5), "ns_steps": 3, "eps": 1e-3}, {"ns_steps": 0}),
]


def _values(dtype, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    # gradients of very different sizes from step to step (the iteration normalizes them)
    grads = [[(rng.standard_normal(s) * 10.0 ** rng.integers(-3, 3)).astype(dtype)
              for s in SHAPES] for _ in range(STEPS)]
    return weights, grads


def _make(m, common, second, weights):
    params = [m.tensor(w.copy()).requires_grad_() for w in weights]
    groups = [{"params": params[:3]}, dict(second, params=params[3:])]
    return params, m.optim.Muon(groups, **common)


def _feed(m, params, grads, step):
    for i, (p, g) in enumerate(zip(params, grads)):
        # the second parameter skips every third step (no gradient: left alone); the third's
        # first gradient is zero (a buffer, and no update but the decay); the fifth never gets
        # a gradient (no state)
        if (i == 1 and step % 3 == 2) or i == 4:
            p.grad = None
        else:
            p.grad = m.tensor(np.zeros_like(g) if (i == 2 and step == 0) else g.copy())


def _tol(dtype):
    return dict(rtol=1e-12, atol=1e-14) if dtype == "float64" else dict(rtol=2e-6, atol=2e-7)


def _update_lrs(opt):
    """The adjusted learning rate of each parameter, as ``torch.optim.Muon`` computes it."""
    out = []
    for group in opt.param_groups:
        for p in group["params"]:
            rows, cols = p.shape
            if group["adjust_lr_fn"] == "match_rms_adamw":
                out.append(group["lr"] * 0.2 * math.sqrt(max(rows, cols)))
            else:
                out.append(group["lr"] * math.sqrt(max(1, rows / cols)))
    return out


def _assert_params_close(g_params, t_params, t_opt, dtype, step, agreeing=0.9):
    """The parameters agree to their precision, but for bfloat16 roundings taken the other way
    in the orthogonalization: each element off by at most about one bfloat16 step of the
    update per step so far, and at least the ``agreeing`` share of them not at all."""
    for i, (gp, tp, update_lr) in enumerate(zip(g_params, t_params, _update_lrs(t_opt))):
        ours, theirs = to_numpy(gp), to_numpy(tp)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=update_lr * 2**-7 * (step + 1),
                                   err_msg=f"step {step} param {i}")
        close = np.isclose(ours, theirs, **_tol(dtype))
        assert close.mean() >= agreeing, f"step {step} param {i}: {close.mean():.0%} agree"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("common,second", CASES, ids=[str(i) for i in range(len(CASES))])
def test_each_step_matches_torch(common, second, dtype):
    weights, grads = _values(dtype)
    (g_params, g_opt), (t_params, t_opt) = (_make(gpugrad, common, second, weights),
                                            _make(torch, common, second, weights))
    for step, step_grads in enumerate(grads):
        _feed(gpugrad, g_params, step_grads, step)
        _feed(torch, t_params, step_grads, step)
        g_opt.step()
        t_opt.step()
        _assert_params_close(g_params, t_params, t_opt, dtype, step)
        # the buffers see only the gradients: they agree to the dtype's precision
        assert_state_equal(g_opt, t_opt, _tol(dtype))
    np.testing.assert_array_equal(to_numpy(g_params[4]), weights[4])  # never had a gradient
    assert set(g_opt.state[g_params[0]]) == {"momentum_buffer"}


def test_small_matrices_match_torch_bit_for_bit():
    """Few enough terms per sum that both libraries round every product the same way: the
    bfloat16 emulation gives PyTorch's update exactly."""
    w = np.random.default_rng(3).standard_normal((3, 5))
    results = []
    for m in (gpugrad, torch):
        p = m.tensor(w, requires_grad=True)
        opt = m.optim.Muon([p], lr=0.1, weight_decay=0.0, nesterov=False)
        p.grad = m.tensor(np.linspace(-1.0, 2.0, 15).reshape(3, 5))
        before = to_numpy(p).copy()
        opt.step()
        results.append((to_numpy(p) - before) / 0.1)
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_precision_parameters_follow_torch(dtype):
    """Computed in float32 and rounded to the parameter's dtype where PyTorch stores: the
    buffers agree exactly, the parameters to a rounding or two (PyTorch's CPU kernel rounds
    the scaled update itself on some elements, by their position)."""
    rng = np.random.default_rng(4)
    w = rng.standard_normal((6, 10))
    grads = [rng.standard_normal((6, 10)) for _ in range(STEPS)]
    out = []
    for m in (gpugrad, torch):
        p = m.tensor(w, dtype=getattr(m, dtype), requires_grad=True)
        opt = m.optim.Muon([p], lr=0.05)
        for g in grads:
            p.grad = m.tensor(g, dtype=getattr(m, dtype))
            opt.step()
        buf = opt.state[p]["momentum_buffer"]
        assert str(buf.dtype).split(".")[-1] == dtype
        out.append((p.detach().float().numpy(), buf.float().numpy()))
    np.testing.assert_array_equal(out[0][1], out[1][1])
    ulp = 2.0**-7 if dtype == "bfloat16" else 2.0**-10
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=3 * ulp, atol=3 * ulp)


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_then_step_as_torch(set_to_none):
    """After ``zero_grad()`` a step leaves the parameter alone; after
    ``zero_grad(set_to_none=False)`` it decays it and moves it by the decaying momentum."""
    rng = np.random.default_rng(5)
    w, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    out = []
    for m in (gpugrad, torch):
        p = m.tensor(w, requires_grad=True)
        opt = m.optim.Muon([p], lr=0.1, nesterov=False)
        p.grad = m.tensor(g)
        opt.step()
        after_one = to_numpy(p).copy()
        opt.zero_grad(set_to_none=set_to_none)
        opt.step()
        assert (p.grad is None) is set_to_none
        out.append((after_one, to_numpy(p).copy(),
                    to_numpy(opt.state[p]["momentum_buffer"]).copy()))
    for ours, theirs in zip(*out):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)
    if set_to_none:
        np.testing.assert_array_equal(out[0][1], out[0][0])


def test_tensor_lr_and_closure_as_torch():
    out = []
    for m in (gpugrad, torch):
        p = m.tensor([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]], requires_grad=True)
        opt = m.optim.Muon([p], lr=m.tensor(0.05))

        def closure(p=p, opt=opt):
            opt.zero_grad()
            loss = (p * p).sum()
            loss.backward()
            return loss

        losses = [opt.step(closure).item() for _ in range(3)]
        out.append((losses, to_numpy(p).copy()))
        assert isinstance(opt.param_groups[0]["lr"], m.Tensor)
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-6)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-6, atol=1e-7)


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
        _assert_params_close(g_params, t_params, t_opt, "float64", step - 3)
        _assert_params_close(g_params, t2_params, t2_opt, "float64", step - 3)
    assert_state_equal(g_opt, t2_opt, _tol("float64"))


def test_own_state_dict_round_trip():
    weights, grads = _values("float32", seed=2)
    params, opt = _make(gpugrad, {"lr": 0.03}, {"nesterov": False}, weights)
    for step in range(2):
        _feed(gpugrad, params, grads[step], step)
        opt.step()
    saved = copy.deepcopy(opt.state_dict())
    twin_params, twin = _make(gpugrad, {}, {}, [to_numpy(p).copy() for p in params])
    twin.load_state_dict(saved)
    for step in range(2, STEPS):
        for ps, o in ((params, opt), (twin_params, twin)):
            _feed(gpugrad, ps, grads[step], step)
            o.step()
    for p, q in zip(params, twin_params):
        np.testing.assert_array_equal(to_numpy(p), to_numpy(q))


BAD_OPTIONS = [
    {"lr": -1.0}, {"lr": float("nan")}, {"momentum": -0.5}, {"weight_decay": -1.0},
    {"adjust_lr_fn": "rms"}, {"adjust_lr_fn": "original", "lr": -0.1},
    {"lr": "tensor"},  # a 2-element tensor
    {"foreach": True}, {"fused": True}, {"maximize": True},  # not Muon's: TypeError
]


@pytest.mark.parametrize("kwargs", BAD_OPTIONS, ids=["-".join(k) for k in BAD_OPTIONS])
def test_bad_options_raise_as_torch(kwargs):
    raised = []
    for m in (gpugrad, torch):
        kw = {k: m.tensor([0.1, 0.2]) if v == "tensor" else v for k, v in kwargs.items()}
        with pytest.raises(Exception) as info:
            m.optim.Muon([m.zeros(2, 2, requires_grad=True)], **kw)
        raised.append(info.value)
    assert type(raised[0]) is type(raised[1])
    if not isinstance(raised[1], TypeError):  # a TypeError names the function
        assert str(raised[0]) == str(raised[1])


@pytest.mark.parametrize("shape", [(3,), (), (2, 3, 4), (1, 1, 1, 1)])
def test_parameters_not_2d_are_refused_as_torch(shape):
    raised = []
    for m in (gpugrad, torch):
        with pytest.raises(ValueError) as info:
            m.optim.Muon([m.zeros(2, 2, requires_grad=True), m.zeros(shape, requires_grad=True)])
        raised.append(str(info.value).replace("gpugrad.Size", "torch.Size"))
    assert raised[0] == raised[1]


@pytest.mark.parametrize("case", ["ns_steps", "ns_coefficients", "added_1d_group", "empty"])
def test_step_checks_as_torch(case):
    """What the constructor does not check, ``step`` does (PyTorch's types and messages)."""
    raised = []
    for m in (gpugrad, torch):
        p = m.ones(3, 2, requires_grad=True)
        kw = {"ns_steps": 100} if case == "ns_steps" else (
            {"ns_coefficients": (1.0, 2.0)} if case == "ns_coefficients" else {})
        if case == "empty":
            with pytest.raises(ValueError) as info:
                m.optim.Muon([], **kw)
            raised.append(str(info.value))
            continue
        opt = m.optim.Muon([p], **kw)
        p.grad = m.ones(3, 2)
        if case == "added_1d_group":  # only the constructor's groups are checked for 2-D
            q = m.ones(4, requires_grad=True)
            opt.add_param_group({"params": [q]})
            q.grad = m.ones(4)
        with pytest.raises(ValueError) as info:
            opt.step()
        raised.append(str(info.value))
    assert raised[0] == raised[1]


def test_defaults_repr_and_export_as_torch():
    out = []
    for m in (gpugrad, torch):
        opt = m.optim.Muon([m.zeros(2, 3, requires_grad=True)])
        out.append((opt.defaults, repr(opt)))
    assert out[0] == out[1]
    assert "Muon" in gpugrad.optim.__all__ and "Muon" in torch.optim.__all__


def test_empty_parameters_as_torch():
    """No rows: nothing to orthogonalize, the other parameters step. No columns: PyTorch's
    lr adjustment divides by the column count, and so does gpugrad's."""
    out = []
    for m in (gpugrad, torch):
        p, q = m.zeros(0, 3, requires_grad=True), m.ones(2, 2, requires_grad=True)
        opt = m.optim.Muon([p, q], lr=0.1)
        p.grad, q.grad = m.zeros(0, 3), m.ones(2, 2)
        opt.step()
        assert p.shape == (0, 3) and opt.state[p]["momentum_buffer"].shape == (0, 3)
        out.append(to_numpy(q).copy())
        r = m.zeros(3, 0, requires_grad=True)
        opt = m.optim.Muon([r])
        r.grad = m.zeros(3, 0)
        with pytest.raises(ZeroDivisionError):
            opt.step()
    np.testing.assert_allclose(out[0], out[1], rtol=1e-6)


@pytest.mark.gpu
def test_cuda_steps_match_torch_on_the_cpu():
    """The same twin on CuPy arrays: cuBLAS sums in its own order, so any element may be a
    bfloat16 rounding away from PyTorch's."""
    weights, grads = _values("float32", seed=6)
    g_params = [gpugrad.tensor(w.copy(), device="cuda").requires_grad_() for w in weights]
    g_opt = gpugrad.optim.Muon([{"params": g_params[:3]},
                                {"params": g_params[3:], "nesterov": False}], lr=0.02)
    t_params, t_opt = _make(torch, {"lr": 0.02}, {"nesterov": False}, weights)
    for step, step_grads in enumerate(grads):
        for p, g in zip(g_params, step_grads):
            p.grad = gpugrad.tensor(g.copy(), device="cuda")
        for p, g in zip(t_params, step_grads):
            p.grad = torch.tensor(g.copy())
        g_opt.step()
        t_opt.step()
        _assert_params_close([p.cpu() for p in g_params], t_params, t_opt, "float32", step,
                             agreeing=0.0)
    assert g_opt.state[g_params[0]]["momentum_buffer"].device.type == "cuda"
