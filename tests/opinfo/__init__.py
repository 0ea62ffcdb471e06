"""The op registry (see core.py); spec modules live in opinfo/specs/."""

from .core import REGISTRY, ErrorCase, OpSpec, Sample, register

__all__ = ["REGISTRY", "ErrorCase", "OpSpec", "Sample", "register"]
