"""The ``meta`` device against torch 2.13: tensors with a shape, a dtype and a history but no
data. Moving to it (``to``, factories' ``device=``, ``with gpugrad.device('meta')``), what
ops give on it, its ``repr``, the errors for reading its values, a module moved to it and run
by ``func.functional_call`` with real weights (the ensembling recipe), and ``to_empty``."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import gpugrad


def _both(fn):
    return fn(gpugrad), fn(torch)


def _same_meta(ours, theirs):
    assert ours.is_meta and theirs.is_meta
    assert str(ours.device) == str(theirs.device) == "meta"
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert ours.requires_grad == theirs.requires_grad


def test_device_names():
    for L in (gpugrad, torch):
        assert L.device("meta").type == "meta" and L.device("meta").index is None
        assert L.device("meta:0").index == 0
    with pytest.raises(RuntimeError, match="meta"):
        gpugrad.device("metal")


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_a_moved_tensor_keeps_its_shape_and_dtype_and_holds_no_data(dtype):
    ours, theirs = _both(lambda L: L.ones(3, 4, dtype=getattr(L, dtype)).to("meta"))
    _same_meta(ours, theirs)
    assert ours._data.strides == (0, 0)  # one element for the whole shape
    assert ours.data_ptr() == theirs.data_ptr() == 0
    m = gpugrad.ones(2).to("meta")
    assert m.to("meta") is m and not gpugrad.ones(2).is_meta


@pytest.mark.parametrize("make", [
    lambda L: L.zeros(2, 3, device="meta"), lambda L: L.empty(4, device="meta"),
    lambda L: L.randn(3, 1, device="meta", dtype=L.float64),
    lambda L: L.arange(5, device="meta"), lambda L: L.tensor([1, 2], device="meta"),
    lambda L: L.ones((), device="meta"), lambda L: L.full((2,), 3.0, device="meta"),
])
def test_factories_make_meta_tensors(make):
    _same_meta(*_both(make))


@pytest.mark.parametrize("name", ["plain", "int64", "float64", "0-d", "requires_grad", "grad_fn"])
def test_repr_is_torchs(name):
    makers = {
        "plain": lambda L: L.ones(2, 3).to("meta"),
        "int64": lambda L: L.ones(2, dtype=L.int64).to("meta"),
        "float64": lambda L: L.ones(2, dtype=L.float64).to("meta"),
        "0-d": lambda L: L.ones(()).to("meta"),
        "requires_grad": lambda L: L.ones(2, 2, device="meta", requires_grad=True),
        "grad_fn": lambda L: L.ones(2, 2, device="meta", requires_grad=True)[0] * 2,
    }
    ours, theirs = _both(makers[name])
    assert repr(ours) == repr(theirs).replace("torch.", "gpugrad.")


@pytest.mark.parametrize("read", ["cpu", "tolist", "numpy", "item of many", "item of one",
                                  "float", "to cpu"])
def test_reading_values_raises_as_torch(read):
    reads = {
        "cpu": lambda t: t.cpu(), "tolist": lambda t: t.tolist(), "numpy": lambda t: t.numpy(),
        "item of many": lambda t: t.item(), "item of one": lambda t: t[0, 0].item(),
        "float": lambda t: float(t.sum()), "to cpu": lambda t: t.to("cpu"),
    }
    errors = []
    for L in (gpugrad, torch):
        with pytest.raises((RuntimeError, NotImplementedError, TypeError)) as err:
            reads[read](L.ones(2, 3).to("meta"))
        errors.append((err.type, str(err.value).split(" Please")[0]))
    assert errors[0] == errors[1]


@pytest.mark.parametrize("op", [
    lambda L, a, b: a @ b.t(), lambda L, a, b: (a * b).sum(1), lambda L, a, b: a[:, 1:],
    lambda L, a, b: L.softmax(a, -1), lambda L, a, b: L.cat([a, b]).mean(0, keepdim=True),
    lambda L, a, b: a.to(L.float64) + 1, lambda L, a, b: (a > b).long(),
    lambda L, a, b: L.nn.functional.linear(a, b),
])
def test_ops_give_meta_results_of_torchs_shape_and_dtype(op):
    def run(L):
        a = L.ones(3, 4, device="meta", requires_grad=True)
        b = L.ones(3, 4, device="meta")
        return op(L, a, b)

    _same_meta(*_both(run))


def test_backward_on_meta_gives_meta_gradients():
    for L in (gpugrad, torch):
        w = L.ones(3, 4, device="meta", requires_grad=True)
        (w * 2).sum().backward()
        assert w.grad.is_meta and tuple(w.grad.shape) == (3, 4)


def test_meta_and_cpu_tensors_do_not_mix():
    for L in (gpugrad, torch):
        with pytest.raises(RuntimeError):
            L.ones(2, device="meta") + L.ones(2)


def test_a_module_on_meta_runs_with_real_weights_through_functional_call():
    gpugrad.manual_seed(0)
    model = gpugrad.nn.Sequential(gpugrad.nn.Linear(4, 8), gpugrad.nn.ReLU(),
                                  gpugrad.nn.Linear(8, 2))
    base = copy.deepcopy(model).to("meta")
    assert all(p.is_meta for p in base.parameters())
    assert not any(p.is_meta for p in model.parameters())
    x = gpugrad.randn(5, 4)
    params = dict(model.named_parameters())
    out = gpugrad.func.functional_call(base, params, (x,))
    assert not out.is_meta
    np.testing.assert_array_equal(out.detach().numpy(), model(x).detach().numpy())
    assert base(gpugrad.ones(5, 4, device="meta")).is_meta  # its own weights: a meta result


def test_modules_made_under_the_meta_device_and_moved_off_with_to_empty():
    with gpugrad.device("meta"):
        layer = gpugrad.nn.Linear(3, 2)
    assert layer.weight.is_meta and layer.bias.is_meta
    with pytest.raises(NotImplementedError, match="to_empty"):
        layer.to("cpu")
    layer.to_empty(device="cpu")
    assert layer.weight.device.type == "cpu" and tuple(layer.weight.shape) == (2, 3)
    assert layer(gpugrad.ones(1, 3)).shape == (1, 2)
