"""``gpugrad.amp``: automatic mixed precision, as ``torch.amp``: ``autocast`` regions whose ops
run in float16/bfloat16 or float32 by PyTorch's op lists, and ``GradScaler`` for float16 losses.

``gpugrad.cuda.amp`` and ``gpugrad.cpu.amp`` hold PyTorch's older, deprecated spellings.
"""

from __future__ import annotations

from . import legacy, policy
from .autocast_mode import autocast, custom_bwd, custom_fwd
from .grad_scaler import GradScaler
from .state import is_autocast_available

__all__ = ["autocast", "custom_fwd", "custom_bwd", "GradScaler", "is_autocast_available"]
