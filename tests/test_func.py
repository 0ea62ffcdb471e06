"""``gpugrad.func`` (grad, grad_and_value, vjp, jacrev, jacfwd, hessian, vmap, functional_call)
against ``torch.func``: the usual compositions (per-sample gradients, ensembles, Hessians)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

RNG = np.random.default_rng(0)
X = RNG.standard_normal((6, 3))
Y = RNG.standard_normal((6,))
W = RNG.standard_normal((3,))


def _close(a, b, tol=1e-10):
    if isinstance(b, dict):
        assert sorted(a) == sorted(b)
        a, b = [a[k] for k in sorted(a)], [b[k] for k in sorted(b)]
    if isinstance(b, (tuple, list)):
        assert len(a) == len(b)
        for p, q in zip(a, b):
            _close(p, q, tol)
        return
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def _both(fn):
    return fn(gpugrad), fn(torch)


def loss(m, w, x, y):
    return ((x @ w).tanh() - y).pow(2).mean()


def test_grad_and_value_argnums_has_aux():
    def run(m):
        t = lambda a: m.tensor(a)  # noqa: E731
        g = m.func.grad(lambda w, x, y: loss(m, w, x, y))(t(W), t(X), t(Y))
        g2 = m.func.grad(lambda w, x, y: loss(m, w, x, y), argnums=(0, 1))(t(W), t(X), t(Y))
        gv = m.func.grad_and_value(lambda w: (loss(m, w, t(X), t(Y)), w.sum()),
                                   has_aux=True)(t(W))
        return g, g2, gv[0], gv[1][0], gv[1][1]
    _close(*_both(run))


def test_per_sample_gradients_with_vmap_of_grad():
    def run(m):
        t = lambda a: m.tensor(a)  # noqa: E731
        per_sample = m.func.vmap(m.func.grad(lambda w, x, y: loss(m, w, x[None], y[None])),
                                 in_dims=(None, 0, 0))
        return per_sample(t(W), t(X), t(Y))
    ours, theirs = _both(run)
    assert tuple(ours.shape) == (6, 3)
    _close(ours, theirs)


def test_grad_of_grad_and_hessian_and_jacrev():
    def run(m):
        f = lambda x: (x.sin() * x ** 2).sum()  # noqa: E731
        x = m.tensor(W)
        gg = m.func.grad(lambda v: m.func.grad(f)(v).sum())(x)
        h = m.func.hessian(f)(x)
        j = m.func.jacrev(lambda v: v.exp() * v.sum())(x)
        jf = m.func.jacfwd(lambda v: v.exp() * v.sum())(x)
        j2 = m.func.jacrev(lambda a, b: (a * b, a.sum() * b), argnums=(0, 1))(x, x + 1)
        return gg, h, j, jf, j2
    _close(*_both(run))


def test_vjp():
    def run(m):
        x = m.tensor(X)
        out, fn = m.func.vjp(lambda a: (a.exp(), a.sum(0)), x)
        return out, fn((m.ones(6, 3, dtype=m.float64), m.tensor(W)))
    _close(*_both(run))


def test_vmap_in_out_dims_and_randomness():
    a_np, b_np = RNG.standard_normal((4, 5)), RNG.standard_normal((5, 4))

    def run(m):
        a, b = m.tensor(a_np), m.tensor(b_np)
        r1 = m.func.vmap(lambda u, v: u * v, in_dims=(0, 1))(a, b)
        r2 = m.func.vmap(lambda u: (u.sum(), u * 2), out_dims=(0, 1))(a)
        return r1, r2
    _close(*_both(run))
    for m in (gpugrad, torch):
        def noisy(u, m=m):
            return u + m.rand(())

        with pytest.raises(RuntimeError, match="randomness error mode"):
            m.func.vmap(noisy)(m.ones(3))
        same = m.func.vmap(noisy, randomness="same")(m.zeros(3))
        assert len(set(same.tolist())) == 1
        different = m.func.vmap(noisy, randomness="different")(m.zeros(3))
        assert len(set(different.tolist())) == 3
        with pytest.raises(ValueError, match="same size in the mapped dimension"):
            m.func.vmap(lambda u, v: u + v)(m.ones(3), m.ones(4))


def test_functional_call_ensemble():
    """Model ensembling as the torch.func tutorial writes it: stacked parameters, vmap over
    functional_call."""
    def run(m):
        m.manual_seed(0)
        models = [m.nn.Linear(3, 2).double() for _ in range(4)]
        rng = np.random.default_rng(5)
        with m.no_grad():
            for mod in models:
                for p in mod.parameters():
                    p.copy_(m.tensor(rng.standard_normal(tuple(p.shape))))
        params = {k: m.stack([dict(mod.named_parameters())[k].detach() for mod in models])
                  for k in ("weight", "bias")}
        x = m.tensor(X)
        return m.func.vmap(lambda p, data: m.func.functional_call(models[0], p, (data,)),
                           in_dims=(0, None))(params, x)
    _close(*_both(run))


def test_errors_as_pytorch():
    for m in (gpugrad, torch):
        with pytest.raises(RuntimeError, match="Expected f\\(\\*args\\) to return a scalar"):
            m.func.grad(lambda x: x * 2)(m.ones(3))
        with pytest.raises(RuntimeError, match="only 1 positional inputs"):
            m.func.grad(lambda x: x.sum(), argnums=1)(m.ones(3))


def test_grad_of_tuple_list_and_dict_arguments():
    def run(m):
        p = {"w": m.tensor(W), "b": (m.tensor(W[0]), [m.tensor(W[1])])}
        x = m.tensor(X)

        def f(p, xs):
            return (p["w"] * p["b"][0] * p["b"][1][0].exp()).sum() + (xs[0] ** 2).sum()
        g = m.func.grad(f)(p, [x])
        g2 = m.func.grad(f, argnums=(0, 1))(p, [x])
        (gv, (value, aux)) = m.func.grad_and_value(lambda p: (f(p, [x]), p["w"]),
                                                   has_aux=True)(p)
        return g, g2, gv, value, aux
    ours, theirs = _both(run)
    assert type(ours[0]) is dict and type(ours[0]["b"][1]) is list
    assert type(ours[1][1]) is list
    _close(ours, theirs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_jvp_and_linearize_as_torch(dtype):
    x, v = X[0].astype(dtype), W.astype(dtype)

    def run(m):
        t = lambda a: m.tensor(a)  # noqa: E731
        f = lambda a, b: ((a * b).tanh(), (a @ b).exp())  # noqa: E731
        out, tan = m.func.jvp(f, (t(x), t(x)), (t(v), t(-v)))
        single = m.func.jvp(lambda a: a.sin().sum(), (t(x),), (t(v),))
        aux = m.func.jvp(lambda a: (a.cos(), a * 2), (t(x),), (t(v),), has_aux=True)
        const = m.func.jvp(lambda a: m.ones(3, dtype=a.dtype), (t(x),), (t(v),))
        base, jvp_fn = m.func.linearize(lambda a: a.sin() * a, t(x))
        return out, tan, single, aux, const, base, jvp_fn(t(v))

    ours, theirs = _both(run)
    _close(ours, theirs, tol=1e-5 if dtype == "float32" else 1e-10)
    assert not any(r.requires_grad for r in ours[3])  # aux and results are plain tensors


def test_jvp_through_vjp_of_nested_transforms():
    """``jvp`` of ``grad``: a Hessian-vector product."""
    def run(m):
        w, v = m.tensor(W), m.tensor(X[1])
        g = m.func.grad(lambda a: loss(m, a, m.tensor(X), m.tensor(Y)))
        return m.func.jvp(g, (w,), (v,))

    ours, theirs = _both(run)
    _close(ours, theirs)


@pytest.mark.parametrize("call, match", [
    (lambda m, x: m.func.jvp(lambda a: a, x, (x,)), "Expected primals to be a tuple"),
    (lambda m, x: m.func.jvp(lambda a: a, (x,), (x, x)), "same python structure"),
    (lambda m, x: m.func.jvp(lambda a: a, (x,), (x[:1],)), "different size than that of"),
    (lambda m, x: m.func.jvp(lambda a: 1.0, (x,), (x,)), "to return only tensors"),
    (lambda m, x: m.func.jvp(lambda a: a, (), ()), "at least one Tensor"),
])
def test_jvp_errors_as_torch(call, match):
    for m in (torch, gpugrad):
        with pytest.raises(RuntimeError, match=match):
            call(m, m.ones(3))


# ----------------------------------------------------------------------- stack_module_state
def _stacked_summary(m, models):
    params, buffers = m.func.stack_module_state(models)
    return ({k: (tuple(v.shape), v.requires_grad, v.is_leaf, str(v.dtype).split(".")[-1])
             for k, v in params.items()},
            {k: (tuple(v.shape), v.requires_grad, str(v.dtype).split(".")[-1])
             for k, v in buffers.items()})


def test_stack_module_state_as_torch():
    def models(m):
        nets = [m.nn.Sequential(m.nn.Linear(3, 4), m.nn.BatchNorm1d(4)) for _ in range(3)]
        nets[1][0].weight.requires_grad_(False)
        for net in nets[::2]:
            net[0].weight.requires_grad_(False)
        return nets
    assert _stacked_summary(gpugrad, models(gpugrad)) == _stacked_summary(torch, models(torch))


@pytest.mark.parametrize("make", [
    lambda m: [],
    lambda m: [m.nn.Linear(2, 2), m.nn.Conv1d(2, 2, 1)],
    lambda m: [m.nn.Linear(2, 2), m.nn.Linear(2, 2).eval()],
    lambda m: [m.nn.Linear(2, 2), m.nn.Linear(2, 2).requires_grad_(False)],
])
def test_stack_module_state_refuses_as_torch(make):
    messages = []
    for m in (gpugrad, torch):
        with pytest.raises(RuntimeError) as info:
            m.func.stack_module_state(make(m))
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_an_ensemble_runs_under_vmap_and_trains_its_stacked_parameters():
    gpugrad.manual_seed(0)
    models = [gpugrad.nn.Sequential(gpugrad.nn.Linear(5, 8), gpugrad.nn.ReLU(),
                                    gpugrad.nn.Linear(8, 2)) for _ in range(4)]
    params, buffers = gpugrad.func.stack_module_state(models)
    data = gpugrad.randn(4, 6, 5)

    def run(p, b, x):
        return gpugrad.func.functional_call(models[0], (p, b), (x,))

    out = gpugrad.func.vmap(run)(params, buffers, data)
    looped = gpugrad.stack([model(x) for model, x in zip(models, data)])
    np.testing.assert_allclose(out.detach().numpy(), looped.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    out.sum().backward()
    assert params["0.weight"].grad.shape == (4, 8, 5)
    assert models[0][0].weight.grad is None  # the stacked leaves are the ensemble's own


def _requires_grad_tree(tree):
    if isinstance(tree, (tuple, list)):
        return [_requires_grad_tree(t) for t in tree]
    return tree.requires_grad


def _history_kept(lib, inputs_require_grad: bool) -> list:
    w = lib.ones(3, requires_grad=True)
    x = lib.ones(3, requires_grad=inputs_require_grad)

    def f(x):
        return (x * w).sum(), (x * 2, x * w, lib.ones(1))

    g, (val, aux) = lib.func.grad_and_value(f, has_aux=True)(x)
    out, vjp_fn, vjp_aux = lib.func.vjp(f, x, has_aux=True)
    jac, jac_aux = lib.func.jacrev(lambda x: (x * w, (x * 2, x * w)), has_aux=True)(x)
    kept = _requires_grad_tree([g, val, aux, out, vjp_fn(lib.tensor(1.0)), vjp_aux, jac, jac_aux])
    # the gradient of a gradient through the captured weight
    lib.func.grad(lambda x: (x * w * w).sum())(x).sum().backward()
    return kept + [w.grad.tolist()]


@pytest.mark.parametrize("inputs_require_grad", [False, True])
def test_results_keep_only_the_history_outside_the_transform_as_torch(inputs_require_grad):
    """An output, gradient or aux value keeps its history where it reaches a tensor the
    transform did not make (a captured weight, an input that requires grad), and no other."""
    seen = {}
    for lib in (torch, gpugrad):
        seen[lib] = _history_kept(lib, inputs_require_grad)
    assert seen[gpugrad] == seen[torch]
