"""Utilities with PyTorch's names: ``gpugrad.utils.data``, ``gpugrad.utils.checkpoint``,
``gpugrad.utils.dlpack``."""

from . import checkpoint, data, dlpack, hooks

__all__ = ["checkpoint", "data", "dlpack", "hooks"]
