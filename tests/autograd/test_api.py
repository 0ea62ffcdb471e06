"""Public autograd API: hooks, retain_grad, detach, grad modes, autograd.grad, Function."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import gpugrad
from gpugrad.autograd import Function


def test_detach_shares_data_and_has_no_graph():
    x = gpugrad.ones(3, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad
    assert np.shares_memory(d.numpy(), y.detach().numpy())
    y.detach_()
    assert y.is_leaf and not y.requires_grad


def test_data_property_is_detached_alias():
    x = gpugrad.ones(3, requires_grad=True)
    assert not x.data.requires_grad
    assert np.shares_memory(x.data.numpy(), x.detach().numpy())


def test_writes_through_data_are_not_in_place_changes_for_autograd_as_torch():
    """``.data`` has a version counter of its own (``detach()`` shares the tensor's): backward
    after an EMA-style write through it reads the new values instead of refusing."""
    torch = pytest.importorskip("torch")
    for m in (gpugrad, torch):
        w = m.nn.Parameter(m.tensor([1.0, 2.0]))
        y = (w * w).sum()
        w.data.mul_(2)
        y.backward()
        assert w.grad.tolist() == [4.0, 8.0] and w._version == 0
        x = m.tensor([1.0, 2.0], requires_grad=True)
        e = x.exp()
        e.data.mul_(0)
        e.sum().backward()
        assert x.grad.tolist() == [0.0, 0.0]
        z = m.tensor([1.0], requires_grad=True)
        s = (z * z).sum()
        z.detach().mul_(2)  # detach() shares the counter: refused
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            s.backward()


def test_retain_grad_on_non_leaf():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 2 * np.array([3.0, 6.0]))
    assert y.retains_grad
    z = x * 2
    (z * 1).sum().backward()
    assert z.grad is None  # not retained


def test_hooks_can_replace_gradients_and_be_removed():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    seen = []
    h = y.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    y.sum().backward()
    assert seen == [[1.0, 1.0]] and x.grad.tolist() == [10.0, 10.0]
    h.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]
    leaf_seen = []
    x.register_hook(lambda g: leaf_seen.append(g.tolist()))
    (x * 2).sum().backward()
    assert leaf_seen == [[2.0, 2.0]]


def test_leaf_hook_sees_total_gradient_once():
    x = gpugrad.tensor([1.0], requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(g.item()))
    (x * 2 + x * 3).sum().backward()
    assert calls == [5.0]


def test_no_grad_context_and_decorator_and_nesting():
    x = gpugrad.ones(2, requires_grad=True)
    with gpugrad.no_grad():
        y = x * 2
        assert not gpugrad.is_grad_enabled()
        with gpugrad.enable_grad():
            z = x * 2
    assert not y.requires_grad and z.requires_grad

    @gpugrad.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    with gpugrad.set_grad_enabled(False):
        assert not (x * 1).requires_grad
    assert gpugrad.is_grad_enabled()
    with gpugrad.inference_mode():
        assert not (x * 1).requires_grad
        assert gpugrad.is_inference_mode_enabled()


def test_grad_mode_is_thread_local():
    results = {}

    def worker():
        x = gpugrad.ones(1, requires_grad=True)
        results["thread"] = (x * 2).requires_grad

    with gpugrad.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert results["thread"] is True


def test_autograd_grad_returns_without_accumulating():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    y = (x**3).sum()
    (g,) = gpugrad.autograd.grad(y, x)
    np.testing.assert_allclose(g.numpy(), 3 * np.array([1.0, 4.0]))
    assert x.grad is None


def test_autograd_grad_allow_unused():
    x = gpugrad.ones(2, requires_grad=True)
    u = gpugrad.ones(2, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        gpugrad.autograd.grad(y, [x, u], retain_graph=True)
    gx, gu = gpugrad.autograd.grad(y, [x, u], allow_unused=True)
    assert gu is None and gx.tolist() == [2.0, 2.0]


_ITERABLE_CALLS = {
    # how MAML-style code hands its tensors over: any iterable, as PyTorch takes
    "grad_of_dict_values": lambda lib, w, d: lib.autograd.grad((w * w).sum(), {"w": w}.values()),
    "grad_of_generator": lambda lib, w, d: lib.autograd.grad((w * w).sum(), (p for p in [w])),
    "grad_of_parameter_list": lambda lib, w, d: lib.autograd.grad(
        (d["pl"][0] * w).sum(), d["pl"]),
    "grad_of_module_parameters": lambda lib, w, d: lib.autograd.grad(
        d["lin"](w).sum(), d["lin"].parameters()),
    "grad_outputs_as_iterator": lambda lib, w, d: lib.autograd.grad(
        {"l": (w * w).sum()}.values(), [w], grad_outputs=iter([lib.tensor(2.0)])),
    "backward_inputs_as_dict_values": lambda lib, w, d: (w * w).sum().backward(
        inputs={"w": w}.values()) or (w.grad,),
    "backward_of_generator": lambda lib, w, d: lib.autograd.backward(
        t for t in [(w * 3).sum()]) or (w.grad,),
}


@pytest.mark.parametrize("call", sorted(_ITERABLE_CALLS))
def test_autograd_takes_any_iterable_of_tensors_as_torch(call):
    torch = pytest.importorskip("torch")
    results = []
    for lib in (gpugrad, torch):
        lib.manual_seed(0)
        w = lib.ones(3, requires_grad=True)
        d = {"w": w, "pl": lib.nn.ParameterList([lib.nn.Parameter(lib.full((3,), 2.0))]),
             "lin": lib.nn.Linear(3, 2)}
        d["lin"].load_state_dict({"weight": lib.ones(2, 3), "bias": lib.zeros(2)})
        results.append([g.tolist() for g in _ITERABLE_CALLS[call](lib, w, d)])
    assert results[0] == results[1]


def test_empty_or_non_iterable_inputs_raise_as_torch():
    torch = pytest.importorskip("torch")
    for lib in (gpugrad, torch):
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match=r"^`inputs` argument to `grad\(\)` cannot be empty"):
            lib.autograd.grad((w * w).sum(), [])
        with pytest.raises(RuntimeError,
                           match=r"^`inputs` argument to `backward\(\)` cannot be empty"):
            (w * w).sum().backward(inputs=[])
        with pytest.raises(TypeError, match="not iterable"):
            lib.autograd.grad((w * w).sum(), 5)


_CYCLE_WARNING_SCRIPT = """
import warnings, sys
import {lib} as torch
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    x = torch.ones(1, requires_grad=True)
    torch.autograd.grad((x ** 3).sum(), x, create_graph=True)  # grad: no cycle, no warning
    print(len(caught))
    (x ** 3).sum().backward(create_graph=True)
    (x ** 3).sum().backward(create_graph=True)
    print(len(caught), caught[-1].category.__name__, "reference cycle" in str(caught[-1].message))
"""


def test_backward_with_create_graph_warns_once_a_process_as_torch():
    import subprocess
    import sys

    pytest.importorskip("torch")
    outputs = [subprocess.run([sys.executable, "-c", _CYCLE_WARNING_SCRIPT.format(lib=lib)],
                              capture_output=True, text=True, check=True).stdout.split()
               for lib in ("gpugrad", "torch")]
    assert outputs[0] == outputs[1] == ["0", "1", "UserWarning", "True"]


def test_unused_input_error_names_its_index_as_torch():
    torch = pytest.importorskip("torch")
    for lib in (gpugrad, torch):
        x, t = lib.ones(2, requires_grad=True), lib.ones(2, requires_grad=True)
        with pytest.raises(RuntimeError, match="^The differentiated Tensor at index 1 appears "
                                               "to not have been used in the graph"):
            lib.autograd.grad((x * 2).sum(), [x, t])


def test_higher_order_gradients_with_create_graph():
    x = gpugrad.tensor([0.5, 1.5], dtype=gpugrad.float64, requires_grad=True)
    y = (x.sin() * x.exp()).sum()
    (g,) = gpugrad.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    (gg,) = gpugrad.autograd.grad(g.sum(), x)
    xs = np.array([0.5, 1.5])
    expected = 2 * np.cos(xs) * np.exp(xs)  # d2/dx2 sin(x) e^x
    np.testing.assert_allclose(gg.numpy(), expected, rtol=1e-12)


class _Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x * x


class _SplitTwo(Function):
    @staticmethod
    def forward(ctx, x, k):
        return x * k, x + 1

    @staticmethod
    def backward(ctx, ga, gb):
        assert ctx.needs_input_grad == (True, False)
        return ga * 2 + gb, None


def test_custom_function_single_and_multi_output():
    x = gpugrad.tensor([1.0, 2.0], dtype=gpugrad.float64, requires_grad=True)
    y = _Cube.apply(x)
    assert "CubeBackward" in repr(y.grad_fn)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    assert gpugrad.autograd.gradcheck(_Cube.apply, (x,))
    assert gpugrad.autograd.gradgradcheck(_Cube.apply, (x,))
    x.grad = None
    a, b = _SplitTwo.apply(x, 2)
    a.sum().backward()  # b got no gradient: it is materialized as zeros
    assert x.grad.tolist() == [2.0, 2.0]


def test_function_mark_non_differentiable():
    class ArgSort(Function):
        @staticmethod
        def forward(ctx, x):
            idx = gpugrad.tensor(np.argsort(x.detach().numpy()).astype(np.float64))
            ctx.mark_non_differentiable(idx)
            return x * 1, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            return g

    x = gpugrad.tensor([3.0, 1.0], requires_grad=True)
    y, idx = ArgSort.apply(x)
    assert y.requires_grad and not idx.requires_grad


def test_function_wrong_number_of_grads():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return g

    a = gpugrad.ones(1, requires_grad=True)
    b = gpugrad.ones(1, requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(a, b).sum().backward()


@pytest.mark.parametrize("create_graph", [False, True])
def test_function_gradient_for_a_non_tensor_input_is_pytorchs_error(create_graph):
    import torch

    results = []
    for lib in (torch, gpugrad):
        class Scale(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k, y):
                return x * k + y

            @staticmethod
            def backward(ctx, g):
                return g, g, g  # a gradient for the number k

        x = lib.ones(2, requires_grad=True)
        y = lib.ones(2)  # a tensor that needs no gradient: its gradient is dropped
        with pytest.raises(RuntimeError) as err:
            Scale.apply(x, 3.0, y).sum().backward(create_graph=create_graph)
        results.append(str(err.value))
    assert results[1] == results[0]
    assert "at position 2, but the corresponding forward input was not a Variable" in results[1]


def test_function_cannot_be_instantiated():
    with pytest.raises(RuntimeError, match="apply"):
        _Cube()


def test_device_mismatch_message():
    from gpugrad.backend import NumpyBackend

    other = gpugrad.Tensor._make(np.ones(2, np.float32), NumpyBackend())
    with pytest.raises(RuntimeError, match="same device"):
        gpugrad.ones(2) * other


def test_grad_with_batched_grad_outputs_matches_torch():
    import torch

    def run(m):
        x = m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True)
        z = m.ones(2, dtype=m.float64, requires_grad=True)
        y = x * x
        (jac,) = m.autograd.grad(y, x, m.eye(2, dtype=m.float64), is_grads_batched=True,
                                 retain_graph=True)
        unused = m.autograd.grad(y.sum(), [x, z], m.ones(3, dtype=m.float64),
                                 is_grads_batched=True, allow_unused=True, retain_graph=True)
        filled = m.autograd.grad(y.sum(), [x, z], m.ones(3, dtype=m.float64),
                                 is_grads_batched=True, materialize_grads=True,
                                 create_graph=True)
        return [jac.tolist(), unused[0].tolist(), unused[1], filled[1].tolist(),
                filled[0].requires_grad]

    assert run(gpugrad) == run(torch)
    x = gpugrad.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="If `is_grads_batched=True`, we interpret the first"):
        gpugrad.autograd.grad(x * 2, x, gpugrad.ones(2), is_grads_batched=True)


class _DoubleInPlace(Function):
    @staticmethod
    def forward(ctx, x):
        x.mul_(2)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad * 2


def test_mark_dirty_makes_the_input_the_output_as_torch():
    import torch

    class TorchDouble(torch.autograd.Function):
        forward = staticmethod(_DoubleInPlace.forward)
        backward = staticmethod(_DoubleInPlace.backward)

    for m, f in ((gpugrad, _DoubleInPlace), (torch, TorchDouble)):
        a = m.ones(3, requires_grad=True)
        b = a * 1
        out = f.apply(b)
        assert out is b and b._version == 2 and not b.is_leaf
        assert type(b.grad_fn).__name__.endswith("Backward")
        assert b.grad_fn.next_functions[0][0].name() == "MulBackward0"
        (out * 3).sum().backward()
        assert a.grad.tolist() == [6.0, 6.0, 6.0]
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been"):
            f.apply(m.ones(2, requires_grad=True))
        plain = m.ones(2)
        assert f.apply(plain) is plain and plain.tolist() == [2.0, 2.0]

    class Forgot(Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(RuntimeError, match="marked as dirty during the forward method were not"):
        Forgot.apply(gpugrad.ones(2, requires_grad=True) * 1)
    base = gpugrad.ones(3, requires_grad=True) * 1
    with pytest.raises(NotImplementedError, match="mark_dirty on a view"):
        _DoubleInPlace.apply(base[:2])


def test_saved_tensor_modified_through_mark_dirty_is_caught():
    a = gpugrad.ones(3, requires_grad=True)
    b = a * 1
    c = b * b  # saves b
    _DoubleInPlace.apply(b)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()


def test_mark_dirty_on_the_second_output_of_a_node_rebases_its_history():
    import torch

    def two_outputs(base):
        return type("TwoOut", (base,), {
            "forward": staticmethod(lambda ctx, x: (x * 2, x * 3)),
            "backward": staticmethod(lambda ctx, g1, g2: g1 * 2 + g2 * 3),
        })

    class TorchDouble(torch.autograd.Function):
        forward = staticmethod(_DoubleInPlace.forward)
        backward = staticmethod(_DoubleInPlace.backward)

    grads = []
    for m, f in ((gpugrad, _DoubleInPlace), (torch, TorchDouble)):
        a = m.ones(2, requires_grad=True)
        first, second = two_outputs(m.autograd.Function).apply(a)
        out = f.apply(second)  # ``second`` is output 1 of TwoOut, then output 0 of f
        seen = []
        out.register_hook(lambda g, seen=seen: seen.append(g.tolist()))
        (out.sum() + first.sum()).backward()
        grads.append((a.grad.tolist(), seen))
    assert grads[0] == grads[1] == ([8.0, 8.0], [[1.0, 1.0]])


def _modified_variable_message(m, case):
    x = m.ones(4, 2, requires_grad=True)
    if case == "leaf":
        y = x * x
        with m.no_grad():
            x.mul_(2)
    elif case == "input":
        t = x * 1
        y = t * t
        t.mul_(2)
    elif case == "output":
        t = x.exp()
        y = t.exp()
        t.mul_(2)
    else:
        t = x[:2] * 1
        y = t.sin()
        t.unsqueeze_(0)
    with pytest.raises(RuntimeError) as info:
        y.sum().backward()
    return str(info.value).replace("torch.", "gpugrad.")


@pytest.mark.parametrize("case", ["leaf", "input", "output", "reshaped_in_place"])
def test_modified_variable_error_reads_as_torch(case):
    torch = pytest.importorskip("torch")
    assert _modified_variable_message(gpugrad, case) == _modified_variable_message(torch, case)


def _size_changing_hook(g):
    return g[:2]


@pytest.mark.parametrize("hook", [_size_changing_hook, lambda g: g.double(), lambda g: 3,
                                  lambda g: g.expand(2, 3)],
                         ids=["size", "dtype", "not a tensor", "broadcast"])
@pytest.mark.parametrize("leaf", [False, True])
@pytest.mark.parametrize("create_graph", [False, True])
def test_a_hook_that_changes_the_gradient_s_kind_is_refused_as_torch(hook, leaf, create_graph):
    import torch

    seen = []
    for lib in (torch, gpugrad):
        w = lib.ones(3, requires_grad=True)
        z = w if leaf else w * 2
        z.register_hook(hook)
        with pytest.raises((RuntimeError, TypeError)) as err:
            (z * 1).sum().backward(create_graph=create_graph)
        seen.append((err.type, str(err.value)))
    assert seen[1] == seen[0]


def test_a_leaf_frozen_after_the_forward_gets_no_gradient_as_torch():
    # (SAC's actor update: the critics' parameters frozen between the loss and backward)
    import torch

    seen = []
    for lib in (torch, gpugrad):
        w = lib.ones(2, requires_grad=True)
        x = lib.ones(2, requires_grad=True)
        y = (w * x).sum()
        w.requires_grad_(False)
        y.backward()
        seen.append((w.grad, x.grad.tolist()))
    assert seen[1] == seen[0] == (None, [1.0, 1.0])
