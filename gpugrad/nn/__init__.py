"""``gpugrad.nn``: modules, parameters, layers, losses, ``functional`` and ``init``, with
PyTorch's names."""

from __future__ import annotations

from . import attention, functional, grad, init, parallel, utils
from .modules import *  # noqa: F403
from .modules import __all__ as _modules_all
from .parallel import DataParallel
from .parameter import Buffer, Parameter, UninitializedBuffer, UninitializedParameter

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer", "functional",
           "grad", "init", "parallel", "utils", "DataParallel", *_modules_all]
