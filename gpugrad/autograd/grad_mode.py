"""Grad modes, thread-local as in PyTorch: ``no_grad``, ``enable_grad``, ``set_grad_enabled``,
``inference_mode``.

``state.enabled`` is what ops read: whether they record. It is the grad mode outside inference
mode and None inside it, where nothing records whatever the grad mode (``state.grad``, which
``is_grad_enabled`` reports there) says; None also marks the views made there
(``autograd/views.py``). Tensors made in inference mode are inference tensors
(``autograd/inference.py``): while any thread is in it, ``counter_switch`` makes new tensors
ask which mode their thread is in, and outside it they pay nothing.
"""

from __future__ import annotations

import functools
import inspect
import threading

__all__ = ["no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled"]


class _GradState(threading.local):
    enabled: bool | None = True  # whether ops record (None: no, inference mode is on)
    grad = True  # the grad mode, as set by the user
    inference = False


state = _GradState()

counter_switch = None  # set by gpugrad.tensor: counter_switch(on) while inference mode is open
_open_inference = 0  # inference_mode(True) blocks entered and not left, in all threads
_lock = threading.Lock()


def is_grad_enabled() -> bool:
    """True when ops record the graph (the default)."""
    enabled = state.enabled
    return state.grad if enabled is None else enabled


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``."""
    return state.inference


def _set(grad: bool, inference: bool) -> None:
    state.grad = grad
    state.inference = inference
    state.enabled = None if inference else grad


def _saved() -> tuple:
    return state.enabled, state.grad, state.inference


def _restore(prev: tuple) -> None:
    state.enabled, state.grad, state.inference = prev


def _count_inference(step: int) -> None:
    global _open_inference
    with _lock:
        was = _open_inference
        _open_inference += step
        if (was == 0) != (_open_inference == 0) and counter_switch is not None:
            counter_switch(_open_inference > 0)


class _GradModeContext:
    """Base of the grad-mode context managers; each also works as a decorator (of generator
    functions too: the mode holds while the generator runs, not while it is suspended)."""

    _enabled: bool = True

    def __enter__(self):
        self._prev = _saved()
        _set(self._enabled, state.inference)
        return self

    def __exit__(self, *exc) -> None:
        _restore(self._prev)

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return wrapper

    def _wrap_generator(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            gen = func(*args, **kwargs)
            try:
                with self.clone():
                    response = gen.send(None)
                while True:
                    try:
                        request = yield response
                    except GeneratorExit:
                        with self.clone():
                            gen.close()
                        raise
                    except BaseException as exc:
                        with self.clone():
                            response = gen.throw(exc)
                    else:
                        with self.clone():
                            response = gen.send(request)
            except StopIteration as stop:
                return stop.value

        return wrapper

    def clone(self):
        return self.__class__()


class no_grad(_GradModeContext):
    """Context manager and decorator that disables graph recording (as ``torch.no_grad``)."""

    _enabled = False

    def __init__(self, orig_func=None):
        # (what exiting without entering restores, as PyTorch's: grad mode off)
        self._prev = (False, False, False)
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
        self._prev = _saved()
        _set(self._enabled, state.inference)

    def __enter__(self):
        return self

    def clone(self):
        return self.__class__(self._enabled)


class inference_mode(_GradModeContext):
    """Context manager and decorator (``@inference_mode``, ``@inference_mode()``) for code
    that will never take part in autograd: nothing records (even under ``enable_grad``), and
    the tensors it makes are inference tensors, refused later by autograd's saves and by
    in-place writes outside inference mode. ``inference_mode(False)`` leaves it, turning grad
    mode on, as ``torch.inference_mode``."""

    def __new__(cls, mode=True):
        if mode is None or isinstance(mode, bool):
            return super().__new__(cls)
        return cls()(mode)  # the bare decorator form

    def __init__(self, mode: bool = True):
        self._mode = bool(mode)

    def __enter__(self):
        self._prev = _saved()
        if self._mode:
            _count_inference(1)
        _set(not self._mode, self._mode)
        return self

    def __exit__(self, *exc) -> None:
        _restore(self._prev)
        if self._mode:
            _count_inference(-1)

    def clone(self):
        return self.__class__(self._mode)
