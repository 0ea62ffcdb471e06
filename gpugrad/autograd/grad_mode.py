"""Grad modes, thread-local as in PyTorch: ``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``."""

from __future__ import annotations

import functools
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _GradState(threading.local):
    enabled = True
    inference = False


state = _GradState()


def is_grad_enabled() -> bool:
    """True when ops record the graph (the default)."""
    return state.enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


class _GradModeContext:
    """Base of the grad-mode context managers; each also works as a decorator."""

    _enabled: bool = True
    _inference: bool | None = None

    def __enter__(self):
        self._prev = (state.enabled, state.inference)
        state.enabled = self._enabled
        if self._inference is not None:
            state.inference = self._inference
        return self

    def __exit__(self, *exc) -> None:
        state.enabled, state.inference = self._prev

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_GradModeContext):
    """Context manager and decorator that disables graph recording (as ``torch.no_grad``)."""

    _enabled = False

    def __init__(self, orig_func=None):
        # Allows the bare decorator form @no_grad as well as @no_grad().
        if callable(orig_func):
            self._wrapped = self.__call__(orig_func)

    def __new__(cls, orig_func=None):
        self = super().__new__(cls)
        if callable(orig_func):
            self.__init__(orig_func)
            return self._wrapped
        return self


class enable_grad(_GradModeContext):
    """Context manager and decorator that enables graph recording inside ``no_grad``."""

    _enabled = True


class set_grad_enabled(_GradModeContext):
    """Set grad mode on (True) or off (False); usable as a function or a context manager."""

    def __init__(self, mode: bool):
        self._enabled = bool(mode)
        self._prev = (state.enabled, state.inference)
        state.enabled = self._enabled

    def __enter__(self):
        return self

    def clone(self):
        return self.__class__(self._enabled)


class inference_mode(_GradModeContext):
    """Like ``no_grad`` (``inference_mode(False)`` is a no-op), as ``torch.inference_mode``."""

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)
        self._enabled = not self._mode if self._mode else state.enabled
        self._inference = self._mode

    def __enter__(self):
        if not self._mode:
            self._prev = (state.enabled, state.inference)
            return self
        return super().__enter__()

    def clone(self):
        return self.__class__(self._mode)
