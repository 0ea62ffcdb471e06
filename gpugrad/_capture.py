"""The hooks through which ``gpugrad.compiler`` watches a step it captures; nothing else here.

Kept apart from the compiler so that the layers it watches (optimizers, schedulers, modules)
can mark themselves without importing it. While no capture runs, ``recorder`` is None and each
hook costs one global read.
"""

from __future__ import annotations

import functools
import sys

recorder = None  # the active capture's recorder (gpugrad/compiler/trace.py), or None


def island(fn):
    """Mark ``fn`` (a function or method) as an island: inside a captured step it is not
    recorded but called again, eagerly, at its place in every replay. For optimizer steps,
    ``zero_grad`` and learning-rate schedulers (their Python state, a step count or a learning
    rate, changes between steps) and for checks of values on the host (a target out of range
    raises at the replay that meets it; a CUDA graph cannot read values)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        rec = recorder
        if rec is None or rec.suspended:
            return fn(*args, **kwargs)
        return rec.island(fn, args, kwargs)

    wrapper.__gpugrad_island__ = True
    return wrapper


def host_access(what: str) -> None:
    """Tensor conversions (``item``, ``bool(t)``, ``numpy()``, printing) report here: called
    from the user's code inside a captured step, a value leaves for the host, and the step
    cannot be replayed (gpugrad's own calls are left to the recording, which replays them as
    checks)."""
    rec = recorder
    if rec is not None and not rec.suspended:
        caller = sys._getframe(2).f_globals.get("__name__", "")
        if not (caller == "gpugrad" or caller.startswith("gpugrad.")):
            rec.cannot_replay(what)


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
