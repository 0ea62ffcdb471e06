"""``gpugrad.save`` / ``gpugrad.load``: round trips, sharing, and never executing the file."""

from __future__ import annotations

import io
import json
import os
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import gpugrad
from gpugrad import nn


def _round_trip(obj, **load_kwargs):
    buf = io.BytesIO()
    gpugrad.save(obj, buf)
    buf.seek(0)
    return gpugrad.load(buf, **load_kwargs)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64", "int64", "int32",
                                   "uint8", "bool"])
def test_tensor_round_trip(dtype):
    # (gpugrad's dtype names the NumPy one: "bfloat16" is known to NumPy only once ml_dtypes is
    # imported, which an earlier test may or may not have done)
    arr = (np.arange(12).reshape(3, 4) % 3).astype(getattr(gpugrad, dtype).np)
    t = gpugrad.tensor(arr)
    back = _round_trip(t)
    assert back.dtype == t.dtype and back.shape == t.shape and back.device == t.device
    np.testing.assert_array_equal(back.numpy(), arr)


def test_special_tensors_round_trip():
    scalar = gpugrad.tensor(3.5)
    empty = gpugrad.zeros(0, 3)
    strided = gpugrad.arange(12.0).reshape(3, 4).t()
    leaf = gpugrad.randn(2, requires_grad=True)
    param = nn.Parameter(gpugrad.ones(2))
    out = _round_trip([scalar, empty, strided, leaf, param])
    assert out[0].shape == () and out[0].item() == 3.5
    assert out[1].shape == (0, 3)
    np.testing.assert_array_equal(out[2].numpy(), strided.numpy())
    assert out[3].requires_grad and type(out[3]) is gpugrad.Tensor
    assert isinstance(out[4], nn.Parameter) and out[4].requires_grad


def test_nested_containers_and_values():
    obj = {"epoch": 3, "lr": 1e-3, "name": "mlp", "flags": [True, None],
           "betas": (0.9, 0.999), 7: {"inf": float("inf"), "nan": float("nan")},
           "dtype": gpugrad.float64, "device": gpugrad.device("cpu"),
           "ordered": OrderedDict([("b", 1), ("a", 2)]), "array": np.arange(3)}
    back = _round_trip(obj)
    assert back["epoch"] == 3 and back["lr"] == 1e-3 and back["name"] == "mlp"
    assert back["flags"] == [True, None] and back["betas"] == (0.9, 0.999)
    assert back[7]["inf"] == float("inf") and np.isnan(back[7]["nan"])
    assert back["dtype"] is gpugrad.float64 and back["device"] == gpugrad.device("cpu")
    assert isinstance(back["ordered"], OrderedDict) and list(back["ordered"]) == ["b", "a"]
    np.testing.assert_array_equal(back["array"], np.arange(3))
    with pytest.raises(TypeError, match="can't store objects of type object"):
        gpugrad.save({"x": object()}, io.BytesIO())


def test_state_dicts_round_trip_through_a_file(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    opt = gpugrad.optim.Adam(model.parameters(), lr=0.01)
    model(gpugrad.randn(5, 3)).sum().backward()
    opt.step()
    path = tmp_path / "checkpoint.pt"
    gpugrad.save({"model": model.state_dict(), "optim": opt.state_dict()}, path)
    assert os.listdir(tmp_path) == ["checkpoint.pt"]  # written as named: no suffix added
    checkpoint = gpugrad.load(str(path))
    fresh = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    fresh.load_state_dict(checkpoint["model"])
    x = gpugrad.randn(2, 3)
    np.testing.assert_array_equal(fresh(x).detach().numpy(), model(x).detach().numpy())
    saved_state = checkpoint["optim"]["state"]
    assert sorted(saved_state) == [0, 1, 2, 3, 4, 5]
    assert saved_state[0]["step"].item() == 1.0
    assert checkpoint["optim"]["param_groups"][0]["betas"] == (0.9, 0.999)


def test_lazy_modules_state_round_trips_before_and_after_the_dry_run():
    lazy = nn.Sequential(nn.LazyLinear(4), nn.LazyBatchNorm1d()).double()
    back = _round_trip(lazy.state_dict())
    assert [type(v).__name__ for v in back.values()] == [
        "UninitializedParameter", "UninitializedParameter", "UninitializedParameter",
        "UninitializedParameter", "UninitializedBuffer", "UninitializedBuffer", "Tensor"]
    assert back["0.weight"].dtype == gpugrad.float64 and back["0.weight"].requires_grad
    fresh = nn.Sequential(nn.LazyLinear(4), nn.LazyBatchNorm1d()).double()
    fresh.load_state_dict(back)  # uninitialized into uninitialized: still lazy
    assert fresh[0].has_uninitialized_params()
    lazy(gpugrad.ones(3, 5, dtype=gpugrad.float64))
    fresh.load_state_dict(_round_trip(lazy.state_dict()))  # initialized: materializes
    x = gpugrad.randn(3, 5, dtype=gpugrad.float64)
    fresh.eval()
    np.testing.assert_array_equal(fresh(x).detach().numpy(), lazy.eval()(x).detach().numpy())


def test_shared_tensors_stay_shared():
    w = gpugrad.randn(3)
    back = _round_trip({"a": w, "b": w, "c": w.clone()})
    assert back["a"] is back["b"] and back["c"] is not back["a"]


def test_map_location():
    t = gpugrad.ones(2)
    assert _round_trip(t, map_location="cpu").device == gpugrad.device("cpu")
    assert _round_trip(t, map_location=lambda saved: saved).device == gpugrad.device("cpu")


def test_load_never_unpickles(tmp_path):
    # An archive whose manifest points at a pickled object array: refused, nothing runs.
    path = tmp_path / "evil.npz"
    manifest = {"format": "gpugrad.npz/1", "object": {"ndarray": "t0"}}
    np.savez(path, t0=np.array([print], dtype=object), __manifest__=np.array(json.dumps(manifest)))
    with pytest.raises(ValueError, match="allow_pickle"):
        gpugrad.load(path)
    # A plain pickle (what torch.save writes) is not an archive at all.
    path2 = tmp_path / "pickle.pt"
    path2.write_bytes(pickle.dumps({"x": 1}))
    with pytest.raises(RuntimeError, match="not a gpugrad archive"):
        gpugrad.load(path2)


@pytest.mark.parametrize("mmap", [False, True])
def test_load_of_nothing_raises_eof_error_as_torch(tmp_path, mmap):
    import torch

    empty = tmp_path / "empty.pt"
    empty.write_bytes(b"")
    for lib in (torch, gpugrad):
        with pytest.raises(RuntimeError if mmap else EOFError):
            lib.load(empty, mmap=mmap)
        buffer = io.BytesIO()
        lib.save(lib.ones(2), buffer)  # not rewound: nothing left to read
        if not mmap:
            with pytest.raises(EOFError):
                lib.load(buffer)
