"""``DataParallel`` and ``data_parallel``: the module called directly without a GPU, as
PyTorch's; one listed GPU runs there; several are refused (checked by faking the device
count, on the CPU)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import gpugrad

dp_module = sys.modules["gpugrad.nn.parallel.data_parallel"]  # (the name is the function)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(dp_module, "_device_type", lambda: None)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(dp_module, "_device_type", lambda: "cuda")
    monkeypatch.setattr(gpugrad.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(gpugrad.cuda, "current_device", lambda: 0)


def test_without_a_gpu_the_module_runs_directly_as_torch(no_gpu):
    gpugrad.manual_seed(0)
    inner = gpugrad.nn.Linear(3, 2)
    ours = gpugrad.nn.DataParallel(inner, device_ids=[0, 1], output_device=1, dim=1)
    theirs = torch.nn.DataParallel(torch.nn.Linear(3, 2))
    assert ours.module is inner and ours.device_ids == [] == theirs.device_ids
    assert not hasattr(ours, "dim") and not hasattr(theirs, "dim")
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["module.weight",
                                                                      "module.bias"]
    assert repr(ours) == repr(theirs)
    x = gpugrad.randn(4, 3, requires_grad=True)
    out = ours(x)
    np.testing.assert_array_equal(out.detach().numpy(), inner(x).detach().numpy())
    out.sum().backward()
    assert inner.weight.grad is not None and x.grad.shape == (4, 3)
    assert gpugrad.nn.parallel.DataParallel is gpugrad.nn.DataParallel


def test_kwargs_pass_through(no_gpu):
    class Scale(gpugrad.nn.Module):
        def forward(self, x, *, factor=1.0):
            return x * factor

    wrapped = gpugrad.nn.DataParallel(Scale())
    np.testing.assert_array_equal(wrapped(gpugrad.ones(2), factor=3.0).numpy(), [3.0, 3.0])


def test_functional_without_a_gpu_raises_as_torch(no_gpu):
    with pytest.raises(RuntimeError, match="device type could not be determined"):
        gpugrad.nn.parallel.data_parallel(gpugrad.nn.Linear(2, 2), gpugrad.ones(1, 2))


def test_several_gpus_are_refused_naming_ddp(two_gpus):
    module = gpugrad.nn.Linear(2, 2)
    for kwargs in ({}, {"device_ids": [0, 1]}, {"device_ids": ["cuda:0", 1]}):
        with pytest.raises(NotImplementedError, match="DistributedDataParallel"):
            gpugrad.nn.DataParallel(module, **kwargs)
    with pytest.raises(NotImplementedError, match="DistributedDataParallel"):
        gpugrad.nn.parallel.data_parallel(module, gpugrad.ones(1, 2), device_ids=[0, 1])


def test_empty_device_list_with_a_gpu_raises(two_gpus):
    with pytest.raises(RuntimeError, match="no available devices"):
        gpugrad.nn.DataParallel(gpugrad.nn.Linear(2, 2), device_ids=[])


@pytest.mark.gpu
def test_one_gpu_moves_the_module_and_inputs_there():
    inner = gpugrad.nn.Linear(3, 2)
    wrapped = gpugrad.nn.DataParallel(inner, device_ids=[0])
    assert wrapped.device_ids == [0] and wrapped.output_device == 0 and wrapped.dim == 0
    assert inner.weight.device == gpugrad.device("cuda", 0)
    out = wrapped(gpugrad.randn(4, 3))  # a CPU input is copied to the device
    assert out.device == gpugrad.device("cuda", 0)
    out = gpugrad.nn.parallel.data_parallel(inner, gpugrad.randn(4, 3), device_ids=[0])
    assert out.device == gpugrad.device("cuda", 0)
    with pytest.raises(RuntimeError, match="parameters and buffers on device"):
        gpugrad.nn.parallel.data_parallel(gpugrad.nn.Linear(3, 2), gpugrad.randn(4, 3),
                                          device_ids=[0])
