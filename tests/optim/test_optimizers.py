"""Optimizers against PyTorch: parameter trajectories over 20 steps across options, param
groups, skipped parameters, zero_grad, state dicts, version counters."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

import gpugrad

STEPS = 20


def _model(m, dtype):
    model = m.nn.Sequential(m.nn.Linear(6, 8), m.nn.Tanh(), m.nn.Linear(8, 3))
    return model.double() if dtype == "float64" else model


def _data(dtype):
    rng = np.random.default_rng(0)
    return rng.standard_normal((32, 6)).astype(dtype), rng.integers(0, 3, 32)


def _train(m, opt_name, kwargs, dtype, init_state, steps=STEPS, groups=None, sched=None):
    model = _model(m, dtype)
    model.load_state_dict({k: (v if m is torch else v.numpy()) for k, v in init_state.items()})
    params = model.parameters() if groups is None else groups(model)
    opt = getattr(m.optim, opt_name)(params, **kwargs)
    scheduler = sched(m, opt) if sched else None
    x, y = _data(dtype)
    for i in range(steps):
        opt.zero_grad()
        idx = slice(8 * (i % 4), 8 * (i % 4) + 8)
        loss = m.nn.functional.cross_entropy(model(m.tensor(x[idx])), m.tensor(y[idx]))
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
    return model, opt


def _init_state(dtype):
    torch.manual_seed(0)
    return {k: v.detach().clone() for k, v in _model(torch, dtype).state_dict().items()}


def _assert_same(g_model, t_model, dtype):
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-5, atol=2e-6)
    for (name, gp), (_, tp) in zip(g_model.named_parameters(), t_model.named_parameters()):
        np.testing.assert_allclose(gp.detach().numpy(), tp.detach().numpy(), **tol,
                                   err_msg=name)


CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("Adam", {"lr": 0.01, "maximize": True, "amsgrad": True, "weight_decay": 0.05}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.005, "alpha": 0.9, "centered": True}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.9, "weight_decay": 0.01}),
    ("RMSprop", {"lr": 0.005, "momentum": 0.5, "centered": True, "maximize": True}),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_trajectory_matches_torch_after_20_steps(name, kwargs, dtype):
    init_state = _init_state(dtype)
    g_model, g_opt = _train(gpugrad, name, kwargs, dtype, init_state)
    t_model, t_opt = _train(torch, name, kwargs, dtype, init_state)
    _assert_same(g_model, t_model, dtype)
    g_state = g_opt.state_dict()["state"]
    t_state = t_opt.state_dict()["state"]
    assert sorted(g_state) == sorted(t_state)
    for i in t_state:
        assert sorted(g_state[i]) == sorted(t_state[i])
        for key, value in t_state[i].items():
            np.testing.assert_allclose(g_state[i][key].numpy(), value.numpy(), rtol=1e-4,
                                       atol=1e-6)


def test_param_groups_and_skipped_params_match_torch():
    def groups(model):
        return [{"params": model[0].parameters(), "lr": 0.01},
                {"params": model[2].parameters(), "betas": (0.5, 0.9)}]

    init_state = _init_state("float64")
    results = []
    for m in (gpugrad, torch):
        model, opt = _train(m, "Adam", {"lr": 0.05}, "float64", init_state, groups=groups,
                            steps=5)
        model[2].bias.grad = None  # this one skips a step: its state must lag behind
        opt.step()
        results.append((model, opt))
    _assert_same(results[0][0], results[1][0], "float64")
    assert results[0][1].state_dict()["param_groups"] == [
        {k: v for k, v in g.items()} for g in results[1][1].state_dict()["param_groups"]]
    g_steps = [s["step"].item() for s in results[0][1].state_dict()["state"].values()]
    assert g_steps == [6.0, 6.0, 6.0, 5.0]


def test_zero_grad_and_version_counters():
    model = _model(gpugrad, "float32")
    opt = gpugrad.optim.SGD(model.parameters(), lr=0.1)
    model(gpugrad.ones(2, 6)).sum().backward()
    versions = [p._version for p in model.parameters()]
    opt.step()
    assert [p._version for p in model.parameters()] == [v + 1 for v in versions]
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and p.grad.abs().sum().item() == 0
               for p in model.parameters())
    opt.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    opt.step()  # nothing has a gradient: nothing changes
    assert [p._version for p in model.parameters()] == [v + 1 for v in versions]


def test_step_invalidates_saved_tensors_of_old_graph():
    lin = gpugrad.nn.Linear(3, 1)
    opt = gpugrad.optim.SGD(lin.parameters(), lr=0.1)
    out = (lin(gpugrad.ones(2, 3, requires_grad=True)) ** 2).sum()
    out.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9}),
                                         ("Adam", {"lr": 0.01, "amsgrad": True}),
                                         ("RMSprop", {"lr": 0.01, "centered": True,
                                                      "momentum": 0.5})])
def test_state_dict_resume_equals_uninterrupted(name, kwargs):
    init_state = {k: gpugrad.tensor(v.numpy()) for k, v in _init_state("float64").items()}
    straight, _ = _train(gpugrad, name, kwargs, "float64", init_state, steps=10)
    first, opt = _train(gpugrad, name, kwargs, "float64", init_state, steps=5)
    buf = io.BytesIO()
    gpugrad.save({"model": first.state_dict(), "optim": opt.state_dict()}, buf)
    buf.seek(0)
    checkpoint = gpugrad.load(buf)
    resumed = _model(gpugrad, "float64")
    resumed.load_state_dict(checkpoint["model"])
    opt2 = getattr(gpugrad.optim, name)(resumed.parameters(), **kwargs)
    opt2.load_state_dict(checkpoint["optim"])
    x, y = _data("float64")
    for i in range(5, 10):
        opt2.zero_grad()
        idx = slice(8 * (i % 4), 8 * (i % 4) + 8)
        gpugrad.nn.functional.cross_entropy(resumed(gpugrad.tensor(x[idx])),
                                            gpugrad.tensor(y[idx])).backward()
        opt2.step()
    for a, b in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_load_state_dict_casts_state_to_parameter_dtype():
    p = gpugrad.nn.Parameter(gpugrad.zeros(3))
    opt = gpugrad.optim.Adam([p])
    state = {"state": {0: {"step": gpugrad.tensor(3.0), "exp_avg": gpugrad.ones(3,
                                                                                dtype=gpugrad.float64),
                           "exp_avg_sq": gpugrad.ones(3, dtype=gpugrad.float64)}},
             "param_groups": [dict(opt.param_groups[0], params=[0], lr=0.5)]}
    opt.load_state_dict(state)
    assert opt.state[p]["exp_avg"].dtype == gpugrad.float32
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["params"][0] is p
    with pytest.raises(ValueError, match="doesn't match the size"):
        opt.load_state_dict({"state": {}, "param_groups": [dict(state["param_groups"][0],
                                                                params=[0, 1])]})


def test_constructor_errors():
    p = [gpugrad.nn.Parameter(gpugrad.zeros(2))]
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        gpugrad.optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires"):
        gpugrad.optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        gpugrad.optim.Adam(p, betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="empty parameter list"):
        gpugrad.optim.Adam([])
    with pytest.raises(TypeError, match="iterable of Tensors"):
        gpugrad.optim.Adam(p[0])
    with pytest.raises(ValueError, match="more than one parameter group"):
        gpugrad.optim.SGD([{"params": p}, {"params": p}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        gpugrad.optim.SGD([p[0] * 2], lr=0.1)


def test_closure_and_repr():
    p = gpugrad.nn.Parameter(gpugrad.tensor([1.0, -2.0]))
    opt = gpugrad.optim.SGD([p], lr=0.5)

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 5.0
    np.testing.assert_allclose(p.detach().numpy(), [0.0, 0.0])
    t_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
    assert repr(opt) == repr(t_opt)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_bfloat16_parameters_keep_state_as_torch(name):
    """bfloat16 parameters: the optimizer's state in the parameters' dtype (PyTorch's choice:
    no float32 master copy), the step count in float32, the same updates to bfloat16 rounding."""
    rng = np.random.default_rng(3)
    w = rng.standard_normal((6, 4)).astype(np.float32)
    grads = [rng.standard_normal((6, 4)).astype(np.float32) for _ in range(3)]
    kw = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.01}
    out = {}
    for m in (gpugrad, torch):
        p = m.tensor(w).to(m.bfloat16).requires_grad_()
        opt = getattr(m.optim, name)([p], **kw)
        for g in grads:
            p.grad = m.tensor(g).to(m.bfloat16)
            opt.step()
        out[m.__name__] = (p.detach().float().numpy(),
                           {k: v.dtype.name if hasattr(v.dtype, "name") else str(v.dtype)
                            for k, v in opt.state[p].items()})
    assert out["gpugrad"][1] == {k: v.removeprefix("torch.") for k, v in out["torch"][1].items()}
    np.testing.assert_allclose(out["gpugrad"][0], out["torch"][0], rtol=2e-2, atol=8e-3)
