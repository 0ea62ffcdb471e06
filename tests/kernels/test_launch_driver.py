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


def test_bfloat16_rounding_matches_the_gpu_and_numpy():
    """The interpreter's float32 -> bfloat16 cast is patched to round to nearest even, as the
    GPU and ml_dtypes do (every release so far truncated); NaN and infinities survive."""
    import ml_dtypes

    values = np.random.default_rng(0).standard_normal(20000).astype(np.float32) * 300
    values[:6] = [np.nan, np.inf, -np.inf, 3.3895314e38, -0.0, 1.005859375]
    bits = _triton_compat._round_to_bfloat16_bits(values)
    np.testing.assert_array_equal(bits, values.astype(ml_dtypes.bfloat16).view(np.uint16))
    assert np.isnan(bits[:1].view(ml_dtypes.bfloat16).astype(np.float32)[0])


def test_bfloat16_fix_applies_only_to_a_truncating_interpreter(monkeypatch):
    import triton.language as tl
    from triton.runtime import interpreter

    builder, handle = interpreter.InterpreterBuilder, interpreter.TensorHandle

    def truncating(self, src, dst_type):
        return handle((src.data.view(np.uint32) >> 16).astype(np.uint16), dst_type)

    def rounding(self, src, dst_type):
        return handle(_triton_compat._round_to_bfloat16_bits(src.data), dst_type)

    monkeypatch.setattr(builder, "create_fp_trunc", rounding)
    assert not _triton_compat.fix_bfloat16_rounding()
    assert builder.create_fp_trunc is rounding

    monkeypatch.setattr(builder, "create_fp_trunc", truncating)
    assert _triton_compat.fix_bfloat16_rounding()
    assert not _triton_compat.fix_bfloat16_rounding()  # once
    x = handle(np.array([3.984375 + 0.015625 * 0.75, 1.0], dtype=np.float32), tl.float32)
    out = builder.create_fp_trunc(builder.__new__(builder), x, tl.bfloat16)
    assert out.data.tolist() == [0x4080, 0x3F80]  # 4.0 (rounded up), 1.0
    other = handle(np.array([1.5], dtype=np.float64), tl.float64)  # other casts: the original
    assert builder.create_fp_trunc(builder.__new__(builder), other, tl.float32).data.dtype == \
        np.uint16


def test_interpreted_bfloat16_kernels_round_like_pytorch():
    """End to end under the interpreter: a bfloat16 add, product and exp give PyTorch's
    bits (one rounding of the float32 result)."""
    import subprocess
    import sys

    code = (
        "import gpugrad, torch\n"
        "x = gpugrad.tensor([3.3, 1/3, 1.0039, 2.5], dtype=gpugrad.bfloat16)\n"
        "y = gpugrad.tensor([0.7, 1/7, 0.0021, 1.1], dtype=gpugrad.bfloat16)\n"
        "tx, ty = (torch.from_numpy(t.float().numpy()).bfloat16() for t in (x, y))\n"
        "for f in (lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a.exp()):\n"
        "    assert f(x, y).float().tolist() == f(tx, ty).float().tolist(), (f(x, y), f(tx, ty))\n"
        "print('ok')\n"
    )
    import os

    env = dict(os.environ, GPUGRAD_KERNELS="interpret")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]
