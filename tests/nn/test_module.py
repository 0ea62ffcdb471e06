"""``nn.Module`` protocol, ``Parameter`` and the containers, against PyTorch's behaviour."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch_oracle import as_oracle_prints

import gpugrad
from gpugrad import nn


def _net(m):
    """The same model code for both libraries (``m`` is ``torch`` or ``gpugrad``)."""

    class Net(m.nn.Module):
        def __init__(self):
            super().__init__()
            self.body = m.nn.Sequential(m.nn.Linear(4, 8), m.nn.ReLU(), m.nn.Linear(8, 8))
            self.heads = m.nn.ModuleList([m.nn.Linear(8, 3), m.nn.Linear(8, 2)])
            self.norm = m.nn.LayerNorm(8)
            self.scale = m.nn.Parameter(m.ones(1))
            self.register_buffer("steps", m.zeros(1))
            self.register_buffer("scratch", m.zeros(2), persistent=False)

        def forward(self, x):
            h = self.norm(self.body(x)) * self.scale
            return self.heads[0](h), self.heads[1](h)

    return Net()


def _copy_weights(src_torch, dst):
    dst.load_state_dict({k: v.detach().numpy() for k, v in src_torch.state_dict().items()})


def test_names_order_and_tree_match_torch():
    g, t = _net(gpugrad), _net(torch)
    assert [n for n, _ in g.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in g.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(g.state_dict()) == list(t.state_dict())
    assert [n for n, _ in g.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in g.named_children()] == [n for n, _ in t.named_children()]
    assert as_oracle_prints(repr(g)) == repr(t)
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in g.parameters())
    assert sum(p.numel() for p in g.parameters()) == sum(p.numel() for p in t.parameters())


def test_a_pytorch_training_loop_runs_unchanged():
    """The same loop, written once, on both libraries: identical parameters after 5 steps."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 4)), rng.integers(0, 3, 16)
    results = []
    t_model = _net(torch).double()
    for m in (torch, gpugrad):
        model = _net(m).double()
        if m is gpugrad:
            _copy_weights(t_model, model)
        else:
            model.load_state_dict(t_model.state_dict())
        opt = m.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        loss_fn = m.nn.CrossEntropyLoss()
        for _ in range(5):
            opt.zero_grad()
            out3, out2 = model(m.tensor(x))
            loss = loss_fn(out3, m.tensor(y)) + out2.pow(2).mean()
            loss.backward()
            opt.step()
        results.append({k: v.detach().numpy() for k, v in model.state_dict().items()})
    for key in results[0]:
        np.testing.assert_allclose(results[1][key], results[0][key], rtol=1e-10, atol=1e-12)


def test_attribute_registration_rules():
    m = nn.Module()
    m.w = nn.Parameter(gpugrad.zeros(2))
    with pytest.raises(TypeError, match="cannot assign 'torch.FloatTensor' as parameter 'w'"):
        m.w = gpugrad.zeros(2)
    m.w = None
    assert m.w is None and list(m.parameters()) == []
    m.child = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="child module 'child'"):
        m.child = 3
    m.register_buffer("b", gpugrad.ones(1))
    with pytest.raises(TypeError, match="buffer 'b'"):
        m.b = 3
    m.b = gpugrad.zeros(1)
    assert m.b.item() == 0
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        _ = m.nope
    with pytest.raises(KeyError, match="attribute 'child' already exists"):
        m.register_buffer("child", gpugrad.ones(1))
    del m.child
    assert not hasattr(m, "child")

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(gpugrad.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_forward_missing_and_hooks():
    with pytest.raises(NotImplementedError, match="missing the required \"forward\""):
        nn.Module()(gpugrad.ones(1))
    lin = nn.Linear(2, 2)
    seen = []
    handle = lin.register_forward_hook(lambda mod, args, out: seen.append(out.shape) or out * 0)
    pre = lin.register_forward_pre_hook(lambda mod, args: (args[0] * 2,))
    out = lin(gpugrad.ones(3, 2))
    assert seen == [(3, 2)] and out.abs().sum().item() == 0
    handle.remove()
    pre.remove()
    assert lin(gpugrad.ones(3, 2)).abs().sum().item() != 0


def test_train_eval_and_requires_grad():
    g = _net(gpugrad)
    assert g.training and all(m.training for m in g.modules())
    assert g.eval() is g and not any(m.training for m in g.modules())
    g.train()
    assert all(m.training for m in g.modules())
    g.requires_grad_(False)
    assert not any(p.requires_grad for p in g.parameters())


def test_zero_grad():
    lin = nn.Linear(3, 2)
    lin(gpugrad.ones(1, 3)).sum().backward()
    grad = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is grad and grad.abs().sum().item() == 0
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


def test_state_dict_round_trip_and_errors():
    t = _net(torch)
    g = _net(gpugrad)
    _copy_weights(t, g)
    x = np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32)
    for go, to in zip(g(gpugrad.tensor(x)), t(torch.tensor(x))):
        np.testing.assert_allclose(go.detach().numpy(), to.detach().numpy(), rtol=1e-5, atol=1e-6)
    sd = g.state_dict()
    assert "scratch" not in sd and "steps" in sd
    assert np.shares_memory(sd["body.0.weight"].numpy(), g.body[0].weight.detach().numpy())
    assert not sd["body.0.weight"].requires_grad
    assert g.state_dict(keep_vars=True)["scale"] is g.scale

    fresh = _net(gpugrad)
    version = fresh.scale._version
    result = fresh.load_state_dict(sd)
    assert repr(result) == "<All keys matched successfully>"
    assert fresh.scale._version > version
    bad = dict(sd)
    del bad["scale"]
    bad["extra"] = gpugrad.ones(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "scale"[\s\S]*'
                                           r'Unexpected key\(s\) in state_dict: "extra"'):
        fresh.load_state_dict(bad)
    missing, unexpected = fresh.load_state_dict(bad, strict=False)
    assert missing == ["scale"] and unexpected == ["extra"]
    wrong = dict(sd, scale=gpugrad.ones(2))
    with pytest.raises(RuntimeError, match="size mismatch for scale"):
        fresh.load_state_dict(wrong)


def test_load_state_dict_assign_replaces_parameters():
    lin = nn.Linear(2, 2)
    new_w = gpugrad.ones(2, 2)
    lin.load_state_dict({"weight": new_w, "bias": gpugrad.zeros(2)}, assign=True)
    assert isinstance(lin.weight, nn.Parameter) and lin.weight.requires_grad
    assert np.shares_memory(lin.weight.detach().numpy(), new_w.numpy())


def test_to_and_casts_keep_parameter_identity():
    lin = nn.Linear(3, 2)
    w = lin.weight
    lin(gpugrad.ones(1, 3)).sum().backward()
    assert lin.double() is lin and lin.weight is w
    assert w.dtype == gpugrad.float64 and w.grad.dtype == gpugrad.float64
    lin.to(gpugrad.float32)
    assert w.dtype == gpugrad.float32 and lin.to("cpu") is lin
    assert lin.to(device="cpu", dtype=gpugrad.float64).weight.dtype == gpugrad.float64
    with pytest.raises(TypeError, match="floating point"):
        lin.to(gpugrad.int64)
    m = nn.Module()
    m.register_buffer("count", gpugrad.zeros(1, dtype=gpugrad.int64))
    m.double()
    assert m.count.dtype == gpugrad.int64


def test_apply_visits_children_first():
    seen = []
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU()))
    model.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


def test_deepcopy_and_pickle_keep_parameters():
    g = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LayerNorm(4))
    for clone in (copy.deepcopy(g), pickle.loads(pickle.dumps(g))):
        assert all(isinstance(p, nn.Parameter) for p in clone.parameters())
        for (n1, p1), (n2, p2) in zip(g.named_parameters(), clone.named_parameters()):
            assert n1 == n2 and p1 is not p2
            np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())


def test_parameter():
    p = nn.Parameter(gpugrad.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert isinstance(p, gpugrad.Tensor) and p.is_leaf and p.requires_grad
    assert type(p * 2) is gpugrad.Tensor and type(p.detach()) is gpugrad.Tensor
    frozen = nn.Parameter(gpugrad.zeros(1), requires_grad=False)
    assert not frozen.requires_grad
    data = gpugrad.zeros(2)
    shared = nn.Parameter(data)
    assert np.shares_memory(shared.detach().numpy(), data.numpy())
    assert nn.Parameter().shape == (0,)


def test_sequential():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    assert list(seq) == layers
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and list(head) == layers[:2]
    assert repr(head) == repr(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU()))
    with pytest.raises(IndexError):
        seq[3]
    seq.append(nn.Sigmoid())
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Sigmoid"]
    assert list(dict(seq.named_children())) == ["0", "1", "2"]
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.Tanh())]))
    assert named.fc is named[0]
    out = named(gpugrad.ones(4, 2))
    assert out.shape == (4, 2)


def test_module_list_and_dict():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(ml) == 3 and len(list(ml.parameters())) == 6
    ml.append(nn.ReLU())
    ml.insert(0, nn.Tanh())
    assert [type(m).__name__ for m in ml] == ["Tanh", "Linear", "Linear", "Linear", "ReLU"]
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    del ml[0]
    assert type(ml[0]).__name__ == "Linear" and list(dict(ml.named_children())) == [
        "0", "1", "2", "3"]
    md = nn.ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    md["c"] = nn.Linear(1, 2)
    assert list(md) == ["a", "b", "c"] and "b" in md and len(md) == 3
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias", "c.weight", "c.bias"]
    assert md.pop("b").__class__.__name__ == "ReLU" and list(md.keys()) == ["a", "c"]


def test_shared_submodule_counted_once():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, lin)
    assert len(list(seq.parameters())) == 2
    assert len(list(seq.modules())) == 2
    assert len(seq.state_dict()) == 4


def test_deepcopy_of_a_parameter_leaves_its_grad_behind_as_torch():
    import copy

    import torch

    for lib in (torch, gpugrad):
        layer = lib.nn.Linear(2, 1)
        layer(lib.ones(1, 2)).sum().backward()
        target = copy.deepcopy(layer)
        assert target.weight.grad is None and copy.deepcopy(layer.weight).grad is None
        assert layer.weight.grad is not None
        leaf = lib.ones(2, requires_grad=True)
        (leaf * 2).sum().backward()
        assert copy.deepcopy(leaf).grad.tolist() == [2.0, 2.0]  # a plain tensor keeps it
