"""Warnings attributed to the user's line, wherever in gpugrad they are raised."""

from __future__ import annotations

import sys
import warnings

__all__ = ["warn_user", "warn_user_once"]


def warn_user(message: str, category=UserWarning) -> None:
    """``warnings.warn`` at the first caller outside gpugrad. A fixed ``stacklevel`` would point
    inside gpugrad when the op is reached through another of its functions or through autocast's
    entry point (``amp/policy.py``), which wraps the listed ops in one more frame."""
    frame, level = sys._getframe(1), 2  # warn_user's caller is stacklevel 2
    while frame is not None and frame.f_globals.get("__name__", "").split(".")[0] == "gpugrad":
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


_warned_once: set = set()


def warn_user_once(message: str, category=UserWarning) -> None:
    """``warn_user``, the first time this process reaches ``message`` only: PyTorch's warnings
    raised once a process (its ``TORCH_WARN_ONCE``), whatever the warning filters say; every
    time under ``set_warn_always(True)``, as PyTorch's."""
    from ._switches import is_warn_always_enabled

    if message not in _warned_once or is_warn_always_enabled():
        _warned_once.add(message)
        warn_user(message, category)
