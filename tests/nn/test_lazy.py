"""Lazy modules against PyTorch's: ``UninitializedParameter``/``UninitializedBuffer``, the
``LazyModuleMixin`` protocol (a dry run materializes and turns the class into the eager one,
state dicts before and after), each ``Lazy*`` layer's values and gradients once initialized, and
the same initial values as its eager twin under the same seed."""

from __future__ import annotations

import copy
import inspect
import pickle

import numpy as np
import pytest
import torch
from nn._compare import assert_same_run

import gpugrad
from gpugrad import nn
from gpugrad.nn.modules.lazy import LazyModuleMixin
from gpugrad.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy

# a lazy instance norm with neither affine nor running stats never learns num_features: it
# warns at each call (as PyTorch's)
pytestmark = pytest.mark.filterwarnings("ignore:input's size at dim=1 does not match")

rng = np.random.default_rng(0)

# (lazy class, its args, eager class, eager args, input shape)
LAYERS = [
    ("LazyLinear", (3,), "Linear", (5, 3), (4, 5)),
    ("LazyLinear", (3, False), "Linear", (5, 3, False), (2, 4, 5)),
    ("LazyConv1d", (4, 3), "Conv1d", (2, 4, 3), (2, 2, 7)),
    ("LazyConv1d", (4, 3, 2, 1, 1, 2, False), "Conv1d", (6, 4, 3, 2, 1, 1, 2, False), (6, 9)),
    ("LazyConv2d", (4, (2, 3)), "Conv2d", (3, 4, (2, 3)), (2, 3, 5, 6)),
    ("LazyConv3d", (4, (2, 1, 2), 1, 1, 1, 2), "Conv3d", (2, 4, (2, 1, 2), 1, 1, 1, 2),
     (2, 2, 3, 2, 3)),
    ("LazyConvTranspose3d", (3, 2, 2, 0, 1), "ConvTranspose3d", (2, 3, 2, 2, 0, 1),
     (2, 2, 2, 3)),
    ("LazyBatchNorm1d", (), "BatchNorm1d", (3,), (5, 3)),
    ("LazyBatchNorm1d", (1e-3, None, True, False), "BatchNorm1d", (3, 1e-3, None, True, False),
     (4, 3, 2)),
    ("LazyBatchNorm2d", (), "BatchNorm2d", (3,), (2, 3, 4, 4)),
    ("LazyBatchNorm3d", (1e-5, 0.1, False), "BatchNorm3d", (2, 1e-5, 0.1, False),
     (2, 2, 2, 3, 3)),
    ("LazyInstanceNorm1d", (), "InstanceNorm1d", (3, 1e-5, 0.1, True, True), (2, 3, 6)),
    ("LazyInstanceNorm2d", (1e-5, 0.1, False, False), "InstanceNorm2d", (3,), (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", (), "InstanceNorm3d", (2, 1e-5, 0.1, True, True), (1, 2, 2, 3, 3)),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(LAYERS)]


def params_of(fn):
    """Names, kinds and defaults of ``fn``'s parameters (not the annotations)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("lazy,args,eager,eager_args,shape", LAYERS, ids=IDS)
def test_signature_and_reprs_match_torch(lazy, args, eager, eager_args, shape):
    assert params_of(getattr(nn, lazy)) == params_of(getattr(torch.nn, lazy))
    ours, theirs = getattr(nn, lazy)(*args), getattr(torch.nn, lazy)(*args)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [repr(v) for v in ours.state_dict().values()] == \
        [repr(v) for v in theirs.state_dict().values()]
    assert ours.has_uninitialized_params() == theirs.has_uninitialized_params()
    x = rng.standard_normal(shape)
    ours(gpugrad.tensor(x, dtype=gpugrad.float32))
    theirs(torch.tensor(x, dtype=torch.float32))
    assert type(ours).__name__ == type(theirs).__name__ == eager
    assert type(ours) is getattr(nn, eager)
    assert repr(ours) == repr(theirs)
    assert not any(is_lazy(t) for t in ours.state_dict().values())
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("lazy,args,eager,eager_args,shape", LAYERS, ids=IDS)
def test_initialized_layer_matches_torch(lazy, args, eager, eager_args, shape, dtype):
    """After the dry run the layer computes PyTorch's values and gradients (with PyTorch's
    parameters loaded), in both dtypes; the dtype set before the dry run is kept."""
    ours = getattr(nn, lazy)(*args, dtype=getattr(gpugrad, dtype))
    theirs = getattr(torch.nn, lazy)(*args, dtype=getattr(torch, dtype))
    x = rng.standard_normal(shape).astype(dtype)
    ours(gpugrad.tensor(x))
    theirs(torch.tensor(x))
    assert all(p.dtype == getattr(gpugrad, dtype) for p in ours.parameters())
    ours.load_state_dict({k: gpugrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    assert_same_run(ours, theirs, [rng.standard_normal(shape).astype(dtype)],
                    atol=1e-10 if dtype == "float64" else 1e-5)
    for (name, b), (_, tb) in zip(ours.named_buffers(), theirs.named_buffers(), strict=True):
        np.testing.assert_allclose(b.numpy(), tb.numpy(), atol=1e-6, err_msg=name)


@pytest.mark.parametrize("lazy,args,eager,eager_args,shape", LAYERS, ids=IDS)
def test_same_seed_gives_the_eager_twins_initial_values(lazy, args, eager, eager_args, shape):
    gpugrad.manual_seed(7)
    twin = getattr(nn, eager)(*eager_args)
    gpugrad.manual_seed(7)
    ours = getattr(nn, lazy)(*args)
    ours(gpugrad.ones(shape))  # the dry run draws nothing else
    twin_state = twin.state_dict()
    for name, value in ours.state_dict().items():
        if name == "num_batches_tracked":
            continue
        if name.startswith("running"):  # the dry run in train mode updated them
            continue
        np.testing.assert_array_equal(value.numpy(), twin_state[name].numpy(), err_msg=name)


def test_mlp_dry_run_then_optimizer_as_torch():
    """The documented workflow: build, move/cast, dry run, then the optimizer; also an
    optimizer built before the dry run (PyTorch accepts it: it holds the same objects)."""
    def mlp(m):
        return m.nn.Sequential(m.nn.LazyLinear(6), m.nn.ReLU(), m.nn.LazyLinear(2))

    x, y = rng.standard_normal((8, 5)), rng.standard_normal((8, 2))
    results, start = [], {}
    for m in (gpugrad, torch):
        model = mlp(m).double()
        early = m.optim.Adam(model.parameters(), lr=0.1)
        early.step()  # no gradients yet: nothing to do
        model(m.ones(2, 5, dtype=m.float64))
        if m is torch:  # the same start
            model.load_state_dict({k: torch.tensor(v) for k, v in start.items()})
        else:
            start.update((k, v.numpy().copy()) for k, v in model.state_dict().items())
        for _ in range(3):
            early.zero_grad()
            m.nn.functional.mse_loss(model(m.tensor(x)), m.tensor(y)).backward()
            early.step()
        results.append([p.detach().numpy().copy() for p in model.parameters()])
        assert [type(c).__name__ for c in model] == ["Linear", "ReLU", "Linear"]
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_load_state_dict_into_a_lazy_module_materializes_as_torch():
    full = nn.Linear(4, 3)
    lazy = nn.LazyLinear(3)
    result = lazy.load_state_dict(full.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    # materialized, but still lazy until the first call (as PyTorch's)
    assert type(lazy) is nn.LazyLinear and not lazy.has_uninitialized_params()
    assert type(lazy.weight) is nn.Parameter and lazy.in_features == 0
    np.testing.assert_array_equal(lazy.weight.detach().numpy(), full.weight.detach().numpy())
    with pytest.raises(AssertionError, match="in_features inferred from input: 5"):
        lazy(gpugrad.ones(2, 5))
    out = lazy(gpugrad.ones(2, 4))
    assert type(lazy) is nn.Linear and lazy.in_features == 4
    np.testing.assert_allclose(out.detach().numpy(), full(gpugrad.ones(2, 4)).detach().numpy())
    # a lazy module's uninitialized state loads into another lazy module and changes nothing
    other = nn.LazyBatchNorm1d()
    nn.LazyBatchNorm1d().load_state_dict(other.state_dict())
    assert other.has_uninitialized_params()
    # ... and into an initialized one it is an error, as in PyTorch
    with pytest.raises(RuntimeError, match="Can't access the shape of an uninitialized"):
        nn.Linear(4, 3).load_state_dict(nn.LazyLinear(3).state_dict())
    # arrays load too
    lazy = nn.LazyLinear(2, bias=False)
    lazy.load_state_dict({"weight": np.ones((2, 3))})
    assert tuple(lazy.weight.shape) == (2, 3)


def test_uninitialized_parameter_as_torch():
    p = UninitializedParameter()
    t = torch.nn.UninitializedParameter()
    assert repr(p) == repr(t) == "<UninitializedParameter>"
    assert (p.requires_grad, p.is_leaf, str(p.dtype)[8:], tuple(p.size())) == \
        (t.requires_grad, t.is_leaf, str(t.dtype)[6:], tuple(t.size()))
    assert is_lazy(p) and not is_lazy(gpugrad.zeros(1))
    assert isinstance(p, nn.Parameter) and isinstance(p, gpugrad.Tensor)
    with pytest.raises(RuntimeError, match="Can't access the shape"):
        p.shape  # noqa: B018
    for op in (lambda: p + 1, lambda: p.sum(), lambda: p.numel(), lambda: p.dim(),
               lambda: gpugrad.nn.functional.linear(gpugrad.ones(2), p)):
        with pytest.raises(ValueError, match="Attempted to use an uninitialized parameter"):
            op()
    with pytest.raises(RuntimeError, match="Can't share memory"):
        p.share_memory_()
    d = p.double()
    assert type(d) is UninitializedParameter and d.dtype == gpugrad.float64
    assert p.to(gpugrad.float32) is p and p.float() is p
    assert p.data.numel() == 0
    p.data = d
    assert p.dtype == gpugrad.float64
    q = copy.deepcopy(p)
    assert type(q) is UninitializedParameter and q.dtype == gpugrad.float64 and q is not p
    assert type(pickle.loads(pickle.dumps(p))) is UninitializedParameter
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and tuple(p.shape) == (2, 3) and p.dtype == gpugrad.float64
    p = UninitializedParameter(False, dtype=gpugrad.float64)
    p.materialize([4], dtype=gpugrad.float32)
    assert (p.requires_grad, p.dtype, tuple(p.shape)) == (False, gpugrad.float32, (4,))


def test_uninitialized_buffer_as_torch():
    b = UninitializedBuffer(persistent=False)
    assert repr(b) == "<UninitializedBuffer>" and not b.requires_grad and not b.persistent
    assert not isinstance(b, nn.Parameter)
    m = nn.Module()
    m.stat = b  # registers as a buffer, as in PyTorch
    assert list(m._buffers) == ["stat"] and m.stat is b
    assert "stat" not in m.state_dict()
    b.materialize((3,))
    assert type(b) is gpugrad.Tensor and tuple(b.shape) == (3,)
    m.double()


def test_module_conversions_before_the_dry_run():
    m = nn.LazyBatchNorm2d()
    m.double()
    assert m.weight.dtype == m.running_mean.dtype == gpugrad.float64
    assert type(m.running_mean) is UninitializedBuffer
    assert m.num_batches_tracked.dtype == gpugrad.int64
    m.requires_grad_(False)
    assert not m.weight.requires_grad
    twin = copy.deepcopy(m)
    assert type(twin) is nn.LazyBatchNorm2d and type(twin.weight) is UninitializedParameter
    out = m(gpugrad.ones(2, 3, 2, 2, dtype=gpugrad.float64))
    assert out.dtype == gpugrad.float64 and not m.weight.requires_grad
    assert type(twin) is nn.LazyBatchNorm2d  # the copy is still lazy


def test_lazy_module_errors_as_torch():
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input "
                                           "to LazyConv2d"):
        nn.LazyConv2d(2, 3)(gpugrad.ones(2, 3))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv1d(4, 1, groups=2)(gpugrad.ones(1, 3, 4))
    with pytest.raises(TypeError):
        nn.LazyLinear(3)(gpugrad.ones(2, 4), 3)

    class Unfinished(LazyModuleMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.w = UninitializedParameter()

        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented "
                                                  "for Unfinished"):
        Unfinished()(gpugrad.ones(1))

    class Partial(Unfinished):
        def initialize_parameters(self, x):
            pass

    with pytest.raises(RuntimeError, match="module Partial has not been fully initialized"):
        Partial()(gpugrad.ones(1))


def test_custom_lazy_module_without_a_class_to_become():
    """A user's lazy module initializes once and stays of its own class, as in PyTorch."""
    calls = []

    class Scale(LazyModuleMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.w = UninitializedParameter()

        def initialize_parameters(self, x, *, bias=0.0):
            calls.append(bias)
            self.w.materialize((x.shape[-1],))
            with gpugrad.no_grad():
                self.w.fill_(2.0)

        def forward(self, x, *, bias=0.0):
            return x * self.w + bias

    m = Scale()
    out = m(gpugrad.ones(3), bias=1.0)
    assert out.tolist() == [3.0, 3.0, 3.0] and calls == [1.0]
    m(gpugrad.ones(3))
    assert calls == [1.0] and type(m) is Scale and not m.has_uninitialized_params()


def test_names_exported_as_torch():
    assert nn.UninitializedParameter is UninitializedParameter
    assert nn.UninitializedBuffer is UninitializedBuffer
    assert gpugrad.nn.modules.lazy.LazyModuleMixin is LazyModuleMixin
    for name in torch.nn.parameter.__all__:
        assert hasattr(gpugrad.nn.parameter, name), name
    for name in ("has_uninitialized_params", "initialize_parameters", "cls_to_become"):
        assert hasattr(LazyModuleMixin, name)
    assert params_of(UninitializedParameter) == params_of(torch.nn.UninitializedParameter)
    assert params_of(UninitializedBuffer) == params_of(torch.nn.UninitializedBuffer)
