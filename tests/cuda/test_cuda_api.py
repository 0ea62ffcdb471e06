"""gpugrad.cuda and the DLPack / CUDA array interface, as far as they go without a GPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import gpugrad
import gpugrad.cuda
from gpugrad.interop import from_dlpack


def test_cuda_reports_its_availability():
    available = gpugrad.cuda.is_available()
    assert isinstance(available, bool)
    assert (gpugrad.cuda.device_count() > 0) == available
    if not available:
        gpugrad.cuda.manual_seed(0)  # ignored without CUDA, as in PyTorch
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            gpugrad.cuda.memory_allocated()


def test_dlpack_round_trips_share_memory_on_cpu():
    t = torch.arange(6.0).reshape(2, 3)
    g = from_dlpack(t)
    assert g.device == gpugrad.device("cpu") and g.shape == (2, 3)
    t[0, 0] = 42.0
    assert g[0, 0].item() == 42.0  # no copy
    back = torch.from_dlpack(g)
    back[1, 2] = -1.0
    assert g[1, 2].item() == -1.0
    assert np.from_dlpack(g).tolist() == g.tolist()
    assert g.__dlpack_device__()[0] == 1
    assert from_dlpack(np.arange(3)).tolist() == [0, 1, 2]


def test_export_refuses_tensors_that_require_grad():
    g = gpugrad.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="require gradient"):
        g.__dlpack__()
    torch.from_dlpack(g.detach())


def test_cpu_tensors_have_no_cuda_array_interface():
    assert not hasattr(gpugrad.ones(2, device="cpu"), "__cuda_array_interface__")


def test_dlpack_capsules_as_torch_utils_dlpack():
    from torch.utils.dlpack import from_dlpack as t_from
    from torch.utils.dlpack import to_dlpack as t_to

    from gpugrad.utils.dlpack import from_dlpack as g_from
    from gpugrad.utils.dlpack import to_dlpack as g_to

    assert gpugrad.to_dlpack is g_to
    g = gpugrad.arange(6.0).reshape(2, 3)
    t = t_from(g_to(g))  # gpugrad -> capsule -> torch, shared
    t[0, 1] = 7.0
    assert g[0, 1].item() == 7.0
    back = g_from(t_to(torch.arange(4.0)))  # torch -> capsule -> gpugrad
    assert back.tolist() == [0.0, 1.0, 2.0, 3.0] and back.device.type == "cpu"
    assert g_from(g_to(g)).tolist() == g.tolist()
    capsule = g_to(g)
    g_from(capsule)
    with pytest.raises(RuntimeError, match="consumed only once"):
        g_from(capsule)
    # A tensor that requires grad is exported (as PyTorch's to_dlpack); a non-tensor is not.
    t_from(g_to(gpugrad.ones(2, requires_grad=True)))
    for to in (g_to, t_to):
        with pytest.raises(TypeError, match="must be Tensor, not list"):
            to([1.0])
