"""``gpugrad.mps``: gpugrad has no Metal (MPS) backend, so this is ``torch.mps`` on a machine
without one: ``is_available()`` is False, ``device_count()`` 0, seeding does nothing, and what
needs the device raises PyTorch's RuntimeError (for code that only calls them after checking).
"""

from __future__ import annotations

__all__ = [
    "is_available", "device_count", "manual_seed", "seed", "get_rng_state", "set_rng_state",
    "empty_cache", "synchronize", "current_allocated_memory", "driver_allocated_memory",
    "recommended_max_memory", "set_per_process_memory_fraction",
]


def is_available() -> bool:
    """False: there is no MPS device for gpugrad."""
    return False


def device_count() -> int:
    return 0


def manual_seed(seed) -> None:
    """Nothing to seed without the backend (as PyTorch)."""
    int(seed)


def _refuse(what: str, name: str):
    def refused(*args, **kwargs):
        raise RuntimeError(f"Cannot execute {what}() without MPS backend.")
    refused.__name__ = refused.__qualname__ = name
    return refused


seed = _refuse("getDefaultGenerator", "seed")
get_rng_state = _refuse("getDefaultGenerator", "get_rng_state")
set_rng_state = _refuse("getDefaultGenerator", "set_rng_state")
empty_cache = _refuse("emptyCache", "empty_cache")
synchronize = _refuse("deviceSynchronize", "synchronize")
current_allocated_memory = _refuse("getCurrentAllocatedMemory", "current_allocated_memory")
driver_allocated_memory = _refuse("getDriverAllocatedMemory", "driver_allocated_memory")
recommended_max_memory = _refuse("getRecommendedMaxMemory", "recommended_max_memory")
set_per_process_memory_fraction = _refuse("setMemoryFraction", "set_per_process_memory_fraction")
