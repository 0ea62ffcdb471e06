"""Adagrad, Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop and SparseAdam against PyTorch: the
same gradients on the same parameters (several shapes, two param groups with different
options, one parameter skipping steps), parameters and state compared after every step;
state dicts both ways; constructor checks; the implementation options."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from optim_state import assert_state_equal, state_dict_for, step_side_by_side, to_numpy

import gpugrad

SHAPES = [(3, 4), (5,), (), (2, 0), (2, 3, 2)]
STEPS = 8

# name, options of both groups, options only the second group overrides
CASES = [
    ("Adagrad", {"lr": 0.1}, {"lr_decay": 0.05, "weight_decay": 0.1, "eps": 1e-6}),
    ("Adagrad", {"lr": 0.05, "initial_accumulator_value": 0.3, "maximize": True},
     {"weight_decay": 0.2}),
    ("Adadelta", {}, {"lr": 0.5, "rho": 0.7, "weight_decay": 0.1}),
    ("Adadelta", {"eps": 1e-4, "maximize": True}, {"weight_decay": 0.05}),
    ("Adamax", {"lr": 0.01}, {"betas": (0.5, 0.8), "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.02, "maximize": True, "eps": 1e-3}, {"weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01}, {"momentum_decay": 0.05, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
     {"betas": (0.8, 0.9), "maximize": True}),
    ("RAdam", {"lr": 0.01}, {"weight_decay": 0.1, "betas": (0.3, 0.6)}),  # rho_t > 5 at t=6
    ("RAdam", {"lr": 0.01, "betas": (0.5, 0.5), "decoupled_weight_decay": True,
               "weight_decay": 0.2}, {"maximize": True}),
    ("ASGD", {"lr": 0.05, "t0": 2, "lambd": 0.01}, {"weight_decay": 0.1, "alpha": 0.5}),
    ("ASGD", {"lr": 0.03, "maximize": True}, {"t0": 0, "lr": 0.1}),
    ("Rprop", {"lr": 0.05}, {"etas": (0.3, 1.5), "step_sizes": (0.02, 0.2)}),
    ("Rprop", {"lr": 0.01, "maximize": True}, {"lr": 0.1}),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


def _values(dtype, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    # small integers in the gradients make exact sign agreements and ties (Rprop) likely
    grads = [[np.round(rng.standard_normal(s) * 2).astype(dtype) / 2 for s in SHAPES]
             for _ in range(STEPS)]
    return weights, grads


def _make(m, name, common, second, weights):
    params = [m.tensor(w.copy()).requires_grad_() for w in weights]
    groups = [{"params": params[:2]}, dict(second, params=params[2:])]
    return params, getattr(m.optim, name)(groups, **common)


def _feed(m, params, grads, step):
    for i, (p, g) in enumerate(zip(params, grads)):
        # the second parameter skips every third step: its state lags behind
        p.grad = None if (i == 1 and step % 3 == 2) else m.tensor(g.copy())


def _tol(dtype):
    return dict(rtol=1e-11, atol=1e-13) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name,common,second", CASES, ids=IDS)
def test_each_step_matches_torch(name, common, second, dtype):
    weights, grads = _values(dtype)
    step_side_by_side(_make(gpugrad, name, common, second, weights),
                      _make(torch, name, common, second, weights), _feed, grads,
                      _tol(dtype))


@pytest.mark.parametrize("name,common,second", CASES[::2], ids=IDS[::2])
def test_state_dicts_load_both_ways(name, common, second):
    """Three steps in PyTorch, its state dict's numbers loaded into a fresh gpugrad optimizer
    (and gpugrad's into a fresh PyTorch one); the next steps agree with each other and with the
    uninterrupted run (to float32's rounding: loading casts 0-d float32 state such as NAdam's
    ``mu_product`` to the parameters' dtype, in both libraries)."""
    weights, grads = _values("float64", seed=1)
    t_params, t_opt = _make(torch, name, common, second, weights)
    for step in range(3):
        _feed(torch, t_params, grads[step], step)
        t_opt.step()
    now = [to_numpy(p).copy() for p in t_params]
    g_params, g_opt = _make(gpugrad, name, {}, {}, now)  # options come from the state dict
    g_opt.load_state_dict(state_dict_for(gpugrad, t_opt.state_dict()))
    t2_params, t2_opt = _make(torch, name, {}, {}, now)
    t2_opt.load_state_dict(state_dict_for(torch, g_opt.state_dict()))
    assert_state_equal(g_opt, t2_opt, _tol("float64"))
    for step in range(3, STEPS):
        for m, params, opt in ((gpugrad, g_params, g_opt), (torch, t_params, t_opt),
                               (torch, t2_params, t2_opt)):
            _feed(m, params, grads[step], step)
            opt.step()
    for gp, tp, tp2 in zip(g_params, t_params, t2_params):
        np.testing.assert_allclose(to_numpy(gp), to_numpy(tp2), **_tol("float64"))
        np.testing.assert_allclose(to_numpy(gp), to_numpy(tp), rtol=1e-6, atol=1e-7)
    assert_state_equal(g_opt, t2_opt, _tol("float64"))


def test_float64_default_dtype_keeps_float64_scalars_as_torch():
    weights, grads = _values("float64")
    dtypes = {}
    for m in (gpugrad, torch):
        previous = m.get_default_dtype()
        m.set_default_dtype(m.float64)
        try:
            for name in ("NAdam", "ASGD", "Adam"):
                params, opt = _make(m, name, {}, {}, weights)
                _feed(m, params, grads[0], 0)
                opt.step()
                dtypes[m.__name__, name] = {k: str(v.dtype).split(".")[-1]
                                            for k, v in opt.state[params[0]].items()}
        finally:
            m.set_default_dtype(previous)
    for name in ("NAdam", "ASGD", "Adam"):
        assert dtypes["gpugrad", name] == dtypes["torch", name]
        assert dtypes["gpugrad", name]["step"] == "float64"


def test_adagrad_state_exists_before_the_first_step():
    weights, _ = _values("float32")
    out = []
    for m in (gpugrad, torch):
        _, opt = _make(m, "Adagrad", {"initial_accumulator_value": 0.5}, {}, weights)
        out.append(opt)
    assert_state_equal(out[0], out[1], _tol("float32"))
    assert len(out[0].state_dict()["state"]) == len(SHAPES)


BAD_OPTIONS = [
    ("Adagrad", {"lr": -0.1}), ("Adagrad", {"lr_decay": -1.0}),
    ("Adagrad", {"weight_decay": -1.0}), ("Adagrad", {"initial_accumulator_value": -1.0}),
    ("Adagrad", {"eps": -1.0}),
    ("Adadelta", {"lr": -1.0}), ("Adadelta", {"rho": 1.5}), ("Adadelta", {"eps": -1.0}),
    ("Adadelta", {"weight_decay": -0.5}),
    ("Adamax", {"lr": -1.0}), ("Adamax", {"eps": -1.0}), ("Adamax", {"betas": (1.0, 0.9)}),
    ("Adamax", {"betas": (0.9, -0.1)}), ("Adamax", {"weight_decay": -1.0}),
    ("NAdam", {"lr": -1.0}), ("NAdam", {"betas": (0.9, 1.0)}), ("NAdam", {"momentum_decay": -1}),
    ("NAdam", {"weight_decay": -1.0}), ("NAdam", {"eps": -1e-3}),
    ("RAdam", {"lr": -1.0}), ("RAdam", {"betas": (-0.1, 0.9)}), ("RAdam", {"eps": -1.0}),
    ("RAdam", {"weight_decay": -1.0}),
    ("ASGD", {"lr": -1.0}), ("ASGD", {"weight_decay": -1.0}),
    ("Rprop", {"lr": -1.0}), ("Rprop", {"etas": (1.2, 0.5)}), ("Rprop", {"etas": (0.0, 1.2)}),
    ("SparseAdam", {"lr": 0.0}), ("SparseAdam", {"eps": 0.0}),
    ("SparseAdam", {"betas": (0.9, 1.0)}),
    # the implementation options
    ("Adagrad", {"fused": True, "foreach": True}),
    ("Adagrad", {"fused": True, "differentiable": True}),
    ("NAdam", {"fused": True}), ("Rprop", {"fused": False}), ("SparseAdam", {"foreach": True}),
]


@pytest.mark.parametrize("name,kwargs", BAD_OPTIONS,
                         ids=[f"{n}-{'-'.join(k)}" for n, k in BAD_OPTIONS])
def test_bad_options_raise_as_torch(name, kwargs):
    raised = []
    for m in (gpugrad, torch):
        with pytest.raises(Exception) as info:
            getattr(m.optim, name)([m.zeros(2, requires_grad=True)], **kwargs)
        raised.append(info.value)
    assert type(raised[0]) is type(raised[1])
    if not isinstance(raised[1], TypeError):  # a TypeError names the function
        assert str(raised[0]) == str(raised[1])


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD",
                                  "Rprop", "SGD", "Adam", "RMSprop"])
def test_differentiable_is_refused_and_implementation_options_change_nothing(name):
    p = gpugrad.zeros(2, requires_grad=True)
    opt_class = getattr(gpugrad.optim, name)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        opt_class([p], lr=0.1, differentiable=True)
    names = getattr(torch.optim, name).__init__.__code__.co_varnames
    options = [{}] + [{k: True} for k in ("foreach", "fused") if k in names]
    results = []
    for kw in options:
        w = gpugrad.tensor([1.0, -2.0], requires_grad=True)
        opt = opt_class([w], lr=0.1, **kw)
        for _ in range(3):
            w.grad = gpugrad.tensor([0.5, -0.25])
            opt.step()
        results.append(w.detach().numpy())
    for r in results[1:]:
        np.testing.assert_array_equal(r, results[0])


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adamax", "NAdam", "RAdam",
                                  "ASGD", "Adadelta", "Rprop"])
def test_capturable_refuses_parameters_off_the_gpu_as_torch(name):
    raised = []
    for m in (gpugrad, torch):
        p = m.nn.Parameter(m.ones(2))
        opt = getattr(m.optim, name)([p], capturable=True)
        p.grad = m.ones(2)
        with pytest.raises(AssertionError) as info:
            opt.step()
        raised.append(str(info.value))
    assert raised[0] == raised[1]


def test_sparse_adam_refuses_dense_gradients_as_torch():
    raised = []
    for m in (gpugrad, torch):
        p = m.zeros(3, requires_grad=True)
        opt = m.optim.SparseAdam([p], lr=0.1)
        assert opt.step(lambda m=m: m.tensor(2.0)).item() == 2.0  # no gradient yet: nothing to do
        p.grad = m.ones(3)
        with pytest.raises(RuntimeError) as info:
            opt.step()
        raised.append(str(info.value))
    assert raised[0] == raised[1]


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam", "ASGD",
                                  "Rprop", "Adafactor"])
def test_closure_and_repr(name):
    out = []
    for m in (gpugrad, torch):
        p = m.tensor([1.0, -2.0], requires_grad=True)
        opt = getattr(m.optim, name)([p])

        def closure(p=p, opt=opt):
            opt.zero_grad()
            loss = (p * p).sum()
            loss.backward()
            return loss

        losses = [opt.step(closure).item() for _ in range(3)]
        out.append((losses, p.detach().numpy(), repr(opt)))
    assert out[0][0] == out[1][0] and out[0][2] == out[1][2]
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-6)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adagrad", "Rprop",
                                  "Adadelta", "RMSprop", "Adafactor", "ASGD"])
def test_a_step_count_that_is_an_int_is_refused_as_torch(name):
    """Code written for old PyTorch sets ``state["step"] = 0`` (A3C's shared Adam); current
    PyTorch wants a tensor and says so. (ASGD in PyTorch 2.13 leaves the int as it is and never
    counts; gpugrad refuses it as the others.)"""
    errors = []
    for lib in (gpugrad, torch):
        w = lib.nn.Parameter(lib.tensor([1.0, -2.0]))
        opt = getattr(lib.optim, name)([w], lr=0.1)
        (w ** 2).sum().backward()
        opt.step()
        opt.state[w]["step"] = 1
        if lib is torch and name == "ASGD":
            continue
        with pytest.raises(RuntimeError, match="`state_steps` argument must contain a list of "
                                               "singleton tensors") as info:
            opt.step()
        errors.append(str(info.value))
    assert len(set(errors)) == 1 or name == "ASGD"


@pytest.mark.parametrize("name", ["Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "RAdam",
                                  "Adamax", "Adadelta", "ASGD", "Rprop", "SGD"])
def test_a_parameter_listed_twice_warns_and_is_updated_twice_as_torch(name):
    import warnings

    results = []
    for m in (torch, gpugrad):
        layer = m.nn.Linear(2, 1).double()
        layer.load_state_dict({"weight": m.tensor([[0.3, -0.2]], dtype=m.float64),
                               "bias": m.tensor([0.1], dtype=m.float64)})
        w, b = layer.parameters()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            opt = getattr(m.optim, name)([w, b, w, b], lr=0.1)
        assert any("duplicate parameters" in str(c.message) for c in caught)
        for _ in range(3):
            opt.zero_grad()
            (layer(m.ones(1, 2, dtype=m.float64)) ** 2).sum().backward()
            opt.step()
        results.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy()]))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-12, atol=1e-12)
