"""``torch.nn.attention``: the ``SDPBackend`` names and the ``sdpa_kernel`` context manager.

gpugrad's ``scaled_dot_product_attention`` has one implementation, so ``sdpa_kernel`` checks its
argument as PyTorch does and records the chosen backends (``current_backends()``), but the
attention computed inside is the same whichever backends are named.
"""

from __future__ import annotations

import contextlib
import enum
import threading

__all__ = ["SDPBackend", "sdpa_kernel"]


class SDPBackend(enum.IntEnum):
    """The backends PyTorch's scaled_dot_product_attention may pick from (same values)."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4


_ALL = (SDPBackend.MATH, SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION,
        SDPBackend.CUDNN_ATTENTION, SDPBackend.OVERRIDEABLE)
_state = threading.local()


def current_backends() -> tuple:
    """The backends the innermost ``sdpa_kernel`` allows (all of them outside one)."""
    return getattr(_state, "backends", _ALL)


def set_backends(backends: tuple) -> None:
    """Allow ``backends`` from now on in this thread (``backends.cuda.enable_flash_sdp``...)."""
    _state.backends = backends


@contextlib.contextmanager
def sdpa_kernel(backends, set_priority: bool = False):
    """Allow only ``backends`` (an ``SDPBackend`` or a list of them) inside the block. gpugrad
    has one attention implementation, used whatever the choice."""
    # As PyTorch: an SDPBackend or a list (whose items it does not check further)
    if not isinstance(backends, (SDPBackend, list)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend "
                             f"instances, got {type(backends).__name__}")
    chosen = (backends,) if isinstance(backends, SDPBackend) else tuple(dict.fromkeys(backends))
    previous = current_backends()
    _state.backends = chosen
    try:
        yield {}
    finally:
        _state.backends = previous
