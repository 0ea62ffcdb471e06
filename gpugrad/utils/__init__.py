"""Utilities with PyTorch's names: ``gpugrad.utils.data``."""

from . import data

__all__ = ["data"]
