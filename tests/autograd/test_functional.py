"""``autograd.functional`` (vjp, jvp, jacobian, hessian, hvp, vhp) against PyTorch's, for single
tensors and tuples, ``create_graph`` and ``strict``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4))
B = RNG.standard_normal((4,))
C = RNG.standard_normal((2, 3))


def _t(lib, a, dtype="float64"):
    return lib.tensor(a, dtype=getattr(lib, dtype))


def f_single(m, x):
    return (x.sin() * x).sum(dim=1) ** 2


def f_pair(m, x, y):
    return x @ y, (x.exp() * y).sum()


def scalar(m, x):
    return (x.sin() * x ** 3).sum()


def scalar_pair(m, x, y):
    return (x @ y).tanh().sum() + (y ** 3).sum()


def _close(ours, theirs, tol=1e-10):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b, tol)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)


def _both(fn):
    return fn(gpugrad), fn(torch)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_jacobian_single_and_tuple(dtype):
    tol = 1e-10 if dtype == "float64" else 1e-4
    ours, theirs = _both(lambda m: m.autograd.functional.jacobian(
        lambda x: f_single(m, x), _t(m, A, dtype)))
    _close(ours, theirs, tol)
    ours, theirs = _both(lambda m: m.autograd.functional.jacobian(
        lambda x, y: f_pair(m, x, y), (_t(m, A, dtype), _t(m, B, dtype))))
    _close(ours, theirs, tol)
    # a single output, a tuple of inputs; a tuple of outputs, a single input
    ours, theirs = _both(lambda m: m.autograd.functional.jacobian(
        lambda x, y: (x @ y).sum(), (_t(m, A, dtype), _t(m, B, dtype))))
    _close(ours, theirs, tol)
    ours, theirs = _both(lambda m: m.autograd.functional.jacobian(
        lambda x: (x * 2, x.sum()), _t(m, A, dtype)))
    _close(ours, theirs, tol)


def test_jacobian_independent_output_strict_and_not():
    ours, theirs = _both(lambda m: m.autograd.functional.jacobian(
        lambda x, y: x * 2, (_t(m, B), _t(m, C))))
    _close(ours, theirs)
    for m in (gpugrad, torch):
        with pytest.raises(RuntimeError, match="independent of input 1"):
            m.autograd.functional.jacobian(lambda x, y: x * 2, (_t(m, B), _t(m, C)), strict=True)


# functions of (a, b) that fail strict mode at each of its stages: no graph at all, one input
# unused, a constant Jacobian, a constant Hessian
_STRICT_FUNCTIONS = {
    "constant": lambda m, a, b: m.ones(2, dtype=m.float64) * 1,
    "a_only": lambda m, a, b: a * a,
    "linear": lambda m, a, b: a * 2 + b,
    "quadratic": lambda m, a, b: a * a + b * b,
    "mixed": lambda m, a, b: (a * a + b * 3, a * b),
}


def _strict_calls(m, name, create_graph):
    F = m.autograd.functional
    fn = _STRICT_FUNCTIONS[name]
    a, b = m.tensor([1.0, 2.0], dtype=m.float64), m.tensor([3.0, -1.0], dtype=m.float64)
    v = m.ones(2, dtype=m.float64)
    vector = fn if name != "mixed" else (lambda m, a, b: fn(m, a, b)[0])

    def scalar(x, y):
        return vector(m, x, y).sum()
    kw = {"strict": True, "create_graph": create_graph}
    return {
        "jacobian": lambda: F.jacobian(lambda x, y: fn(m, x, y), (a, b), **kw),
        "jacobian_vectorized": lambda: F.jacobian(lambda x, y: fn(m, x, y), (a, b),
                                                  vectorize=True, **kw),
        "vjp": lambda: F.vjp(lambda x, y: vector(m, x, y), (a, b), v, **kw),
        "jvp": lambda: F.jvp(lambda x, y: vector(m, x, y), (a, b), (v, v), **kw),
        "hessian": lambda: F.hessian(scalar, (a, b), **kw),
        "vhp": lambda: F.vhp(scalar, (a, b), (v, v), **kw),
        "hvp": lambda: F.hvp(scalar, (a, b), (v, v), **kw),
    }


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", list(_STRICT_FUNCTIONS))
def test_strict_mode_refuses_what_torch_refuses_with_its_message(name, create_graph):
    outcomes = []
    for m in (gpugrad, torch):
        row = {}
        for call, run in _strict_calls(m, name, create_graph).items():
            try:
                run()
                row[call] = "ok"
            except RuntimeError as error:
                row[call] = str(error)
        outcomes.append(row)
    ours, theirs = outcomes
    assert ours == theirs


def test_jacobian_create_graph_is_differentiable():
    def run(m):
        x = _t(m, A).requires_grad_()
        jac = m.autograd.functional.jacobian(lambda v: f_single(m, v), x, create_graph=True)
        (g,) = m.autograd.grad(jac.sum(), x)
        return jac, g
    ours, theirs = _both(run)
    _close(ours, theirs)


def test_jacobian_without_create_graph_is_detached():
    x = _t(gpugrad, A).requires_grad_()
    jac = gpugrad.autograd.functional.jacobian(lambda v: f_single(gpugrad, v), x)
    assert not jac.requires_grad
    assert x.grad is None


@pytest.mark.parametrize("create_graph", [False, True])
def test_hessian(create_graph):
    ours, theirs = _both(lambda m: m.autograd.functional.hessian(
        lambda x: scalar(m, x), _t(m, A), create_graph=create_graph))
    _close(ours, theirs)
    ours, theirs = _both(lambda m: m.autograd.functional.hessian(
        lambda x, y: scalar_pair(m, x, y), (_t(m, A), _t(m, B))))
    _close(ours, theirs)


def test_vjp_jvp_hvp_vhp():
    fn = gpugrad.autograd.functional
    v_out = RNG.standard_normal((3,))
    v_in = RNG.standard_normal((3, 4))
    for name, args in [
        ("vjp", lambda m: (lambda x: f_single(m, x), _t(m, A), _t(m, v_out))),
        ("jvp", lambda m: (lambda x: f_single(m, x), _t(m, A), _t(m, v_in))),
        ("hvp", lambda m: (lambda x: scalar(m, x), _t(m, A), _t(m, v_in))),
        ("vhp", lambda m: (lambda x: scalar(m, x), _t(m, A), _t(m, v_in))),
        ("vjp", lambda m: (lambda x, y: f_pair(m, x, y), (_t(m, A), _t(m, B)),
                           (_t(m, v_out), _t(m, np.array(1.5))))),
        ("jvp", lambda m: (lambda x, y: f_pair(m, x, y), (_t(m, A), _t(m, B)),
                           (_t(m, v_in), _t(m, B * 0.5)))),
        ("hvp", lambda m: (lambda x, y: scalar_pair(m, x, y), (_t(m, A), _t(m, B)),
                           (_t(m, v_in), _t(m, B * 0.5)))),
    ]:
        ours = getattr(fn, name)(*args(gpugrad))
        theirs = getattr(torch.autograd.functional, name)(*args(torch))
        _close(ours, theirs)
    # v may be left out for a one-element output (vjp) or input (jvp)
    ours, theirs = _both(lambda m: m.autograd.functional.vjp(
        lambda x: scalar(m, x), _t(m, A)))
    _close(ours, theirs)
    ours, theirs = _both(lambda m: m.autograd.functional.jvp(
        lambda x: x.exp() * 3, _t(m, np.array([0.3]))))
    _close(ours, theirs)


def test_errors_match_pytorch():
    for m in (gpugrad, torch):
        fn = m.autograd.functional
        with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
            fn.jacobian(lambda x: x, [1.0])
        with pytest.raises(TypeError, match="outputs of the user-provided function"):
            fn.jacobian(lambda x: 3.0, _t(m, B))
        with pytest.raises(RuntimeError, match="v can only be None"):
            fn.vjp(lambda x: x * 2, _t(m, B))
        with pytest.raises(RuntimeError, match="invalid size"):
            fn.vjp(lambda x: x * 2, _t(m, B), _t(m, A))
        for name in ("hessian", "hvp", "vhp"):
            args = (_t(m, B),) if name == "hessian" else (_t(m, B), _t(m, B))
            with pytest.raises(RuntimeError, match=f"given to {name} should contain a single"):
                getattr(fn, name)(lambda x: x * 2, *args)
        with pytest.raises(NotImplementedError, match="only implemented for `vectorize=True`"):
            fn.jacobian(lambda x: x * 2, _t(m, B), strategy="forward-mode")
    with pytest.raises(NotImplementedError, match="forward-mode"):
        gpugrad.autograd.functional.jacobian(lambda x: x * 2, _t(gpugrad, B), vectorize=True,
                                             strategy="forward-mode")
    # vectorize=True (vmap in PyTorch) gives the same numbers
    ours = gpugrad.autograd.functional.jacobian(lambda x: f_single(gpugrad, x), _t(gpugrad, A),
                                                vectorize=True)
    theirs = torch.autograd.functional.jacobian(lambda x: f_single(torch, x), _t(torch, A),
                                                vectorize=True)
    _close(ours, theirs)
