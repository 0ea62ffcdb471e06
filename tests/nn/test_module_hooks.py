"""Module hooks as PyTorch's: forward hooks with ``prepend``/``with_kwargs``/``always_call``,
full backward (pre-)hooks (seen and replaced gradients), state dict hooks and extra state."""

from __future__ import annotations

import importlib
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import gpugrad

RNG = np.random.default_rng(0)
X = RNG.standard_normal((2, 3))
W = RNG.standard_normal((4, 3))


def _linear(m):
    lin = m.nn.Linear(3, 4).double()
    with m.no_grad():
        lin.weight.copy_(m.tensor(W))
        lin.bias.zero_()
    return lin


def _np(values):
    return [None if v is None else v.detach().numpy() for v in values]


def _backward_hook_run(m, x_requires_grad):
    lin = _linear(m)
    seen = []

    def hook(module, grad_input, grad_output):
        seen.append((_np(grad_input), _np(grad_output)))
        if grad_input[0] is not None:
            return (grad_input[0] * 2,)

    handle = lin.register_full_backward_hook(hook)
    x = m.tensor(X, requires_grad=x_requires_grad)
    (lin(x) ** 2).sum().backward()
    result = (seen, None if x.grad is None else x.grad.numpy(), lin.weight.grad.numpy())
    handle.remove()
    (lin(m.tensor(X, requires_grad=True)) ** 2).sum().backward()
    assert len(seen) == 1  # removed
    return result


@pytest.mark.parametrize("x_requires_grad", [True, False])
def test_full_backward_hook_sees_and_replaces_grad_input(x_requires_grad):
    (ours, ours_x, ours_w), (theirs, theirs_x, theirs_w) = (
        _backward_hook_run(gpugrad, x_requires_grad), _backward_hook_run(torch, x_requires_grad))
    assert len(ours) == len(theirs) == 1
    for a, b in zip(ours[0][0] + ours[0][1], theirs[0][0] + theirs[0][1]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12)
    if x_requires_grad:
        np.testing.assert_allclose(ours_x, theirs_x, rtol=1e-12)
    np.testing.assert_allclose(ours_w, theirs_w, rtol=1e-12)


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
@pytest.mark.parametrize("kind", ["full", "pre"])
def test_backward_hooks_warn_when_no_input_requires_grad(m, kind):
    """With no input requiring grad the hooks fire on the outputs' gradients: both warn so,
    at the line of the user's backward(); an input requiring grad keeps them quiet."""
    lin = _linear(m)
    if kind == "full":
        lin.register_full_backward_hook(lambda module, grad_input, grad_output: None)
    else:
        lin.register_full_backward_pre_hook(lambda module, grad_output: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lin(m.tensor(X)).sum().backward()
        lin(m.tensor(X, requires_grad=True)).sum().backward()
    assert [str(w.message) for w in caught] == [
        "Full backward hook is firing when gradients are computed with respect to module "
        "outputs since no inputs require gradients. See https://docs.pytorch.org/docs/main/"
        "generated/torch.nn.Module.html#torch.nn.Module.register_full_backward_hook for more "
        "details."]
    assert caught[0].filename == __file__

def test_full_backward_pre_hook_replaces_grad_output():
    grads = []
    for m in (gpugrad, torch):
        lin = _linear(m)
        lin.register_full_backward_pre_hook(lambda module, g: (g[0] * 0.5,))
        x = m.tensor(X, requires_grad=True)
        lin(x).sum().backward()
        grads.append((x.grad.numpy(), lin.weight.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_forward_hooks_prepend_kwargs_and_always_call(m):
    order = []

    class Scale(m.nn.Module):
        def forward(self, x, factor=1.0):
            if factor == 0:
                raise ValueError("zero")
            return x * factor

    mod = Scale()
    mod.register_forward_pre_hook(lambda mod_, args: order.append("pre-a"))
    mod.register_forward_pre_hook(lambda mod_, args: order.append("pre-b"), prepend=True)

    def double_factor(mod_, args, kwargs):
        return args, {"factor": kwargs.get("factor", 1.0) * 2}

    mod.register_forward_pre_hook(double_factor, with_kwargs=True)
    mod.register_forward_hook(lambda mod_, args, kwargs, out: out + kwargs["factor"],
                              with_kwargs=True)
    mod.register_forward_hook(lambda mod_, args, out: order.append("always"),
                              always_call=True)
    out = mod(m.ones(2), factor=3.0)
    assert out.tolist() == [12.0, 12.0]
    assert order == ["pre-b", "pre-a", "always"]
    with pytest.raises(ValueError, match="zero"):
        mod(m.ones(2), factor=0.0)
    assert order[-1] == "always"


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_state_dict_hooks_and_extra_state(m):
    class Counter(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = m.nn.Linear(2, 2)
            self.steps = 0

        def get_extra_state(self):
            return {"steps": self.steps}

        def set_extra_state(self, state):
            self.steps = state["steps"]

    mod = Counter()
    mod.steps = 7
    calls = []
    mod.register_state_dict_pre_hook(lambda mod_, prefix, keep_vars: calls.append(prefix))
    state = mod.state_dict()
    assert list(state) == ["_extra_state", "lin.weight", "lin.bias"]
    assert state["_extra_state"] == {"steps": 7} and calls == [""]

    def rename(mod_, sd, prefix, local_metadata, strict, missing, unexpected, errors):
        if prefix + "old_weight" in sd:
            sd[prefix + "weight"] = sd.pop(prefix + "old_weight")

    other = Counter()
    other.lin.register_load_state_dict_pre_hook(rename)
    old = OrderedDict((k.replace("lin.weight", "lin.old_weight"), v) for k, v in state.items())
    other.load_state_dict(old)
    assert other.steps == 7 and "lin.old_weight" in old  # the caller's dict is untouched
    np.testing.assert_array_equal(other.lin.weight.detach().numpy(),
                                  mod.lin.weight.detach().numpy())

    def forgive(mod_, incompatible):
        incompatible.missing_keys.clear()

    other.register_load_state_dict_post_hook(forgive)
    result = other.load_state_dict({"_extra_state": {"steps": 1}})
    assert result.missing_keys == [] and other.steps == 1


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_optimizer_step_and_state_dict_hooks(m):
    p = m.nn.Parameter(m.tensor([1.0, 2.0]))
    opt = m.optim.SGD([p], lr=0.1, momentum=0.9)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    handle = opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))
    optimizer_module = importlib.import_module(f"{m.__name__}.optim.optimizer")
    glob = optimizer_module.register_optimizer_step_pre_hook(
        lambda o, args, kwargs: calls.append("global"))
    p.grad = m.tensor([1.0, 1.0])
    opt.step()
    assert calls == ["global", "pre", "post"]
    handle.remove()
    glob.remove()
    opt.step()
    assert calls == ["global", "pre", "post", "pre"]
    opt.register_state_dict_post_hook(lambda o, sd: {**sd, "extra": 1})
    state = opt.state_dict()
    assert state["extra"] == 1

    def drop_extra(o, sd):
        sd = dict(sd)
        sd.pop("extra")
        return sd

    loaded = []
    opt.register_load_state_dict_pre_hook(drop_extra)
    opt.register_load_state_dict_post_hook(lambda o: loaded.append(True))
    opt.load_state_dict(state)
    assert loaded == [True]


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_get_buffer_set_submodule_to_empty(m):
    net = m.nn.Sequential(m.nn.Linear(2, 3), m.nn.BatchNorm1d(3))
    assert net.get_buffer("1.running_mean") is net[1].running_mean
    with pytest.raises(AttributeError, match="has no attribute `nothing`"):
        net.get_buffer("1.nothing")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        net.get_buffer("1.weight")
    net.set_submodule("0", m.nn.Linear(2, 3, bias=False))
    assert net[0].bias is None
    with pytest.raises(AttributeError):
        net.set_submodule("9.x", m.nn.ReLU())
    moved = net.to_empty(device="cpu")
    assert moved is net and net[0].weight.shape == (3, 2)
    with pytest.raises(TypeError):
        net.to_empty()  # (device is required)


@pytest.mark.parametrize("m", [gpugrad, torch], ids=["gpugrad", "torch"])
def test_to_empty_without_recursion_keeps_the_submodules_tensors(m):
    net = m.nn.Sequential(m.nn.Linear(2, 3))
    net.register_parameter("own", m.nn.Parameter(m.ones(2)))
    weight, own = net[0].weight, net.own
    before = weight.detach().clone()
    net.to_empty(device="cpu", recurse=False)
    assert net[0].weight is weight and m.equal(weight.detach(), before)
    assert net.own is own and net.own.shape == (2,)
