"""``ParameterList``/``ParameterDict`` against PyTorch's: the same entries, names, reprs,
errors, and parameters that optimizers, ``to``, ``deepcopy`` and ``save``/``load`` handle."""

from __future__ import annotations

import copy
import io
from collections import OrderedDict

import numpy as np
import pytest
import torch

import gpugrad
from gpugrad import nn


def _both(fn):
    """``fn(lib)`` for gpugrad and torch."""
    return fn(gpugrad), fn(torch)


def _list(lib):
    lib.manual_seed(0)
    return lib.nn.ParameterList([lib.ones(3, 4), lib.nn.Parameter(lib.zeros(2)), "x",
                                 lib.nn.Parameter(lib.ones(1), requires_grad=False)])


def _dict(lib):
    return lib.nn.ParameterDict({"b": lib.ones(3), "a": lib.zeros(2, 2, dtype=lib.float64),
                                 "note": 7})


def test_list_entries_names_and_repr():
    ours, theirs = _both(_list)
    assert len(ours) == len(theirs) == 4
    assert isinstance(ours[0], nn.Parameter) and ours[2] == "x"
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1", "3"]
    assert not ours[3].requires_grad
    assert repr(ours) == repr(theirs).replace("torch.float", "gpugrad.float")
    assert repr(nn.ParameterList()) == repr(torch.nn.ParameterList()) == "ParameterList()"
    assert ours[-1] is ours[3]
    sliced = ours[1:4:2]
    assert type(sliced) is nn.ParameterList and list(sliced) == [ours[1], ours[3]]
    assert "0" not in dir(ours)
    ours.append(gpugrad.zeros(5)).extend([gpugrad.ones(1)])
    ours += [gpugrad.ones(2)]
    assert len(ours) == 7 and isinstance(ours[6], nn.Parameter)
    ours[0] = gpugrad.full((2,), 3.0)
    assert isinstance(ours[0], nn.Parameter) and ours[0].shape == (2,)
    assert ours._parameters["0"] is ours[0]


def test_list_errors_match_torch():
    for lib in (gpugrad, torch):
        params = lib.nn.ParameterList([lib.ones(1)])
        with pytest.raises(IndexError, match="index 1 is out of range"):
            params[1]
        with pytest.raises(IndexError, match="index -2 is out of range"):
            params[-2] = lib.ones(1)
        with pytest.raises(TypeError, match="iterable, but got Tensor"):
            params.extend(lib.ones(2))
        with pytest.raises(TypeError, match="iterable, but got int"):
            params.extend(3)
        with pytest.raises(RuntimeError, match="ParameterList should not be called"):
            params(lib.ones(1))
        with pytest.raises(TypeError, match="cannot assign"):
            params[0] = "text"  # a parameter slot takes a Parameter or None


def test_dict_api_matches_torch():
    ours, theirs = _both(_dict)
    assert list(ours) == list(theirs) == ["a", "b", "note"]
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["a", "b"]
    assert ours["note"] == 7 and "a" in ours and "z" not in ours
    assert ours.get("z", 1) == 1 and ours.get("a") is ours["a"]
    assert isinstance(ours.setdefault("c", gpugrad.ones(1)), nn.Parameter)
    assert list(reversed(ours)) == ["c", "note", "b", "a"]
    assert ours.popitem()[0] == "c"
    popped = ours.pop("b")
    assert isinstance(popped, nn.Parameter) and "b" not in ours._parameters
    ordered = nn.ParameterDict(OrderedDict([("z", gpugrad.ones(1)), ("y", gpugrad.ones(1))]))
    assert list(ordered) == ["z", "y"]
    assert list(ordered.copy()) == ["z", "y"] and ordered.copy()["z"] is ordered["z"]
    merged = ordered | ours
    assert list(merged) == ["z", "y", "a", "note"]
    ordered |= nn.ParameterDict([("x", gpugrad.ones(1))])
    assert list(ordered) == ["z", "y", "x"]
    assert list(ordered.fromkeys(["p", "q"])) == ["p", "q"]
    assert list(ordered.keys()) == ["z", "y", "x"] and len(list(ordered.values())) == 3
    ordered.clear()
    assert len(ordered) == 0 and not ordered._parameters
    for lib in (gpugrad, torch):
        d = lib.nn.ParameterDict()
        with pytest.raises(TypeError, match="not a string"):
            d[1]
        with pytest.raises(TypeError, match="should be called with an iterable"):
            d.update(3)
        with pytest.raises(ValueError, match="has length 3; 2 is required"):
            d.update([("a", 1, 2)])
        with pytest.raises(KeyError):
            d.popitem()
        with pytest.raises(RuntimeError, match="ParameterDict should not be called"):
            d(1)


class _Model:
    """A model using both containers, built the same way in either library."""

    @staticmethod
    def build(lib):
        class Model(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = lib.nn.ParameterList([lib.zeros(3, 3), lib.zeros(3, 3)])
                self.extra = lib.nn.ParameterDict({"scale": lib.zeros(3), "shift": lib.zeros(3)})

            def forward(self, x):
                for w in self.layers:
                    x = lib.tanh(x @ w)
                return x * self.extra["scale"] + self.extra["shift"]

        return Model().double()


def test_training_matches_torch_and_state_survives_copy_and_save():
    ours, theirs = _Model.build(gpugrad), _Model.build(torch)
    rng = np.random.default_rng(0)
    for p in theirs.parameters():
        p.data = torch.tensor(rng.standard_normal(tuple(p.shape)))
    assert list(ours.state_dict()) == list(theirs.state_dict()) == [
        "layers.0", "layers.1", "extra.scale", "extra.shift"]
    ours.load_state_dict({k: gpugrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    opt_g = gpugrad.optim.Adam(ours.parameters(), lr=0.1)
    opt_t = torch.optim.Adam(theirs.parameters(), lr=0.1)
    x = rng.standard_normal((4, 3))
    for _ in range(3):
        for model, opt, lib in ((ours, opt_g, gpugrad), (theirs, opt_t, torch)):
            opt.zero_grad()
            (model(lib.tensor(x)) ** 2).sum().backward()
            opt.step()
    for (n, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters(), strict=True):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), atol=1e-12, err_msg=n)
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), atol=1e-12, err_msg=n)
    twin = copy.deepcopy(ours)
    assert twin.layers[0] is not ours.layers[0] and isinstance(twin.extra["scale"], nn.Parameter)
    np.testing.assert_array_equal(twin.layers[1].detach().numpy(),
                                  ours.layers[1].detach().numpy())
    buf = io.BytesIO()
    gpugrad.save(ours.state_dict(), buf)
    buf.seek(0)
    fresh = _Model.build(gpugrad)
    fresh.load_state_dict(gpugrad.load(buf))
    np.testing.assert_array_equal(fresh.layers[0].detach().numpy(),
                                  ours.layers[0].detach().numpy())
    ours.float()
    assert ours.layers[0].dtype == gpugrad.float32 and isinstance(ours.layers[0], nn.Parameter)
    assert ours.extra["scale"].dtype == gpugrad.float32


@pytest.mark.parametrize("call", [
    "s * 2", "2 * s", "s * 0", "s * 1.5", "s.__imul__(2)", "t.insert(-1, nn.Identity())",
    "t.insert(-3, nn.Identity())", "t.insert(3, nn.Identity())", "t.insert(-4, nn.Identity())",
])
def test_sequential_repeat_and_insert_as_torch(call):
    seen = []
    for L in (torch, gpugrad):
        nn = L.nn
        s = nn.Sequential(nn.ReLU(), nn.Tanh())
        t = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid())
        try:
            r = eval(call, {"s": s, "t": t, "nn": nn})
            seen.append(([type(m).__name__ for m in r], list(r._modules),
                         len(r) > 3 and r[0] is r[2]))
        except (TypeError, ValueError, IndexError) as err:
            seen.append(type(err).__name__)
    assert seen[1] == seen[0]


def test_small_argument_readings_as_torch():
    """A 0-d tensor that requires grad as linspace's start; integer tensors in interpolate's
    size."""
    for L in (torch, gpugrad):
        assert L.linspace(L.tensor(0.0, requires_grad=True), 1, 3).tolist() == [0.0, 0.5, 1.0]
        out = L.nn.functional.interpolate(L.ones(1, 1, 2, 2), size=(L.tensor(4), 4))
        assert tuple(out.shape) == (1, 1, 4, 4)


def test_normalize_into_out_and_no_grad_exit_as_torch():
    for L in (torch, gpugrad):
        out = L.empty(1, 2)
        result = L.nn.functional.normalize(L.tensor([[3.0, 4.0]]), dim=1, out=out)
        assert result is out and np.allclose(out.tolist(), [[0.6, 0.8]])
        L.no_grad().__exit__(None, None, None)  # never entered: grad mode off, as PyTorch's
        assert not L.is_grad_enabled()
        L.set_grad_enabled(True)
