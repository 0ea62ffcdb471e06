"""``gpugrad.xpu``: gpugrad has no Intel GPU (XPU) backend, so this is ``torch.xpu`` in a build
without one: ``is_available()`` is False, ``device_count()`` 0, seeding and the memory counters
are inert (zeros), and what needs the device raises PyTorch's AssertionError.
"""

from __future__ import annotations

from collections import OrderedDict

__all__ = [
    "is_available", "device_count", "is_initialized", "is_bf16_supported", "is_tf32_supported",
    "manual_seed", "manual_seed_all", "seed", "seed_all", "get_rng_state_all", "empty_cache",
    "memory_allocated", "max_memory_allocated", "memory_reserved", "max_memory_reserved",
    "memory_stats", "init", "current_device", "set_device", "get_device_name",
    "get_device_properties", "get_device_capability", "synchronize", "initial_seed",
    "get_rng_state", "mem_get_info",
]


def is_available() -> bool:
    """False: there is no XPU device for gpugrad."""
    return False


def device_count() -> int:
    return 0


def is_initialized() -> bool:
    return False


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False


def is_tf32_supported() -> bool:
    return False


def manual_seed(seed) -> None:
    """Nothing to seed without a device (as PyTorch, which seeds lazily)."""
    int(seed)


manual_seed_all = manual_seed


def seed() -> None:
    return None


seed_all = seed


def get_rng_state_all() -> list:
    return []


def empty_cache() -> None:
    return None


def memory_allocated(device=None) -> int:
    return 0


max_memory_allocated = memory_reserved = max_memory_reserved = memory_allocated


def memory_stats(device=None) -> OrderedDict:
    return OrderedDict()


def _needs_device(name: str):
    def refused(*args, **kwargs):
        raise AssertionError("Torch not compiled with XPU enabled")
    refused.__name__ = refused.__qualname__ = name
    return refused


init = _needs_device("init")
current_device = _needs_device("current_device")
set_device = _needs_device("set_device")
get_device_name = _needs_device("get_device_name")
get_device_properties = _needs_device("get_device_properties")
get_device_capability = _needs_device("get_device_capability")
synchronize = _needs_device("synchronize")
initial_seed = _needs_device("initial_seed")
get_rng_state = _needs_device("get_rng_state")
mem_get_info = _needs_device("mem_get_info")
