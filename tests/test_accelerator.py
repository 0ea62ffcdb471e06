"""``gpugrad.accelerator`` and the default device, as the PyTorch tutorials use them, against
torch on this CPU machine; the CUDA path is checked by wiring (``gpugrad.cuda`` stubbed)."""

from __future__ import annotations

import pytest
import torch

import gpugrad
from gpugrad import accelerator


def test_the_tutorial_boilerplate_runs_on_a_cpu_machine():
    for m in (gpugrad, torch):
        device = (m.accelerator.current_accelerator().type
                  if m.accelerator.is_available() else "cpu")
        assert device == "cpu"
        model = m.nn.Linear(3, 2).to(device)
        assert model(m.ones(1, 3, device=device)).shape == (1, 2)
        m.set_default_device(device)
        assert str(m.get_default_device()) == "cpu" and m.ones(1).device.type == "cpu"
        m.set_default_device(None)
        assert str(m.get_default_device()) == "cpu"


@pytest.mark.skipif(gpugrad.cuda.is_available(), reason="checks the machine without a GPU")
def test_without_an_accelerator_as_torch():
    assert accelerator.is_available() is torch.accelerator.is_available() is False
    assert accelerator.device_count() == torch.accelerator.device_count() == 0
    assert accelerator.current_accelerator(check_available=True) is None
    for name, args in (("current_device_index", ()),
                       ("set_device_index", (0,)), ("synchronize", ()), ("empty_cache", ()),
                       ("memory_allocated", ()), ("max_memory_allocated", ()),
                       ("memory_reserved", ()), ("reset_peak_memory_stats", ()),
                       ("max_memory_reserved", ()), ("memory_stats", ()),
                       ("get_memory_info", ()), ("reset_accumulated_memory_stats", ()),
                       ("empty_host_cache", ()), ("current_stream", ()),
                       ("get_device_capability", ())):
        for m in (accelerator, torch.accelerator):
            with pytest.raises(RuntimeError, match="Cannot access accelerator device when none"):
                getattr(m, name)(*args)
    with pytest.raises(RuntimeError, match="Cannot access accelerator"):
        accelerator.set_stream(None)  # (torch's: a TypeError for None before that)
    for m in (accelerator, torch.accelerator):  # the deprecated names warn, then raise
        with pytest.warns(FutureWarning, match="Use `current_device_index` instead"):
            with pytest.raises(RuntimeError, match="Cannot access accelerator"):
                m.current_device_idx()
        with pytest.warns(FutureWarning, match="Use `set_device_index` instead"):
            with pytest.raises(RuntimeError, match="Cannot access accelerator"):
                m.set_device_idx(0)


def test_with_an_accelerator_each_call_is_the_cuda_one(monkeypatch):
    calls = []
    monkeypatch.setattr(accelerator, "cuda_available", lambda: True)
    for name in ("current_device", "set_device", "synchronize", "empty_cache", "device_count",
                 "memory_allocated", "max_memory_allocated", "memory_reserved",
                 "reset_peak_memory_stats"):
        monkeypatch.setattr(accelerator.cuda, name,
                            lambda *a, _n=name: calls.append((_n, a)) or 1)
    assert accelerator.is_available() and accelerator.device_count() == 1
    assert accelerator.current_accelerator(check_available=True) == gpugrad.device("cuda")
    assert accelerator.current_device_index() == 1
    accelerator.set_device_index("cuda:0")
    accelerator.set_device_index(None)  # no change
    with accelerator.device_index(0):
        pass
    with accelerator.device_index(None):
        pass
    accelerator.synchronize()
    accelerator.empty_cache()
    for fn in ("memory_allocated", "max_memory_allocated", "memory_reserved",
               "reset_peak_memory_stats"):
        getattr(accelerator, fn)(0)
    assert [c[0] for c in calls] == [
        "device_count", "current_device", "set_device", "current_device", "set_device",
        "set_device", "synchronize", "empty_cache", "memory_allocated", "max_memory_allocated",
        "memory_reserved", "reset_peak_memory_stats"]
    assert calls[2] == ("set_device", ("cuda:0",)) and calls[4] == ("set_device", (0,))
    assert calls[5] == ("set_device", (1,))  # the previous device restored


def test_with_an_accelerator_the_stream_and_memory_calls_are_the_cuda_ones(monkeypatch):
    calls = []
    monkeypatch.setattr(accelerator, "cuda_available", lambda: True)
    for name in ("max_memory_reserved", "memory_stats", "mem_get_info", "current_stream",
                 "_index"):
        monkeypatch.setattr(accelerator.cuda, name,
                            lambda *a, _n=name: calls.append((_n, a)) or 1)

    class Pool:
        def free_all_blocks(self):
            calls.append(("free_all_blocks", ()))

    class Cupy:
        @staticmethod
        def get_default_pinned_memory_pool():
            return Pool()

    class Stream:
        def use(self):
            calls.append(("use", ()))

    monkeypatch.setattr(accelerator.cuda, "_cupy", lambda: Cupy)
    for fn in ("max_memory_reserved", "memory_stats", "get_memory_info", "current_stream"):
        assert getattr(accelerator, fn)(0) == 1
    accelerator.reset_accumulated_memory_stats(0)
    accelerator.empty_host_cache()
    accelerator.set_stream(Stream())
    assert accelerator.get_device_capability("cuda:0")["supported_dtypes"] >= {
        gpugrad.float32, gpugrad.bfloat16, gpugrad.int64, gpugrad.bool}
    assert calls == [("max_memory_reserved", (0,)), ("memory_stats", (0,)),
                     ("mem_get_info", (0,)), ("current_stream", (0,)),
                     ("free_all_blocks", ()), ("use", ()), ("_index", ("cuda:0",))]


def test_a_device_is_a_context_for_the_default_device():
    before = gpugrad.get_default_device()
    with gpugrad.device("cpu") as d:
        assert d == gpugrad.device("cpu") and gpugrad.ones(1).device.type == "cpu"
        assert gpugrad.get_default_device() == gpugrad.device("cpu")
    assert gpugrad.get_default_device() == before
    with torch.device("cpu"):
        assert torch.ones(1).device.type == "cpu"


@pytest.mark.parametrize("device", [None, "cpu", "cpu:0", "cuda", "cuda:1"])
def test_get_device_module_names_the_device_types_module(device):
    for m in (gpugrad, torch):
        as_device = device if device is None else m.device(device)
        assert m.get_device_module(device) is m.get_device_module(as_device) \
            is getattr(m, "cpu" if device is None else device.split(":")[0])
    assert gpugrad.get_device_module(device=device) is gpugrad.get_device_module(device)


@pytest.mark.parametrize("bad", [3, 1.5, b"cpu"])
def test_get_device_module_refuses_what_is_no_device_like_torch(bad):
    with pytest.raises(RuntimeError) as theirs:
        torch.get_device_module(bad)
    with pytest.raises(RuntimeError) as ours:
        gpugrad.get_device_module(bad)
    assert str(ours.value) == str(theirs.value)


def test_get_device_module_refuses_an_unknown_device_string():
    with pytest.raises(RuntimeError, match="device type at start of device string"):
        gpugrad.get_device_module("nope")


def _outcome(fn, *args):
    try:
        return ("returns", fn(*args))
    except Exception as e:  # noqa: BLE001 (the type and message are compared)
        return (type(e).__name__, str(e))


@pytest.mark.parametrize("kind", ["mps", "xpu"])
def test_devices_gpugrad_lacks_answer_as_torch_without_them(kind):
    """``gpugrad.mps`` and ``gpugrad.xpu`` are PyTorch's modules on a machine (or build)
    without those devices, so device-selection code that asks them runs unchanged."""
    ours, theirs = getattr(gpugrad, kind), getattr(torch, kind)
    assert not theirs.is_available()  # (what this machine's torch says; the comparison's base)
    for name in ours.__all__:
        args = (0,) if name in ("manual_seed", "manual_seed_all", "set_device") else ()
        if name in ("set_rng_state", "set_per_process_memory_fraction"):
            args = (torch.zeros(1, dtype=torch.uint8),) if name == "set_rng_state" else (0.5,)
        assert _outcome(getattr(ours, name), *args) == _outcome(getattr(theirs, name), *args), name


def test_the_older_device_selection_boilerplate_runs():
    for m in (gpugrad, torch):
        device = ("cuda" if m.cuda.is_available() else "mps" if m.backends.mps.is_available()
                  else "xpu" if m.xpu.is_available() else "cpu")
        assert device == "cpu" and m.mps.device_count() == m.xpu.device_count() == 0
