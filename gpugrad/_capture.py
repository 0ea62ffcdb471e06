"""The hooks through which ``gpugrad.compiler`` watches a step it captures; nothing else here.

Kept apart from the compiler so that the layers it watches (optimizers, schedulers, modules)
can mark themselves without importing it. While no capture runs, ``recorder`` is None and each
hook costs one global read.
"""

from __future__ import annotations

import functools

recorder = None  # the active capture's recorder (gpugrad/compiler/trace.py), or None


def island(method):
    """Mark ``method`` as an island: inside a captured step it is not recorded but called
    again, eagerly, at its place in every replay (optimizer steps, ``zero_grad``, learning-rate
    schedulers: their Python state, such as a step count or a learning rate, changes between
    steps)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        rec = recorder
        if rec is None or rec.suspended:
            return method(self, *args, **kwargs)
        return rec.island(method, self, args, kwargs)

    wrapper.__gpugrad_island__ = True
    return wrapper


def grad_assigned(tensor, value) -> None:
    """The ``.grad`` setter reports an assignment made while a capture runs."""
    rec = recorder
    if rec is not None and not rec.suspended:
        rec.grads.assigned(rec, tensor, value)


def module_called(module) -> None:
    """``Module.__call__`` reports each call here while a capture runs: the replay is valid
    only while the module's ``training`` flag is what it was."""
    rec = recorder
    if rec is not None and not rec.suspended:
        rec.watch_module(module)
