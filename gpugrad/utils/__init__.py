"""Utilities with PyTorch's names: ``gpugrad.utils.data``, ``gpugrad.utils.checkpoint``."""

from . import checkpoint, data, hooks

__all__ = ["checkpoint", "data", "hooks"]
