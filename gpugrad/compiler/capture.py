"""The recorder: what a capture learns while the step runs eagerly once, and the program it
leaves behind.

The program is a flat list of calls with their buffers bound (``functools.partial`` objects:
a ufunc with ``out=``, a copy into a buffer, an island called again). Buffers are of four kinds,
told apart by the array that owns their memory (their *root*):
- internal: made by a recorded call; the program keeps them and every replay rewrites them;
- external: held by a tensor that existed before the capture (parameters, ``.grad``, optimizer
  state); the replay reads and writes them in place, so it must still be that tensor's array;
- input: the copy of an argument, refilled from the new argument at each call;
- foreign: made during the capture by code that was not recorded (``np.zeros`` inside an op,
  a launcher's output). Its contents before the first recorded write are kept and restored at
  the start of every replay, so an accumulator starts from zero each time.
"""

from __future__ import annotations

import sys
from functools import partial

import numpy as np

from .. import _capture
from . import pyvalues
from .trace import CaptureError

_np_asarray = np.asarray  # before a capture replaces it
_base = np.ndarray.base.__get__  # the C-level base (``Traced`` answers for its plain array)


class Diverged(Exception):
    """A replayed check read another value than the capture did."""


def root_of(arr):
    """The array that owns ``arr``'s memory."""
    base = _base(arr)
    while base is not None:
        if not isinstance(base, np.ndarray):  # as_strided's holder of the viewed array
            base = getattr(base, "base", None)
            if not isinstance(base, np.ndarray):
                break
        arr, base = base, _base(base)
    return arr


def _check(arr, read, expected, index) -> None:
    value = read(arr)
    if not (value == expected or (value != value and expected != expected)):
        e = Diverged(f"a value read on the host changed ({expected!r} at capture, now {value!r})")
        e.index = index
        raise e


class Recorder:
    """Collects one capture's program (``_capture.recorder`` while the step runs)."""

    def __init__(self):
        self.suspended = 0  # > 0 inside an island
        self.steps: list = []
        self.prologue: list = []  # restores of foreign buffers, run first
        self.internal: dict = {}  # id(root) -> root
        self.external: dict = {}  # id(root) -> root (a tensor's array before the capture)
        self.inputs: dict = {}  # id(root) -> root
        self.used_roots: set = set()  # external roots that recorded calls read or write
        self.written_inputs: set = set()
        self.first_external_write: int | None = None  # index in steps
        self.first_island: int | None = None  # index in steps
        self.reason: str | None = None  # why the program cannot be replayed
        self.modules: dict = {}  # id(module) -> (module, training)
        self.module_numbers: list = []  # their number guards, taken at their first call
        self.grads = None  # a grads.GradWatch, set by the caller
        self.arguments: dict = {}  # id(tensor argument) -> a tensor over its buffer

    # ------------------------------------------------------------------------ buffers
    def fresh(self, result):
        """Register a fresh result of a recorded call (a NumPy scalar becomes a 0-d array)."""
        if not isinstance(result, np.ndarray):
            result = _np_asarray(result)
            if result.base is not None:
                result = result.copy()
        self.internal[id(root_of(result))] = root_of(result)
        return result

    def touch(self, traced, plain) -> None:
        """A recorded call reads or writes ``plain`` (a view of ``traced``)."""
        if self.suspended:
            return
        key = id(root_of(plain))
        if key in self.external:
            self.used_roots.add(key)

    def before_write(self, arrays) -> None:
        """Called before a recorded call writes ``arrays`` in place (see the module docstring
        for foreign buffers)."""
        for arr in arrays:
            if not isinstance(arr, np.ndarray):
                continue
            root = root_of(arr)
            key = id(root)
            if key in self.internal:
                continue
            if key in self.external:
                self.used_roots.add(key)
                if self.first_external_write is None:
                    self.first_external_write = len(self.steps)
            elif key in self.inputs:
                self.written_inputs.add(key)
            else:  # foreign
                self.prologue.append(partial(np.copyto, root, root.copy()))
                self.internal[key] = root

    # ------------------------------------------------------------------------- calls
    def step(self, fn, writes) -> None:
        self.steps.append(fn)

    def value(self, result, compute, sources):
        """A result NumPy computed without ``out=``: a view of a source passes through; a fresh
        array or scalar is recorded as ``compute`` copied into its buffer."""
        from .trace import Traced, into

        if isinstance(result, tuple):
            self.cannot_replay("a result whose shape depends on values (nonzero, unique...)")
            return result
        if isinstance(result, np.ndarray):
            for s in sources:
                if isinstance(s, np.ndarray) and np.may_share_memory(result, s):
                    return result.view(Traced)
        elif not isinstance(result, np.generic):
            return result  # a Python object that does not hold values (a dtype, a shape)
        out = self.fresh(result)
        self.steps.append(partial(into, out, compute, len(self.steps)))
        return out.view(Traced)

    def call(self, func, plain_args, plain_kwargs, args, kwargs):
        """An array function (``np.where``, ``np.concatenate``...) called with a Traced
        argument."""
        name = func.__name__
        out = plain_kwargs.get("out")
        if out is not None:
            self.before_write(out if isinstance(out, tuple) else (out,))
            func(*plain_args, **plain_kwargs)
            self.steps.append(partial(func, *plain_args, **plain_kwargs))
            return kwargs["out"]
        if name in _IN_PLACE:
            self.before_write(plain_args[:1])
            result = func(*plain_args, **plain_kwargs)
            self.steps.append(partial(func, *plain_args, **plain_kwargs))
            return result
        result = func(*plain_args, **plain_kwargs)
        if name in _VALUE_SHAPED:
            self.cannot_replay(f"np.{name} (positions of a mask: a shape that depends on values)")
            return result
        if name in _HOST_RESULTS:
            self.host_read(None, result, f"np.{name}", sys._getframe(2), check=False)
            return result
        sources = [a for a in _flatten(plain_args) if isinstance(a, np.ndarray)]
        compute = partial(func, *plain_args, **plain_kwargs)
        if isinstance(result, (list, tuple)) and result and isinstance(result[0], np.ndarray):
            parts = [self.value(r, partial(_nth, compute, i), sources)
                     for i, r in enumerate(result)]
            # (a named tuple, as np.linalg.svd's result, takes its fields one by one)
            return type(result)(*parts) if hasattr(result, "_fields") else type(result)(parts)
        return self.value(result, compute, sources)

    # ----------------------------------------------------------------- host and islands
    def host_read(self, plain, value, what: str, frame, check: bool) -> None:
        """A value reached the host. Inside gpugrad a check becomes a replayed check; in the
        user's code (or anything printed or exported) the step cannot be replayed."""
        while frame is not None and frame.f_globals.get("__name__") in _CONVERSIONS:
            frame = frame.f_back  # Tensor.item(), bool(t)...: who asked?
        module = frame.f_globals.get("__name__", "") if frame is not None else ""
        if check and plain is not None and module.startswith("gpugrad."):
            read = {"bool()": bool, "float()": float, "int()": int}.get(what, _item)
            self.steps.append(partial(_check, plain, read, value, len(self.steps)))
            return
        self.cannot_replay(f"{what} reads a tensor's value on the host")

    def cannot_replay(self, reason: str) -> None:
        if self.reason is None:
            self.reason = f"{reason} (at {user_line()})"

    def island(self, fn, args, kwargs):
        """``fn`` (an optimizer step, a ``zero_grad``, a host check...) runs eagerly now and in
        every replay."""
        self.grads.boundary(self)
        self._before_island(fn, args, kwargs)
        if self.first_island is None and not getattr(fn, "__gpugrad_repeatable__", False):
            self.first_island = len(self.steps)  # (the first that a rerun would repeat)
        replay_args, replay_kwargs = _capture.stand_ins(args, kwargs, self.arguments)
        self.steps.append(partial(fn, *replay_args, **replay_kwargs))
        self.suspended += 1
        try:
            result = fn(*args, **kwargs)
        finally:
            self.suspended -= 1
        self.grads.boundary(self, after_island=True)
        self._after_island(fn, args, kwargs)
        return result

    def _before_island(self, fn, args, kwargs) -> None:
        """(The CUDA capture ends its segment here.)"""

    def _after_island(self, fn, args, kwargs) -> None:
        """(The CUDA capture begins a new segment here.)"""

    def watch_module(self, module) -> None:
        if id(module) not in self.modules:
            self.modules[id(module)] = (module, module.training)
            self.module_numbers.extend(pyvalues.module_numbers(module))


def _item(a):
    return a.item()


def _nth(compute, i):
    return compute()[i]


def _flatten(x):
    if isinstance(x, (list, tuple)):
        for v in x:
            yield from _flatten(v)
    elif isinstance(x, dict):
        for v in x.values():
            yield from _flatten(v)
    else:
        yield x


# Modules whose functions turn a tensor into host values on the caller's behalf.
_CONVERSIONS = {"gpugrad.ops.convert", "gpugrad.tensor", "gpugrad._format"}
_IN_PLACE = {"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis"}
_VALUE_SHAPED = {"nonzero", "flatnonzero", "argwhere", "unique", "compress", "extract",
                 "unique_values", "unique_counts", "unique_inverse", "unique_all", "trim_zeros"}
_HOST_RESULTS = {"array_equal", "array_equiv", "allclose", "count_nonzero"}


def user_line() -> str:
    """``file:line`` of the innermost frame outside gpugrad and NumPy (the user's code)."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not (name == "gpugrad" or name.startswith(("gpugrad.", "numpy"))):
            return f"{frame.f_code.co_filename}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


__all__ = ["Recorder", "Diverged", "CaptureError", "root_of", "user_line"]
