"""``autograd.graph``: saved-tensor hooks, multi-grad hooks and ``Node``, against PyTorch."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad.autograd import graph

RNG = np.random.default_rng(0)


def both(arr, requires_grad=True):
    return (gpugrad.tensor(arr, requires_grad=requires_grad),
            torch.tensor(arr, requires_grad=requires_grad))


def close(ours, theirs):
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6,
                               atol=1e-7)


def logging_hooks(lib, log):
    """Hooks that keep saved tensors as float64 and log each call (shape, saved output's node)."""
    def pack(t):
        log.append(("pack", tuple(t.shape), None if t.grad_fn is None else t.grad_fn.name()))
        return t.detach().to(lib.float64), t.dtype

    def unpack(packed):
        values, dtype = packed
        log.append(("unpack", tuple(values.shape)))
        return values.to(dtype)

    return pack, unpack


def make_scale(lib):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            y = x * w
            ctx.save_for_backward(w, x, y)
            return y

        @staticmethod
        def backward(ctx, grad_output):
            w, x, y = ctx.saved_tensors
            return grad_output * w, (grad_output * x).sum(0) + 0 * y.sum(0)

    return Scale


def run(lib, x, w, log):
    pack, unpack = logging_hooks(lib, log)
    scale = make_scale(lib)
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = scale.apply(x, w)
        z = y.exp().sin()
    loss = (z * z.detach()).sum()  # no hook: mul saves z.detach() unhooked
    log.append("forward done")
    loss.backward()
    return loss


def test_pack_unpack_calls_and_grads_match_torch():
    xa, wa = RNG.standard_normal((3, 4)).astype(np.float32), RNG.standard_normal(4)
    ours_log, torch_log = [], []
    x, tx = both(xa)
    w, tw = both(wa.astype(np.float32))
    close(run(gpugrad, x, w, ours_log), run(torch, tx, tw, torch_log))
    assert ours_log == torch_log
    assert [e[0] for e in ours_log if e != "forward done"].count("pack") == 5  # w, x, y, exp, exp
    close(x.grad, tx.grad)
    close(w.grad, tw.grad)


def test_builtin_binary_op_packs_what_torch_packs():
    ours_log, torch_log = [], []
    for lib, log in ((gpugrad, ours_log), (torch, torch_log)):
        a = lib.ones(2, 3, requires_grad=True)
        b = lib.ones(3)  # needs no gradient: mul keeps only b
        with lib.autograd.graph.saved_tensors_hooks(*logging_hooks(lib, log)):
            (a * b).sum().backward()
    assert ours_log == torch_log == [("pack", (3,), None), ("unpack", (3,))]


def test_hooks_that_apply_are_those_active_when_recording():
    calls = []
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    with graph.saved_tensors_hooks(lambda t: calls.append("outer") or t, lambda p: p):
        with graph.saved_tensors_hooks(lambda t: calls.append("inner") or t,
                                       lambda p: calls.append("unpack inner") or p):
            y = x.sin()
        z = y.cos()
    with graph.saved_tensors_hooks(lambda t: calls.append("late") or t, lambda p: p):
        z.sum().backward()
    assert calls == ["inner", "outer", "unpack inner"]
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    tx.sin().cos().sum().backward()
    close(x.grad, tx.grad)


def test_unpack_must_return_a_tensor():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    with graph.saved_tensors_hooks(lambda t: 1, lambda p: 3):
        y = x.exp()
    with pytest.raises(TypeError, match="unpack_hook expected to be a Tensor.*int"):
        y.sum().backward()


def test_no_version_check_with_hooks_but_without_them():
    for lib in (gpugrad, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t, lambda p: p):
            y = x.exp()
        with lib.no_grad():
            y.mul_(2)
        y.sum().backward()  # PyTorch checks no version of what a hook returned
        close(x.grad, 2 * torch.exp(torch.tensor([1.0, 2.0])))
        z = lib.tensor([1.0, 2.0], requires_grad=True).exp()
        with lib.no_grad():
            z.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


def test_double_backward_through_unpacked_tensors():
    xa = RNG.standard_normal(5)
    results = []
    for lib in (gpugrad, torch):
        x = lib.tensor(xa, requires_grad=True)
        h = lib.tensor(xa + 1, requires_grad=True).sin()  # a non-leaf input
        with lib.autograd.graph.saved_tensors_hooks(lambda t: t.detach() * 1,
                                                    lambda p: p.clone()):
            y = (x.sin() * h).exp()
        (g,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        g.sum().backward()
        results.append((g, x.grad))
    close(results[0][0], results[1][0])
    close(results[0][1], results[1][1])


def test_saved_tensors_of_custom_function_read_twice_with_retain_graph():
    log = []
    x = gpugrad.tensor(RNG.standard_normal((2, 4)), requires_grad=True)
    w = gpugrad.tensor(RNG.standard_normal(4), requires_grad=True)
    with graph.saved_tensors_hooks(*logging_hooks(gpugrad, log)):
        y = make_scale(gpugrad).apply(x, w)
    assert [e[0] for e in log] == ["pack"] * 3
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    assert [e[0] for e in log].count("unpack") == 6
    np.testing.assert_allclose(w.grad.numpy(), 2 * x.detach().numpy().sum(0))


def test_save_on_cpu_round_trip():
    xa = RNG.standard_normal((3, 3))
    grads = []
    for lib in (gpugrad, torch):
        for pin in (False, True):
            x = lib.tensor(xa, requires_grad=True)
            with lib.autograd.graph.save_on_cpu(pin_memory=pin):
                y = (x.tanh() @ x).sum()
            y.backward()
            grads.append(x.grad)
    for g in grads[1:]:
        close(g, grads[0])


def test_disable_saved_tensors_hooks():
    for lib in (gpugrad, torch):
        g = lib.autograd.graph
        with g.disable_saved_tensors_hooks("hooks are off here"):
            with pytest.raises(RuntimeError, match="hooks are off here"):
                with g.save_on_cpu():
                    pass
            with pytest.raises(RuntimeError, match="hooks are off here"):
                with g.saved_tensors_hooks(lambda t: t, lambda p: p):
                    pass
        with g.saved_tensors_hooks(lambda t: t, lambda p: p):
            with pytest.raises(RuntimeError, match="no nesting"):
                with g.disable_saved_tensors_hooks("no nesting"):
                    pass
        with g.saved_tensors_hooks(lambda t: t, lambda p: p):  # enabled again after it
            pass
    assert not gpugrad.autograd.record.saved_hooks.stack
    assert gpugrad.autograd.record.hooks_on == 0


def multi_hook_run(lib, mode):
    p, q, r = (lib.tensor([1.0, 2.0], requires_grad=True) for _ in range(3))
    seen = []
    handle = lib.autograd.graph.register_multi_grad_hook(
        (p, q, r), lambda g: seen.append(
            [None if x is None else x.tolist() for x in g] if mode == "all" else g.tolist()),
        mode=mode)
    (p * 2 + q).sum().backward()
    (p * 3 + r * 4).sum().backward()
    (q * 5 + r).sum().backward(inputs=[q])
    handle.remove()
    (p * 2).sum().backward()
    return seen


@pytest.mark.parametrize("mode", ["all", "any"])
def test_register_multi_grad_hook(mode):
    ours, theirs = multi_hook_run(gpugrad, mode), multi_hook_run(torch, mode)
    assert ours == theirs
    assert len(ours) == 3


def test_register_multi_grad_hook_rejects_unknown_mode():
    x = gpugrad.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="mode"):
        graph.register_multi_grad_hook((x,), print, mode="some")


def test_every_node_is_a_node():
    x = gpugrad.tensor([1.0, 2.0], requires_grad=True)
    nodes = [(x * 2).grad_fn, x.exp().grad_fn, x.sum(0).grad_fn, x[0].grad_fn,
             make_scale(gpugrad).apply(x, x).grad_fn]
    nodes.append(nodes[0].next_functions[0][0])
    for node in nodes:
        assert isinstance(node, graph.Node), node
        assert isinstance(node.metadata, dict)
        node.metadata["k"] = 1
        assert node.metadata == {"k": 1}
    assert nodes[-1].name() == "torch::autograd::AccumulateGrad"
    assert not isinstance(x, graph.Node)
    assert not issubclass(make_scale(gpugrad), graph.Node)


def test_increment_version():
    for lib in (gpugrad, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        lib.autograd.graph.increment_version(y)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        z = lib.ones(2)
        lib.autograd.graph.increment_version([z, z])
        assert z._version == 2


def test_hooks_inside_a_compiled_step_fall_back_to_eager():
    w = gpugrad.tensor(RNG.standard_normal(3), requires_grad=True)
    calls = []

    def step(x):
        with graph.saved_tensors_hooks(lambda t: calls.append(1) or t, lambda p: p):
            loss = (x * w).exp().sum()
        loss.backward()
        return loss

    compiled = gpugrad.compile(step)
    with pytest.warns(gpugrad.compiler.CompileWarning, match="saved-tensor hook"):
        for _ in range(4):
            w.grad = None
            compiled(gpugrad.ones(3))
            np.testing.assert_allclose(w.grad.numpy(), np.exp(w.detach().numpy()))
    assert len(calls) == 4 * 2  # mul saves x, exp its output, at every call: none replayed
    assert compiled.stats.fallbacks


def node_hooks_run(lib, create_graph):
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x * w
    z = y.exp().sum(0)
    log = []

    def listed(grads):
        return [None if g is None else g.tolist() for g in grads]

    y.grad_fn.register_prehook(lambda go: log.append(("pre", listed(go))) or (go[0] * 2,))
    y.grad_fn.register_hook(
        lambda gi, go: log.append(("post", listed(gi), listed(go))) or (gi[0] + 1, None))
    handle = z.grad_fn.register_hook(lambda gi, go: log.append(("removed", listed(gi))))
    handle.remove()
    z.grad_fn.register_hook(lambda gi, go: log.append(("sum post", listed(gi))))
    y.register_hook(lambda g: log.append(("tensor", g.tolist())) or g * 10)
    gx, gw = lib.autograd.grad(z, (x, w), create_graph=create_graph, allow_unused=True)
    assert gw is None  # the post hook dropped it
    if create_graph:
        gx.sum().backward()  # (autograd.grad would prune w's gradient in PyTorch, not here)
        log.append(("double", x.grad.tolist()))
    return log, gx.tolist()


@pytest.mark.parametrize("create_graph", [False, True])
def test_node_prehook_and_hook_match_torch(create_graph):
    (ours, ours_gx), (theirs, theirs_gx) = (node_hooks_run(lib, create_graph)
                                            for lib in (gpugrad, torch))
    def flat(v):  # nested lists of numbers and None, None as nan
        if isinstance(v, (list, tuple)):
            return [x for item in v for x in flat(item)]
        return [np.nan if v is None else v]

    assert [e[0] for e in ours] == [e[0] for e in theirs]
    ours, theirs = [e[1:] for e in ours], [e[1:] for e in theirs]
    np.testing.assert_allclose(flat(ours), flat(theirs), rtol=1e-5)
    np.testing.assert_allclose(ours_gx, theirs_gx, rtol=1e-5)


def test_hooks_apply_to_the_thread_that_registered_them():
    calls = []
    x = gpugrad.ones(2, requires_grad=True)
    made = {}
    worker = threading.Thread(target=lambda: made.setdefault("y", x.exp()))
    with graph.saved_tensors_hooks(lambda t: calls.append(t) or t, lambda p: p):
        worker.start()
        worker.join()
        z = x.sin()
    assert len(calls) == 1 and calls[0] is x  # sin's input; exp ran on the other thread
    (made["y"] + z).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(1.0) + np.cos(1.0))
