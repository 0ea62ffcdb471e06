"""``gpugrad.backends.mps``: gpugrad has no Metal (MPS) backend."""

from __future__ import annotations

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """False: there is no MPS device for gpugrad (devices are ``cpu`` and ``cuda``)."""
    return False


def is_built() -> bool:
    """False: gpugrad is not built with MPS support."""
    return False
