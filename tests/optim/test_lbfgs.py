"""LBFGS against PyTorch's on the same problems, step by step: parameters and returned losses
after every ``step(closure)`` (float64: the same iterates to 1e-9), with and without the strong
Wolfe line search, short histories, evaluation limits and tolerances; state dicts; errors."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch

import gpugrad


def _problem(m, dtype, seed=0):
    """A small tanh network fitting a smooth target: a closure, the model and its params."""
    rng = np.random.default_rng(seed)
    x = m.tensor(rng.standard_normal((24, 3)).astype(dtype))
    y = m.tensor(np.sin(rng.standard_normal((24, 1))).astype(dtype))
    model = m.nn.Sequential(m.nn.Linear(3, 6), m.nn.Tanh(), m.nn.Linear(6, 1))
    model.to(getattr(m, dtype))
    params = [np.random.default_rng(seed + 1).standard_normal(tuple(p.shape)).astype(dtype) * 0.5
              for p in model.parameters()]
    with m.no_grad():
        for p, v in zip(model.parameters(), params):
            p.copy_(m.tensor(v))
    return model, x, y


def _run(m, dtype, steps, **kw):
    model, x, y = _problem(m, dtype)
    opt = m.optim.LBFGS(model.parameters(), **kw)

    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    trace = []
    for _ in range(steps):
        loss = opt.step(closure)
        trace.append((loss.item(), [p.detach().numpy().copy() for p in model.parameters()]))
    return trace, opt


# Rounding differences (summation order) grow by orders of magnitude over tens of L-BFGS
# iterations on any problem, so the runs are kept to about 15 iterations.
CASES = [
    {"max_iter": 5},
    {"max_iter": 5, "line_search_fn": "strong_wolfe"},
    {"lr": 0.5, "max_iter": 4, "history_size": 3},
    {"line_search_fn": "strong_wolfe", "max_iter": 6, "history_size": 2, "max_eval": 7},
    {"line_search_fn": "strong_wolfe", "lr": 2.0, "max_iter": 5, "tolerance_change": 1e-3},
    {"max_iter": 1},
    {"tolerance_grad": 0.3, "line_search_fn": "strong_wolfe"},
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kw", CASES, ids=[str(c) for c in CASES])
def test_iterates_match_torch(kw, dtype):
    ours, g_opt = _run(gpugrad, dtype, 3, **kw)
    theirs, t_opt = _run(torch, dtype, 3, **kw)
    tol = dict(rtol=1e-9, atol=1e-11) if dtype == "float64" else dict(rtol=1e-3, atol=1e-4)
    for (g_loss, g_params), (t_loss, t_params) in zip(ours, theirs):
        np.testing.assert_allclose(g_loss, t_loss, **tol)
        for a, b in zip(g_params, t_params):
            np.testing.assert_allclose(a, b, **tol)
    g_state, t_state = g_opt.state_dict()["state"][0], t_opt.state_dict()["state"][0]
    assert g_state["func_evals"] == t_state["func_evals"]
    assert g_state["n_iter"] == t_state["n_iter"]
    assert len(g_state["old_dirs"]) == len(t_state["old_dirs"])
    assert ours[-1][0] < ours[0][0]
    # the state holds what PyTorch's holds: the two-loop coefficients ("al") and the scalars
    # as 0-d tensors of the parameters' dtype
    assert sorted(g_state) == sorted(t_state)
    for key in ("H_diag", "ro", "al"):
        if key not in t_state:
            continue
        ours_, theirs_ = (st[key] if isinstance(st[key], list) else [st[key]]
                          for st in (g_state, t_state))
        assert len(ours_) == len(theirs_)
        for a, b in zip(ours_, theirs_):
            assert isinstance(a, gpugrad.Tensor) == isinstance(b, torch.Tensor), key
            if isinstance(b, torch.Tensor):
                assert a.dim() == b.dim() == 0 and a.dtype.name == str(b.dtype)[6:], key


def test_strong_wolfe_takes_the_same_line_search_steps_on_rosenbrock():
    def run(m):
        xy = m.tensor([-1.5, 2.0], dtype=m.float64, requires_grad=True)
        opt = m.optim.LBFGS([xy], line_search_fn="strong_wolfe", max_iter=50)
        evals = []

        def closure():
            opt.zero_grad()
            loss = (1 - xy[0]) ** 2 + 100 * (xy[1] - xy[0] ** 2) ** 2
            loss.backward()
            evals.append(xy.detach().numpy().copy())
            return loss

        opt.step(closure)
        return np.array(evals), xy.detach().numpy()

    (g_evals, g_x), (t_evals, _) = run(gpugrad), run(torch)
    assert g_evals.shape == t_evals.shape  # every trial point of every line search
    np.testing.assert_allclose(g_evals, t_evals, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(g_x, [1.0, 1.0], atol=1e-4)


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_step_runs_without_grad_and_hooks_with_it(m):
    """The step's body is under no_grad (its float(loss) gives no requires_grad warning) while
    the closure and the step hooks run with grad enabled."""
    model, x, y = _problem(m, "float64")
    opt = m.optim.LBFGS(model.parameters(), max_iter=3)
    seen = []
    opt.register_step_pre_hook(lambda *args: seen.append(("hook", m.is_grad_enabled())))

    def closure():
        seen.append(("closure", m.is_grad_enabled()))
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = opt.step(closure)
    assert loss.requires_grad and seen[:2] == [("hook", True), ("closure", True)]
    assert {grad for _, grad in seen} == {True}


def test_state_dict_resumes_the_same_run():
    full, _ = _run(gpugrad, "float64", 3, line_search_fn="strong_wolfe", history_size=4)
    model, x, y = _problem(gpugrad, "float64")
    opt = gpugrad.optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe", history_size=4)

    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    opt.step(closure)
    buf = io.BytesIO()
    gpugrad.save({"model": model.state_dict(), "opt": opt.state_dict()}, buf)
    buf.seek(0)
    saved = gpugrad.load(buf)
    model2, _, _ = _problem(gpugrad, "float64")
    model2.load_state_dict(saved["model"])
    opt2 = gpugrad.optim.LBFGS(model2.parameters(), line_search_fn="strong_wolfe",
                               history_size=4)
    opt2.load_state_dict(saved["opt"])
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]

    def closure2():
        opt2.zero_grad()
        loss = ((model2(x) - y) ** 2).mean()
        loss.backward()
        return loss

    for _, params in full[1:]:
        opt2.step(closure2)
        for a, b in zip(model2.parameters(), params):
            np.testing.assert_allclose(a.detach().numpy(), b, rtol=1e-12)


def test_already_optimal_returns_after_one_evaluation():
    w = gpugrad.zeros(3, requires_grad=True)
    calls = []

    def closure():
        calls.append(gpugrad.is_grad_enabled())
        w.grad = None
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    with gpugrad.no_grad():
        assert float(gpugrad.optim.LBFGS([w]).step(closure)) == 0.0
    assert calls == [True]  # one evaluation, with grad mode on inside step


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_errors_as_torch(m):
    w = m.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        m.optim.LBFGS([w], lr=-1)
    with pytest.raises(ValueError, match="per-parameter options"):
        m.optim.LBFGS([{"params": [w]}, {"params": [m.zeros(1, requires_grad=True)]}])
    opt = m.optim.LBFGS([w], line_search_fn="backtracking")

    def closure():
        opt.zero_grad()
        loss = ((w - 1) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
    assert m.optim.LBFGS([w], max_iter=8).defaults["max_eval"] == 10
