"""The hooks through which ``gpugrad.compiler`` watches a step it captures; nothing else here.

Kept apart from the compiler so that the layers it watches (optimizers, schedulers, modules)
can mark themselves without importing it. While no capture runs, ``recorder`` is None and each
hook costs one global read.
"""

from __future__ import annotations

import functools
import sys

recorder = None  # the active capture's recorder (gpugrad/compiler/trace.py), or None


def island(fn=None, *, repeatable: bool = False):
    """Mark ``fn`` (a function or method) as an island: inside a captured step it is not
    recorded but called again, eagerly, at its place in every replay. For optimizer steps,
    ``zero_grad`` and learning-rate schedulers (their Python state, a step count or a learning
    rate, changes between steps) and for checks of values on the host (a target out of range
    raises at the replay that meets it; a CUDA graph cannot read values).

    ``repeatable``: running it twice does what running it once does (a check, ``zero_grad``),
    so a replay that diverges after it can still start the step over eagerly."""
    if fn is None:
        return functools.partial(island, repeatable=repeatable)
    fn.__gpugrad_repeatable__ = repeatable

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


def stand_ins(args: tuple, kwargs: dict, arguments: dict):
    """An island's arguments for its replays: a tensor argument of the captured step is a new
    object at each call, so the island gets a tensor over the buffer the replay refills
    (``arguments``: id of the step's tensor argument -> that tensor)."""
    if not arguments:
        return args, kwargs
    return (tuple(arguments.get(id(a), a) for a in args),
            {k: arguments.get(id(v), v) for k, v in kwargs.items()})


def module_called(module) -> None:
    """``Module.__call__`` reports each call here while a capture runs: the replay is valid
    only while the module's ``training`` flag is what it was."""
    rec = recorder
    if rec is not None and not rec.suspended:
        rec.watch_module(module)
