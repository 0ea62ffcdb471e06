"""PyTorch's deprecated per-device spellings: ``torch.cuda.amp`` and ``torch.cpu.amp``
(``autocast`` and ``GradScaler`` with the device type fixed), as modules made here and bound at
``gpugrad.cuda.amp`` / ``gpugrad.cpu.amp``."""

from __future__ import annotations

import sys
import types
import warnings

from .. import _dtype as dt
from . import autocast_mode
from .grad_scaler import GradScaler as _GradScaler

__all__ = ["make_modules"]


def _device_module(device_type: str, default_dtype):
    name = f"torch.{device_type}.amp"

    class autocast(autocast_mode.autocast):  # noqa: N801 - PyTorch's name
        def __init__(self, enabled: bool = True, dtype=default_dtype,
                     cache_enabled: bool = True):
            warnings.warn(f"`{name}.autocast(args...)` is deprecated. Please use "
                          f"`torch.amp.autocast('{device_type}', args...)` instead.",
                          FutureWarning, stacklevel=2)
            super().__init__(device_type, dtype=dtype, enabled=enabled,
                             cache_enabled=cache_enabled)

    class GradScaler(_GradScaler):
        def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                     backoff_factor: float = 0.5, growth_interval: int = 2000,
                     enabled: bool = True) -> None:
            warnings.warn(f"`{name}.GradScaler(args...)` is deprecated. Please use "
                          f"`torch.amp.GradScaler('{device_type}', args...)` instead.",
                          FutureWarning, stacklevel=2)
            super().__init__(device_type, init_scale, growth_factor, backoff_factor,
                             growth_interval, enabled)

    module = types.ModuleType(f"gpugrad.{device_type}.amp",
                              f"Deprecated: use ``gpugrad.amp`` with device_type='{device_type}'.")
    module.autocast, module.GradScaler = autocast, GradScaler
    if device_type == "cuda":
        module.custom_fwd = lambda fwd=None, *, cast_inputs=None: autocast_mode.custom_fwd(
            fwd, device_type="cuda", cast_inputs=cast_inputs)
        module.custom_bwd = lambda bwd=None: autocast_mode.custom_bwd(bwd, device_type="cuda")
    return module


def make_modules(cuda_module):
    """Bind ``gpugrad.cuda.amp`` and create ``gpugrad.cpu`` (with ``amp``), importable by name."""
    cuda_amp = _device_module("cuda", dt.float16)
    cuda_module.amp = cuda_amp
    sys.modules["gpugrad.cuda.amp"] = cuda_amp
    cpu = types.ModuleType("gpugrad.cpu", "CPU device helpers: ``amp`` (deprecated spellings).")
    cpu.amp = _device_module("cpu", dt.bfloat16)
    sys.modules["gpugrad.cpu"] = cpu
    sys.modules["gpugrad.cpu.amp"] = cpu.amp
    return cpu
