"""Binding Triton to CuPy when Triton's own CUDA driver cannot be built (no PyTorch), and the one
place that works around a Triton release's bugs (``kernels/_triton_compat.py``).

The GPU run itself checks a real launch without PyTorch (tests/cuda); here the driver lookup is
simulated as each Triton release fails it, so the fallback runs in CI without a GPU.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
import triton.runtime
from gpugrad.kernels import _launch, _triton_compat


class _FakeDriverConfig:
    """``triton.runtime.driver`` whose ``active`` fails as a given Triton release does."""

    def __init__(self, error: Exception | None):
        self.error = error
        self.installed = None
        self.real = types.SimpleNamespace(name="triton's own driver")

    @property
    def active(self):
        if self.installed is not None:
            return self.installed
        if self.error is not None:
            raise self.error
        return self.real

    def set_active(self, driver):
        self.installed = driver


def _fake_cupy():
    runtime = types.SimpleNamespace(getDevice=lambda: 0, setDevice=lambda i: None)
    stream = types.SimpleNamespace(ptr=1234)
    cuda = types.SimpleNamespace(runtime=runtime, get_current_stream=lambda: stream)
    return types.SimpleNamespace(cuda=cuda)


@pytest.fixture
def bind(monkeypatch):
    """Run ``_bind_triton_to_cupy`` against a fake driver config; returns what got bound."""

    def run(error):
        config = _FakeDriverConfig(error)
        fallback = types.SimpleNamespace(name="gpugrad's torch-free driver")
        monkeypatch.setattr(triton.runtime, "driver", config)
        monkeypatch.setattr(_launch, "xp", _fake_cupy())
        monkeypatch.setattr(_launch, "_torch_free_driver", lambda: fallback)
        monkeypatch.setattr(_launch, "_bound", False)
        _launch._bind_triton_to_cupy()
        return config.active

    return run


@pytest.mark.parametrize("error", [
    RuntimeError("0 active drivers ([]). There should only be one."),  # Triton 3.6, no torch
    ImportError("No module named 'torch'"),  # older releases
], ids=["triton-3.6", "older"])
def test_torch_free_driver_when_triton_cannot_build_its_own(bind, error):
    active = bind(error)
    assert active.name == "gpugrad's torch-free driver"
    assert active.get_current_device() == 0
    assert active.get_current_stream() == 1234  # CuPy's current stream, not the default


def test_triton_driver_kept_when_it_builds(bind):
    active = bind(None)
    assert active.name == "triton's own driver"
    assert active.get_current_stream() == 1234


def test_interpreter_fix_applies_only_to_the_buggy_expression(monkeypatch):
    """The Triton 3.6 patch replaces ``__index__`` only where the interpreter still converts a
    shape-(1,) array with ``int()``, and the replacement reads such an array."""
    from triton.runtime import interpreter

    def buggy_patch_lang_tensor(tensor, scope):
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data))

    def fixed_patch_lang_tensor(tensor, scope):
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.squeeze()))

    monkeypatch.setattr(interpreter, "_patch_lang_tensor", fixed_patch_lang_tensor)
    assert not _triton_compat.fix_interpreter()
    assert interpreter._patch_lang_tensor is fixed_patch_lang_tensor

    monkeypatch.setattr(interpreter, "_patch_lang_tensor", buggy_patch_lang_tensor)
    assert _triton_compat.fix_interpreter()
    assert not _triton_compat.fix_interpreter()  # once

    class Scope:
        def __init__(self):
            self.attrs = {}

        def set_attr(self, obj, name, value):
            self.attrs[name] = value

    scope = Scope()
    interpreter._patch_lang_tensor(object, scope)
    handle = types.SimpleNamespace(handle=types.SimpleNamespace(data=np.array([7])))
    assert scope.attrs["__index__"](handle) == 7
