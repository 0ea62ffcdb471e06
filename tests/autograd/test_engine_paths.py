"""The fast paths of the op layer and the engine agree with PyTorch where they take shortcuts.

Float ops record their node without ``Function.apply``; backward without ``create_graph`` runs
on raw arrays and lets the first node a step makes pending skip the heap. These tests build
graphs whose shape exercises each shortcut (scalars on either side, a node with several
consumers, several outputs, a gradient that must wait) and compare with torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad


def _pair(shape=(3, 4), seed=0, dtype=np.float64):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return gpugrad.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _next_kinds(fn):
    """``next_functions`` as a list of 'leaf' / 'node' / None, the same for both libraries."""
    out = []
    for f, _ in fn.next_functions:
        out.append(None if f is None else "leaf" if type(f).__name__ == "AccumulateGrad"
                   else "node")
    return out


SCALAR_FORMS = {
    "x + 2": lambda x: x + 2, "2 + x": lambda x: 2 + x, "x - 2": lambda x: x - 2,
    "2 - x": lambda x: 2 - x, "x * 2.5": lambda x: x * 2.5, "2.5 * x": lambda x: 2.5 * x,
    "x / 4": lambda x: x / 4, "4 / x": lambda x: 4 / x, "x ** 2": lambda x: x ** 2,
    "2 ** x": lambda x: 2 ** x, "1.5 ** x": lambda x: 1.5 ** x,
    "x ** 0.5": lambda x: x.abs() ** 0.5,
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("form", list(SCALAR_FORMS))
def test_python_numbers_on_either_side_match_torch(form, dtype):
    fn = SCALAR_FORMS[form]
    g, t = _pair(dtype=dtype)
    yg, yt = fn(g), fn(t)
    assert yg.dtype == gpugrad.float32 if dtype == np.float32 else yg.dtype == gpugrad.float64
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(yg.detach().numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    seed = np.random.default_rng(1).standard_normal(yt.shape).astype(dtype)
    yg.backward(gpugrad.tensor(seed))
    yt.backward(torch.tensor(seed))
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum"])
def test_tensor_tensor_nodes_have_torchs_next_functions(op):
    (ga, ta), (gb, tb) = _pair(seed=2), _pair(seed=3)
    out_g, out_t = getattr(gpugrad, op)(ga, gb.detach()), getattr(torch, op)(ta, tb.detach())
    assert _next_kinds(out_g.grad_fn) == _next_kinds(out_t.grad_fn)
    out_g, out_t = getattr(gpugrad, op)(ga.tanh(), gb), getattr(torch, op)(ta.tanh(), tb)
    assert _next_kinds(out_g.grad_fn) == _next_kinds(out_t.grad_fn)


def _diamond(m, x, w):
    # y feeds three consumers created in different orders; one path is much longer, so
    # y's gradient is complete only after the heap has run that path.
    y = x * w
    long = y
    for _ in range(5):
        long = m.sin(long) + 0.1
    z = m.tanh(y) * m.sigmoid(y) + long
    return (z * y).sum()


def _chunked(m, x, w):
    # A node with two outputs (chunk) whose consumers finish at different times.
    a, b = (x * w).chunk(2, dim=0)
    return (m.tanh(a) * b + a.exp().sum() * b).sum()


def _max_indices(m, x, w):
    values, _ = (x * w).max(dim=1)
    return (values * values).sum() + (x * w).sum()


@pytest.mark.parametrize("build", [_diamond, _chunked, _max_indices])
def test_graph_shapes_that_test_the_schedule_match_torch(build):
    (gx, tx), (gw, tw) = _pair((4, 6), seed=4), _pair((4, 6), seed=5)
    build(gpugrad, gx, gw).backward()
    build(torch, tx, tw).backward()
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(gw.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_array_path_and_create_graph_path_give_the_same_gradients():
    (gx, _), (gw, _) = _pair((4, 6), seed=6), _pair((4, 6), seed=7)
    plain = gpugrad.autograd.grad(_diamond(gpugrad, gx, gw), (gx, gw))
    recorded = gpugrad.autograd.grad(_diamond(gpugrad, gx, gw), (gx, gw), create_graph=True)
    for p, r in zip(plain, recorded):
        assert p.grad_fn is None and r.grad_fn is not None
        np.testing.assert_allclose(p.numpy(), r.detach().numpy(), rtol=1e-13, atol=1e-13)


def test_hooks_and_retain_grad_see_tensors_on_the_array_path():
    g, t = _pair(seed=8)
    seen, retained = [], []
    for x, lib in ((g, gpugrad), (t, torch)):
        y = x * 3
        y.retain_grad()
        y.register_hook(lambda grad: seen.append(type(grad).__module__.split(".")[0])
                        or grad * 2)
        lib.tanh(y).sum().backward()
        retained.append(y.grad.detach().numpy())
    assert seen == ["gpugrad", "torch"]
    np.testing.assert_allclose(retained[0], retained[1], rtol=1e-10)
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-10)


def _doubling(backward):
    """A user Function computing ``2 * x`` whose backward is ``backward``."""
    return type("Doubling", (gpugrad.autograd.Function,), {
        "forward": staticmethod(lambda ctx, x: x * 2), "backward": staticmethod(backward)})


def test_user_function_errors_are_reported_on_the_array_path():
    returns_array = _doubling(lambda ctx, grad: grad._data)  # not a Tensor
    returns_two = _doubling(lambda ctx, grad: (grad, grad))
    x, _ = _pair(seed=9)
    with pytest.raises(TypeError, match="returned a gradient of type ndarray"):
        returns_array.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        returns_two.apply(x).sum().backward()
    x.grad = None
    _doubling(lambda ctx, grad: grad * 2).apply(x).sum().backward()  # the engine still works
    np.testing.assert_allclose(x.grad.numpy(), 2.0)


def test_gradients_cross_devices_on_the_backend_of_each_side():
    """``to()`` moves a tensor to another backend; gradients arriving at its node live on the
    destination's backend, and go back to the source's. A second NumPy backend posing as
    another device stands in for a GPU."""
    from gpugrad.backend.numpy_backend import NumpyBackend
    from gpugrad.ops.convert import ToCopy

    class OtherDevice(NumpyBackend):
        pass

    other = OtherDevice(dev=gpugrad.device("cuda", 7))
    x, t = _pair(seed=10)
    moved = ToCopy.apply(x, x._data.dtype, other)
    assert moved._backend is other and moved.grad_fn._backend is other
    seen = []
    moved.register_hook(lambda grad: seen.append(grad._backend))
    (moved * moved).sum().backward()
    assert seen == [other]
    assert x.grad._backend is x._backend
    (t * t).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())
