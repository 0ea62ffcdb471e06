"""The autocast state, thread-local as in PyTorch: per device type whether autocast is on and
its dtype, whether casts of leaf tensors are cached, the nesting depth, and the cast cache.

``gpugrad.is_autocast_enabled``, ``set_autocast_dtype`` ... are these functions (PyTorch's
``torch.*`` names, legacy per-device spellings included).
"""

from __future__ import annotations

import threading

from .. import _dtype as dt

__all__ = [
    "is_autocast_available", "is_autocast_enabled", "set_autocast_enabled", "get_autocast_dtype",
    "set_autocast_dtype", "is_autocast_cache_enabled", "set_autocast_cache_enabled",
    "clear_autocast_cache", "autocast_increment_nesting", "autocast_decrement_nesting",
    "is_autocast_cpu_enabled", "set_autocast_cpu_enabled", "get_autocast_cpu_dtype",
    "set_autocast_cpu_dtype", "get_autocast_gpu_dtype", "set_autocast_gpu_dtype",
]

DEVICE_TYPES = ("cpu", "cuda")
_DEFAULT_DTYPE = {"cpu": dt.bfloat16, "cuda": dt.float16}


class _State(threading.local):
    # Class defaults: a new thread starts with autocast off. ``active`` is the one flag the
    # op wrappers test (any device type enabled), so that autocast off costs one lookup.
    active = False
    nesting = 0
    cache_enabled = True

    def __init__(self):
        self.enabled = dict.fromkeys(DEVICE_TYPES, False)
        self.dtype = dict(_DEFAULT_DTYPE)
        self.cache: dict = {}


state = _State()
# Threads with autocast on, process-wide: while 0 the op wrappers skip even the thread-local
# lookup (one global read per op when no program uses autocast).
active_threads = [0]


def _device_type(device_type: str) -> str:
    if device_type not in DEVICE_TYPES:
        raise RuntimeError(f"User specified an unsupported autocast device_type '{device_type}'")
    return device_type


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast works for ``device_type`` ("cpu" and "cuda")."""
    return device_type in DEVICE_TYPES


def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` (None: "cuda", PyTorch's legacy meaning)."""
    return state.enabled[_device_type("cuda" if device_type is None else device_type)]


def set_autocast_enabled(device_type, enabled=None) -> None:
    """``set_autocast_enabled(device_type, enabled)`` (or the legacy ``(enabled)``: CUDA)."""
    if enabled is None:
        device_type, enabled = "cuda", device_type
    state.enabled[_device_type(device_type)] = bool(enabled)
    active = any(state.enabled.values())
    if active != state.active:
        active_threads[0] += 1 if active else -1
    state.active = active


def get_autocast_dtype(device_type: str) -> dt.dtype:
    """The lower-precision dtype autocast uses on ``device_type``."""
    return state.dtype[_device_type(device_type)]


def set_autocast_dtype(device_type: str, dtype: dt.dtype) -> None:
    state.dtype[_device_type(device_type)] = dt.to_dtype(dtype)


def is_autocast_cache_enabled() -> bool:
    return state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    state.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    """Forget the cached casts of parameters (done when the outermost region exits)."""
    state.cache.clear()


def autocast_increment_nesting() -> int:
    state.nesting += 1
    return state.nesting


def autocast_decrement_nesting() -> int:
    state.nesting -= 1
    return state.nesting


def is_autocast_cpu_enabled() -> bool:
    return is_autocast_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype() -> dt.dtype:
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype) -> None:
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype() -> dt.dtype:
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype) -> None:
    set_autocast_dtype("cuda", dtype)
