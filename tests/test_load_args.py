"""``gpugrad.load``'s ``mmap``, ``pickle_module`` and ``pickle_load_args``, against torch.load:
a mapped load gives what a read gives, writes stay in memory (copy-on-write), and each argument
acts or is refused as PyTorch refuses it."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
import torch

import gpugrad


def _checkpoint():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3)).astype(np.float32)
    return {"w": a, "t": a.T.copy(), "i": np.arange(5, dtype=np.int64), "half": a[:, :2],
            "b": np.array([True, False]), "empty": np.zeros((0, 2), np.float64)}


def _torch_file(tmp_path):
    arrays = _checkpoint()
    obj = {k: torch.from_numpy(v) for k, v in arrays.items()}
    obj["view"] = obj["w"][1:, ::2]  # shares w's storage
    path = tmp_path / "torch.pt"
    torch.save(obj, path)
    return path


def _gpugrad_file(tmp_path):
    obj = {k: gpugrad.from_numpy(v.copy()) for k, v in _checkpoint().items()}
    path = tmp_path / "ours.npz"
    gpugrad.save(obj, path)
    return path


@pytest.mark.parametrize("make", [_torch_file, _gpugrad_file], ids=["torch_zip", "gpugrad_npz"])
def test_mmap_load_equals_read_and_writes_stay_private(tmp_path, make):
    path = make(tmp_path)
    before = path.read_bytes()
    read, mapped = gpugrad.load(path), gpugrad.load(path, mmap=True)
    assert list(read) == list(mapped)
    for key in read:
        assert read[key].dtype == mapped[key].dtype and read[key].stride() == mapped[key].stride()
        np.testing.assert_array_equal(read[key].numpy(), mapped[key].numpy())
    assert isinstance(mapped["w"]._data.base, np.memmap) or mapped["w"]._data.base is not None
    mapped["w"].add_(1.0)  # copy-on-write: the file keeps its bytes
    if "view" in mapped:  # a view of the same storage sees the write, as in torch
        np.testing.assert_array_equal(mapped["view"].numpy(), mapped["w"].numpy()[1:, ::2])
    assert path.read_bytes() == before
    np.testing.assert_array_equal(gpugrad.load(path)["w"].numpy(), read["w"].numpy())


def test_mmap_maps_the_storage_instead_of_reading_it(tmp_path):
    path = _torch_file(tmp_path)
    w = gpugrad.load(path, mmap=True)["w"]._data
    base = w
    while base.base is not None and not isinstance(base, np.memmap):
        base = base.base
    assert isinstance(base, np.memmap)


def test_mmap_needs_a_path_as_in_torch(tmp_path):
    data = _torch_file(tmp_path).read_bytes()
    for lib in (gpugrad, torch):
        with pytest.raises(ValueError, match="f must be a file path in order to use the mmap"):
            lib.load(io.BytesIO(data), mmap=True)


def test_pickle_module_and_unpickler_args(tmp_path):
    path = _torch_file(tmp_path)
    np.testing.assert_array_equal(gpugrad.load(path, pickle_module=pickle)["w"].numpy(),
                                  torch.load(path)["w"].numpy())
    with pytest.raises(NotImplementedError, match="pickle_module"):
        gpugrad.load(path, pickle_module=np)
    for lib in (gpugrad, torch):  # unpickler arguments act (encoding) or fail as pickle's do
        assert lib.load(path, encoding="latin1")["i"].tolist() == [0, 1, 2, 3, 4]
        with pytest.raises(TypeError, match="unexpected keyword argument 'foo'"):
            lib.load(path, foo=1)
