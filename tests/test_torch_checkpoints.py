"""``gpugrad.load`` of files that ``torch.save`` wrote, compared with ``torch.load`` of them."""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict

import numpy as np
import pytest
import torch
from checkpoint_tools import Evil, rewrite_archive

import gpugrad
from gpugrad import nn


def _save(obj, tmp_path, name="checkpoint.pt"):
    path = tmp_path / name
    torch.save(obj, path)
    return path


def _host(t):
    """A gpugrad or torch tensor's values as a NumPy array (bfloat16 as float32)."""
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    arr = t.detach().cpu().numpy()
    return arr.astype(np.float32) if t.dtype == gpugrad.bfloat16 else arr


def _assert_same(ours, theirs):
    """What gpugrad.load gave equals what torch.load gave, kind by kind."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, gpugrad.Tensor)
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
        assert tuple(ours.shape) == tuple(theirs.shape)
        assert ours.stride() == theirs.stride()
        assert ours.requires_grad == theirs.requires_grad
        assert isinstance(ours, nn.Parameter) == isinstance(theirs, torch.nn.Parameter)
        np.testing.assert_array_equal(_host(ours), _host(theirs))
    elif isinstance(theirs, torch.Size):
        assert isinstance(ours, gpugrad.Size) and tuple(ours) == tuple(theirs)
    elif isinstance(theirs, torch.dtype):
        assert ours is getattr(gpugrad, str(theirs).removeprefix("torch."))
    elif isinstance(theirs, torch.device):
        assert isinstance(ours, gpugrad.device) and str(ours) == str(theirs)
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs)
        for key in theirs:
            _assert_same(ours[key], theirs[key])
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same(a, b)
    elif isinstance(theirs, float) and np.isnan(theirs):
        assert isinstance(ours, float) and np.isnan(ours)
    else:
        assert type(ours) is type(theirs) and ours == theirs


def _load_both(obj, tmp_path, **kwargs):
    path = _save(obj, tmp_path)
    ours, theirs = gpugrad.load(path, **kwargs), torch.load(path, **kwargs)
    _assert_same(ours, theirs)
    return ours, theirs


_DTYPES = ["float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
           "uint8", "bool", "uint16", "uint32", "uint64"]


@pytest.mark.parametrize("dtype", _DTYPES)
def test_every_dtype(tmp_path, dtype):
    values = torch.tensor([[-3.5, 0.0, 1.25], [2.0, 7.0, 100.0]])
    t = (values > 1) if dtype == "bool" else values.abs().to(getattr(torch, dtype)) \
        if dtype.startswith("uint") else values.to(getattr(torch, dtype))
    ours, _ = _load_both({"t": t, "t_": t[:, 1:]}, tmp_path)
    assert ours["t"].dtype is getattr(gpugrad, dtype)


def test_zero_dim_empty_and_strided_tensors(tmp_path):
    w = torch.arange(24, dtype=torch.float64).reshape(4, 6)
    obj = {
        "scalar": torch.tensor(2.5), "int_scalar": torch.tensor(7), "empty": torch.zeros(0, 3),
        "empty_of_storage": w[2:2], "transposed": w.t(), "rows": w[1:3], "every_other": w[:, ::2],
        "column": w[:, 4], "expanded": torch.ones(3, 1).expand(3, 5), "permuted":
        torch.randn(2, 3, 4).permute(2, 0, 1), "last": w[-1, -1],
    }
    ours, theirs = _load_both(obj, tmp_path)
    assert ours["scalar"].shape == () and ours["scalar"].item() == 2.5
    assert ours["every_other"].stride() == (6, 2) and not ours["transposed"].is_contiguous()
    assert ours["expanded"].stride() == (1, 0)


def test_tied_tensors_share_memory_as_in_torch(tmp_path):
    w = torch.arange(12.0).reshape(3, 4)
    ours, theirs = _load_both({"a": w, "b": w, "row": w[1], "t": w.t(), "other": w.clone()},
                              tmp_path)
    assert ours["a"] is ours["b"] and theirs["a"] is theirs["b"]
    for lib in (ours, theirs):  # a write through one is seen by every view of its storage
        lib["a"][1, 2] = -1.0
        lib["t"][0, 1] = 50.0
    _assert_same(ours, theirs)
    assert ours["row"][2].item() == -1.0 and ours["other"][1, 2].item() == 6.0


def test_tied_module_weights_share_memory(tmp_path):
    class TiedLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(5, 3)
            self.head = torch.nn.Linear(3, 5, bias=False)
            self.head.weight = self.embed.weight

    ours, theirs = _load_both(TiedLM().state_dict(), tmp_path)
    ours["embed.weight"].mul_(2.0)
    theirs["embed.weight"].mul_(2.0)
    np.testing.assert_array_equal(ours["head.weight"].numpy(), theirs["head.weight"].numpy())


def test_nested_containers_and_plain_values(tmp_path):
    obj = {"epoch": 3, "lr": 1e-3, "name": "run", "none": None, "flags": [True, False],
           "nan": float("nan"), "inf": float("-inf"), "big": 2**70, "betas": (0.9, 0.999),
           7: {"nested": [torch.ones(2), (torch.zeros(1, dtype=torch.int64), "x")]},
           "ordered": OrderedDict([("b", 1), ("a", 2)]), "bytes": b"\x00\xff", "set": {1, 2},
           "complex": 1 + 2j, "dtype": torch.bfloat16, "size": torch.Size([2, 3]),
           "device": torch.device("cpu"), "cuda": torch.device("cuda", 1), "empty": {}}
    _load_both(obj, tmp_path)


def test_parameters_and_requires_grad(tmp_path):
    obj = {"param": torch.nn.Parameter(torch.randn(2, 3)),
           "frozen": torch.nn.Parameter(torch.randn(2), requires_grad=False),
           "leaf": torch.randn(3, requires_grad=True), "plain": torch.randn(3)}
    ours, _ = _load_both(obj, tmp_path)
    assert isinstance(ours["param"], nn.Parameter) and ours["param"].requires_grad
    assert type(ours["leaf"]) is gpugrad.Tensor and ours["leaf"].is_leaf
    ours["param"].sum().backward()  # a usable leaf
    np.testing.assert_array_equal(ours["param"].grad.numpy(), np.ones((2, 3), np.float32))


def test_tensor_with_python_attributes(tmp_path):
    t = torch.arange(3.0)
    t.note = "kept"
    p = torch.nn.Parameter(torch.ones(2))
    p.tag = 3
    ours, theirs = _load_both({"t": t, "p": p}, tmp_path)
    assert ours["t"].note == theirs["t"].note == "kept"
    assert ours["p"].tag == theirs["p"].tag == 3 and isinstance(ours["p"], nn.Parameter)


def test_state_dicts_of_torch_modules_run_in_gpugrad(tmp_path):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4),
                             torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 5, 6))
    tm(torch.randn(8, 3, 5, 5))  # a training step moves BatchNorm's running stats
    tm.eval()
    path = _save(tm.state_dict(), tmp_path)
    state = gpugrad.load(path)
    assert state["1.num_batches_tracked"].dtype is gpugrad.int64
    assert state["1.num_batches_tracked"].item() == 1
    assert state._metadata == torch.load(path)._metadata  # modules' versions, as in torch
    gm = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                       nn.Flatten(), nn.Linear(4 * 5 * 5, 6))
    gm.load_state_dict(state)
    gm.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(gm(gpugrad.tensor(x)).detach().numpy(), expected, rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lstm_state_dict_gives_torch_outputs(tmp_path, dtype):
    torch.manual_seed(1)
    tm = torch.nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)
    tm = tm.to(getattr(torch, dtype))
    path = _save(tm.state_dict(), tmp_path)
    gm = nn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True)
    gm = gm.to(getattr(gpugrad, dtype))
    gm.load_state_dict(gpugrad.load(path))
    x = np.random.default_rng(1).standard_normal((3, 6, 4)).astype(dtype)
    with torch.no_grad():
        t_out, (t_h, t_c) = tm(torch.from_numpy(x))
    g_out, (g_h, g_c) = gm(gpugrad.tensor(x))
    tol = 1e-5 if dtype == "float32" else 1e-12
    for ours, theirs in ((g_out, t_out), (g_h, t_h), (g_c, t_c)):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=tol, atol=tol)


def test_model_and_optimizer_checkpoint(tmp_path):
    torch.manual_seed(2)
    tm = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(tm.parameters(), lr=0.01)
    tm(torch.randn(4, 3)).sum().backward()
    opt.step()
    _load_both({"model": tm.state_dict(), "optim": opt.state_dict(), "epoch": 1}, tmp_path)


def test_file_objects_and_map_location(tmp_path):
    obj = {"w": torch.randn(2, 3), "v": torch.arange(4)}
    buf = io.BytesIO()
    torch.save(obj, buf)
    for loc in (None, "cpu", gpugrad.device("cpu"), {"cpu": "cpu"}, lambda saved: saved,
                lambda storage, location: storage):
        buf.seek(0)
        ours = gpugrad.load(buf, map_location=loc)
        buf.seek(0)
        _assert_same(ours, torch.load(buf))
        assert ours["w"].device == gpugrad.device("cpu")


def test_cuda_locations_follow_map_location(tmp_path):
    path = _save({"w": torch.arange(6.0).reshape(2, 3)}, tmp_path)
    # what torch.save writes for a CUDA tensor: its location 'cuda:0' (BINUNICODE, 4-byte size)
    cuda = rewrite_archive(path, tmp_path / "cuda.pt", change_pickle=lambda p: p.replace(
        b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"))
    for loc in ("cpu", {"cuda:0": "cpu"}, lambda storage, location: storage):
        ours = gpugrad.load(cuda, map_location=loc)
        _assert_same(ours, torch.load(cuda, map_location=loc))
    if not gpugrad.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            gpugrad.load(cuda)
    else:
        assert gpugrad.load(cuda)["w"].device == gpugrad.device("cuda", 0)


def test_big_endian_records(tmp_path):
    obj = {"f": torch.randn(3, 2), "d": torch.randn(4, dtype=torch.float64).t(),
           "h": torch.randn(3).half(), "bf": torch.randn(5).bfloat16(),
           "i": torch.arange(-3, 3, dtype=torch.int32), "l": torch.arange(4),
           "s": torch.arange(5, dtype=torch.int16), "b": torch.tensor([True, False]),
           "u": torch.arange(3, dtype=torch.uint8)}
    paths = {}
    for key, t in obj.items():  # one archive per dtype: each record swapped by its item size
        path = _save({key: t}, tmp_path, f"{key}.pt")
        size = t.element_size()
        paths[key] = rewrite_archive(path, tmp_path / f"{key}_big.pt", byteorder="big",
                              change_record=lambda data, size=size: np.frombuffer(
                                  data, f"<u{size}").astype(f">u{size}").tobytes()
                              if size > 1 else data)
    for key, path in paths.items():
        _assert_same(gpugrad.load(path), torch.load(path))
        _assert_same(gpugrad.load(path), {key: obj[key]})


def test_malicious_globals_are_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = _save({"w": torch.ones(2)}, tmp_path)
    evil = pickle.dumps({"w": Evil(marker)}, protocol=2)
    bad = rewrite_archive(path, tmp_path / "evil.pt", change_pickle=lambda _: evil)
    for weights_only in (True, False):
        with pytest.raises(pickle.UnpicklingError, match="refused the global"):
            gpugrad.load(bad, weights_only=weights_only)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):  # torch's weights_only refuses it too
        torch.load(bad, weights_only=True)
    assert not marker.exists()
    # a pickle that calls a builtin (eval) or reaches a module through a dotted name
    for module, name in (("builtins", "eval"), ("__builtin__", "getattr"),
                         ("torch._utils", "_rebuild_tensor_v2.__globals__"),
                         ("numpy", "load")):
        payload = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"X\x01\x00\x00\x001\x85R."
        bad = rewrite_archive(path, tmp_path / "evil2.pt", change_pickle=lambda _, p=payload: p)
        with pytest.raises(pickle.UnpicklingError, match="refused the global"):
            gpugrad.load(bad)


def test_build_cannot_change_shared_objects(tmp_path):
    # BUILD sets attributes on the object under it: here gpugrad.float32's NumPy dtype (slot
    # state), then Size's methods; only an OrderedDict's __dict__ (a state dict's _metadata)
    # may be set.
    path = _save({"w": torch.ones(2)}, tmp_path)
    np_dtype = gpugrad.float32.np
    payloads = (b"\x80\x02ctorch\nfloat32\nN}X\x02\x00\x00\x00npX\x04\x00\x00\x00evils\x86b.",
                b"\x80\x02ctorch\nSize\nN}X\x07\x00\x00\x00__len__Ns\x86b.",
                b"\x80\x02ccollections\nOrderedDict\n)RN}X\x01\x00\x00\x00aK\x01s\x86b.")
    for payload in payloads:
        bad = rewrite_archive(path, tmp_path / "build.pt", change_pickle=lambda _, p=payload: p)
        with pytest.raises(pickle.UnpicklingError, match="refused to set the state"):
            gpugrad.load(bad)
    assert gpugrad.float32.np is np_dtype and len(gpugrad.Size([1, 2])) == 2


def test_legacy_and_torchscript_files_are_refused_clearly(tmp_path):
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="legacy serialization format"):
        gpugrad.load(legacy)
    scripted = tmp_path / "scripted.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), scripted)
    with pytest.raises(RuntimeError, match="TorchScript archive"):
        gpugrad.load(scripted)


def test_dtypes_gpugrad_lacks_are_named(tmp_path):
    for t, name in ((torch.ones(2, dtype=torch.complex32), "complex32"),
                    (torch.ones(2, dtype=torch.float8_e4m3fn), "float8_e4m3fn")):
        path = _save({"t": t}, tmp_path)
        with pytest.raises(RuntimeError, match=f"no {name} dtype"):
            gpugrad.load(path)


def test_complex_tensors_load(tmp_path):
    """complex64 and complex128 tensors, strided ones too, load with their values; and
    gpugrad's own archives keep them."""
    z = torch.randn(3, 4, dtype=torch.cdouble)
    path = _save({"z": z.t(), "w": torch.randn(2, dtype=torch.cfloat)}, tmp_path)
    back = gpugrad.load(path)
    assert back["z"].dtype is gpugrad.complex128 and back["w"].dtype is gpugrad.complex64
    assert np.array_equal(back["z"].numpy(), z.t().numpy())
    ours = tmp_path / "ours_complex.pt"
    gpugrad.save(back, ours)
    assert np.array_equal(gpugrad.load(ours)["w"].numpy(), back["w"].numpy())


def test_corrupt_records_are_errors(tmp_path):
    path = _save({"w": torch.arange(6.0)}, tmp_path)
    short = rewrite_archive(path, tmp_path / "short.pt", change_record=lambda data: data[:8])
    with pytest.raises(RuntimeError, match="reads past its storage"):
        gpugrad.load(short)


def test_gpugrad_archives_still_load(tmp_path):
    path = tmp_path / "ours.pt"
    gpugrad.save({"w": gpugrad.ones(2), "n": 1}, path)
    back = gpugrad.load(path)
    assert back["n"] == 1 and back["w"].tolist() == [1.0, 1.0]
