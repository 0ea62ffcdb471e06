"""The global registration hooks of ``nn.modules.module`` (``register_module_parameter_/buffer_/
module_registration_hook``) and the old ``register_module_backward_hook``, against PyTorch's:
when they fire, call order, replaced values, removal, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad

LIBS = {"torch": torch, "gpugrad": gpugrad}


def _kind_name(value) -> str | None:
    if value is None:
        return None
    name = type(value).__name__
    return "Tensor" if name == "Buffer" else name  # (torch's nn.Buffer turns into a Tensor)


def _register_loggers(lib, calls):
    mod = lib.nn.modules.module
    return [
        getattr(mod, f"register_module_{kind}_registration_hook")(
            lambda m, name, value, _k=kind: calls.append(
                (_k, type(m).__name__, name, _kind_name(value))))
        for kind in ("parameter", "buffer", "module")
    ]


def _build(lib):
    """Every way a parameter, buffer or module gets registered (or re-registered)."""
    nn = lib.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(lib.ones(2))
            self.register_parameter("unused", None)
            self.register_buffer("stat", lib.zeros(2))
            self.register_buffer("nothing", None)
            self.extra = nn.Buffer(lib.ones(1), persistent=False)
            self.body = nn.Linear(2, 2)
            self.add_module("act", nn.ReLU())
            self.register_module("gone", None)

    net = Net()
    net.w = nn.Parameter(lib.zeros(2))  # re-registered
    net.w = None  # a parameter set to None: no hook
    net.stat = lib.ones(2)  # an existing buffer given a plain tensor
    net.extra = None
    net.body = nn.Tanh()  # a module replaced
    net.act = None
    seq = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    seq.append(nn.ReLU())
    seq[0] = nn.Identity()
    lst = nn.ModuleList([nn.ReLU()])
    lst.append(nn.Tanh())
    lst.extend([nn.Sigmoid()])
    lst.insert(0, nn.GELU())
    md = nn.ModuleDict({"a": nn.ReLU()})
    md["b"] = nn.Tanh()
    md.update({"c": nn.Identity()})
    pl = nn.ParameterList([nn.Parameter(lib.ones(1))])
    pl.append(nn.Parameter(lib.ones(2)))
    pd = nn.ParameterDict({"p": nn.Parameter(lib.ones(1))})
    pd["q"] = nn.Parameter(lib.ones(3))
    return net, seq, lst, md, pl, pd


def test_registration_hooks_fire_as_in_torch():
    logs = {}
    for key, lib in LIBS.items():
        calls = logs[key] = []
        handles = _register_loggers(lib, calls)
        try:
            _build(lib)
        finally:
            for h in handles:
                h.remove()
    assert logs["gpugrad"] == logs["torch"]
    assert len(logs["torch"]) > 30


def _Shift(lib):
    class Shift(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("shift", lib.zeros(2))

        def forward(self, x):
            return x + self.shift

    return Shift()


def _replacing(lib):
    """Hooks that replace what is registered, two of each kind (the second sees the first's
    value), then removed."""
    mod, nn = lib.nn.modules.module, lib.nn
    seen = []
    handles = [
        mod.register_module_parameter_registration_hook(
            lambda m, n, p: nn.Parameter(p.detach() * 2) if n == "weight" else None),
        mod.register_module_parameter_registration_hook(
            lambda m, n, p: seen.append(("param", n, tuple(p.shape)))),  # (values: empty)
        mod.register_module_buffer_registration_hook(
            lambda m, n, b: b + 10 if n == "shift" else None),
        mod.register_module_buffer_registration_hook(
            lambda m, n, b: seen.append(("buffer", n, None if b is None else float(b.sum())))),
        mod.register_module_module_registration_hook(
            lambda m, n, sub: nn.Tanh() if isinstance(sub, nn.ReLU) else None),
        mod.register_module_module_registration_hook(
            lambda m, n, sub: seen.append(("module", n, type(sub).__name__))),
    ]
    with lib.no_grad():
        lin = nn.Linear(3, 2)
        lin.weight.copy_(lib.tensor(np.arange(6.0).reshape(2, 3) / 10, dtype=lib.float32))
        lin.bias.copy_(lib.tensor([0.5, -0.5]))
    lin.weight = nn.Parameter(lin.weight.detach().clone())  # doubled again on re-registering
    model = nn.Sequential(lin, _Shift(lib), nn.ReLU())
    for h in handles:
        h.remove()
    seen.append("removed")
    model.add_module("tail", nn.ReLU())  # no longer replaced, no longer seen
    x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 0.25, -1.0]])
    out = model(x)
    return (seen, [type(m).__name__ for m in model], out.detach().numpy(),
            model[0].weight.detach().numpy(), model[1].shift.numpy())


def test_returned_values_replace_in_order_and_removal_stops_them():
    ours, theirs = _replacing(gpugrad), _replacing(torch)
    assert ours[0] == theirs[0]
    assert ours[1] == theirs[1] == ["Linear", "Shift", "Tanh", "ReLU"]
    for a, b in zip(ours[2:], theirs[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_handle_as_context_manager_and_refused_values_skip_the_hooks():
    for lib in LIBS.values():
        calls = []
        hook = lib.nn.modules.module.register_module_parameter_registration_hook
        with hook(lambda m, n, p, _calls=calls: _calls.append(n)):
            m = lib.nn.Module()
            m.register_parameter("a", lib.nn.Parameter(lib.ones(1)))
            with pytest.raises(TypeError):  # checked before the hooks run
                m.register_parameter("b", lib.ones(1))
            with pytest.raises(KeyError):
                m.register_parameter("c.d", lib.nn.Parameter(lib.ones(1)))
        m.register_parameter("e", lib.nn.Parameter(lib.ones(1)))
        assert calls == ["a"], lib


@pytest.fixture
def fresh_global_backward_kind():
    """Clear (then restore) the remembered kind of global backward hook in both libraries:
    PyTorch never forgets it, so one test's kind would refuse another's."""
    mods = (torch.nn.modules.module, gpugrad.nn.modules.hooks)
    saved = [m._global_is_full_backward_hook for m in mods]
    for m in mods:
        m._global_is_full_backward_hook = None
    yield
    for m, kind in zip(mods, saved):
        m._global_is_full_backward_hook = kind


def _old_backward_hook(lib):
    calls = []
    model = lib.nn.Tanh()  # (on a Sequential PyTorch's old hook sees only the last op)
    handle = lib.nn.modules.module.register_module_backward_hook(
        lambda m, gi, go: calls.append((type(m).__name__, len(gi), len(go))) or (gi[0] * 3,))
    x = lib.tensor([[0.5, -1.0, 2.0]], dtype=lib.float64, requires_grad=True)
    model(x).sum().backward()
    handle.remove()
    return calls, x.grad.numpy()


@pytest.mark.usefixtures("fresh_global_backward_kind")
@pytest.mark.filterwarnings("ignore:Using a non-full backward hook:FutureWarning")
def test_old_global_backward_hook_as_torch_on_one_op_modules():
    # On one-op modules PyTorch's old hook sees what the full hook sees (its grad_fn's inputs
    # are the module's input): there the two agree, values and replacement included.
    ours, theirs = _old_backward_hook(gpugrad), _old_backward_hook(torch)
    assert ours[0] == theirs[0]
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)


@pytest.mark.usefixtures("fresh_global_backward_kind")
@pytest.mark.parametrize("first", ["old", "full"])
def test_mixing_old_and_full_global_backward_hooks_raises(first):
    for lib in LIBS.values():
        mod = lib.nn.modules.module
        register = {"old": mod.register_module_backward_hook,
                    "full": mod.register_module_full_backward_hook}
        second = "full" if first == "old" else "old"
        handle = register[first](lambda m, gi, go: None)
        handle.remove()  # (removing it does not forget the kind)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and "
                                               "full backward hooks as a global Module hook"):
            register[second](lambda m, gi, go: None)
        register[first](lambda m, gi, go: None).remove()  # the same kind again is fine


def test_exported_names_match_torch():
    names = {n for n in torch.nn.modules.module.__all__ if n.startswith("register_module_")}
    assert names <= set(gpugrad.nn.modules.module.__all__)
    for n in names:
        assert callable(getattr(gpugrad.nn.modules.module, n))
