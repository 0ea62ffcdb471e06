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
            gpugrad.cuda.current_device()


# What a training script calls unconditionally, answered as PyTorch answers before CUDA starts
# (the CPU build here; a CUDA build on a machine without a GPU answers these the same way).
_ANSWERED_WITHOUT_A_GPU = [
    "is_available()", "device_count()", "is_initialized()", "empty_cache()", "manual_seed(0)",
    "manual_seed_all(0)", "seed()", "seed_all()", "memory_allocated()", "memory_allocated(0)",
    "max_memory_allocated()", "memory_reserved()", "max_memory_reserved()", "memory_stats()",
    "get_rng_state_all()", "set_rng_state_all([])", "is_bf16_supported()", "get_arch_list()",
    "default_generators", "memory.empty_cache()", "memory.memory_allocated()",
    "is_tf32_supported()", "memory_stats_as_nested_dict()", "has_half", "has_magma",
]
# ... and what needs a device: PyTorch's CPU build raises AssertionError or AttributeError, a
# CUDA build without a GPU RuntimeError, as gpugrad does.
_REFUSED_WITHOUT_A_GPU = [
    "synchronize()", "current_device()", "set_device(0)", "get_device_name()", "init()",
    "get_device_capability()", "get_device_properties(0)", "mem_get_info()", "ipc_collect()",
    "get_rng_state()", "set_rng_state(None)", "current_stream()", "initial_seed()",
    "default_stream()", "is_current_stream_capturing()", "nvtx.range_push('step')",
    "nvtx.range_pop()", "nvtx.mark('step')",
]


@pytest.mark.skipif(gpugrad.cuda.is_available(), reason="checks the machine without a GPU")
@pytest.mark.parametrize("call", _ANSWERED_WITHOUT_A_GPU)
def test_without_a_gpu_answers_as_torch(call):
    ours, theirs = eval("gpugrad.cuda." + call), eval("torch.cuda." + call)
    assert ours == theirs and type(ours) is type(theirs)


@pytest.mark.skipif(gpugrad.cuda.is_available(), reason="checks the machine without a GPU")
@pytest.mark.parametrize("call", _REFUSED_WITHOUT_A_GPU)
def test_without_a_gpu_refuses_what_needs_a_device(call):
    with pytest.raises(Exception):  # noqa: B017 (torch's CPU build: several types)
        eval("torch.cuda." + call)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        eval("gpugrad.cuda." + call)


@pytest.mark.skipif(gpugrad.cuda.is_available(), reason="checks the machine without a GPU")
def test_without_a_gpu_the_context_managers_and_deprecated_names_act_as_torch():
    for lib in (gpugrad, torch):
        with lib.cuda.device_of(lib.zeros(1)), lib.cuda.device(-1):  # a CPU tensor: no-ops
            pass
        with lib.cuda.stream(None) as s, lib.cuda.StreamContext(None):
            assert s is None
        assert isinstance(lib.cuda.stream(None), lib.cuda.StreamContext)
        for name in ("memory_cached", "max_memory_cached"):
            with pytest.warns(FutureWarning, match=f"torch.cuda.{name}` has been renamed"):
                assert getattr(lib.cuda, name)() == 0
    summary = gpugrad.cuda.memory_summary()
    assert "Allocated memory" in summary and " 0 B " in summary


class _FakeRuntime:
    """The part of ``cupy.cuda.runtime`` the functions below read: one compute-capability
    7.5 GPU with 16 GiB."""

    def getDevice(self):  # noqa: N802 (CuPy's name)
        return 0

    def getDeviceProperties(self, index):  # noqa: N802
        return {"name": b"Fake T4", "major": 7, "minor": 5, "totalGlobalMem": 16 * 2**30,
                "multiProcessorCount": 40}

    def memGetInfo(self):  # noqa: N802
        return 2**30, 16 * 2**30


class _FakePool:
    def used_bytes(self):
        return 512

    def total_bytes(self):
        return 3 * 2**20


class _FakeStream:
    def __init__(self, capturing=False):
        self.capturing = capturing
        self.entered = 0

    def is_capturing(self):
        return self.capturing

    def __enter__(self):
        self.entered += 1
        return self

    def __exit__(self, *exc):
        self.entered -= 1
        return False


class _FakeNvtx:
    calls: list = []

    @classmethod
    def RangePush(cls, msg):  # noqa: N802 (CuPy's names)
        cls.calls.append(("push", msg))

    @classmethod
    def RangePop(cls):  # noqa: N802
        cls.calls.append(("pop",))

    @classmethod
    def Mark(cls, msg):  # noqa: N802
        cls.calls.append(("mark", msg))


class _FakeCupy:
    class cuda:  # noqa: N801
        runtime = _FakeRuntime()
        nvtx = _FakeNvtx
        Stream = type("Stream", (), {"null": _FakeStream()})
        get_current_stream = staticmethod(lambda: _FakeStream(capturing=True))

        class Device:
            def __init__(self, index):
                pass

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

    @staticmethod
    def get_default_memory_pool():
        return _FakePool()


def test_with_a_gpu_the_properties_and_statistics_come_from_cupy(monkeypatch):
    """The GPU path of the calls above, wired to a stand-in for CuPy (tests/cuda/ runs them
    on a real device where one is lent)."""
    cuda = gpugrad.cuda
    for module in (cuda, cuda.memory):
        monkeypatch.setattr(module, "cuda_available", lambda: True)
    monkeypatch.setattr(cuda, "_cupy", lambda: _FakeCupy)
    monkeypatch.setattr(cuda, "device_count", lambda: 1)
    monkeypatch.setattr(cuda.memory, "_cupy", lambda: _FakeCupy)
    props = cuda.get_device_properties(0)
    assert (props.name, props.major, props.minor, props.total_memory,
            props.multi_processor_count) == ("Fake T4", 7, 5, 16 * 2**30, 40)
    assert repr(props) == ("_CudaDeviceProperties(name='Fake T4', major=7, minor=5, "
                           "total_memory=16384MB, multi_processor_count=40)")
    assert cuda.mem_get_info() == (2**30, 16 * 2**30)
    assert cuda.is_bf16_supported() is True  # emulated below capability 8.0
    assert cuda.is_bf16_supported(including_emulation=False) is False
    assert cuda.get_arch_list() == ["sm_75"]
    assert cuda.memory_stats() == {
        "active_bytes.all.current": 512, "allocated_bytes.all.current": 512,
        "allocated_bytes.all.peak": 512, "reserved_bytes.all.current": 3 * 2**20}
    assert cuda.memory_stats_as_nested_dict() == {
        "active_bytes": {"all": {"current": 512}},
        "allocated_bytes": {"all": {"current": 512, "peak": 512}},
        "reserved_bytes": {"all": {"current": 3 * 2**20}}}
    summary = cuda.memory_summary()
    assert [line.split("|")[1:4] for line in summary.splitlines() if "memory  " in line] == [
        [" Allocated memory         ", "          512 B ", "          512 B "],
        [" Reserved memory          ", "       3072 KiB ", "              - "]]
    assert cuda.is_tf32_supported() is False  # capability 7.5
    assert cuda.default_stream() is _FakeCupy.cuda.Stream.null
    assert cuda.is_current_stream_capturing() is True
    s = _FakeStream()
    with cuda.stream(s) as entered:
        assert entered is s and s.entered == 1
    assert s.entered == 0
    _FakeNvtx.calls.clear()
    assert cuda.nvtx.range_push("outer") == 0
    with cuda.nvtx.range("step {}", 3):
        cuda.nvtx.mark("here")
    assert cuda.nvtx.range_pop() == 0
    assert _FakeNvtx.calls == [("push", "outer"), ("push", "step 3"), ("mark", "here"),
                               ("pop",), ("pop",)]
    cuda.ipc_collect()
    for call in (cuda.get_rng_state, cuda.get_rng_state_all, cuda.max_memory_reserved):
        with pytest.raises(NotImplementedError):
            call()


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
