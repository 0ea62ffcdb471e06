"""``gpugrad.compile`` of a function: warm up, capture, replay, with guards and eager fallback.

Per signature (the tensor arguments' shapes, dtypes and devices, the other arguments' values,
grad mode), the first call runs eagerly, the second runs eagerly while recording the program,
and later calls replay it while its guards hold (the tensors it touched still hold the same
arrays and ``.grad``, the modules it called are in the same train/eval mode). A signature whose
capture found something a replay cannot reproduce runs eagerly from then on, after one warning
that says why and where.
"""

from __future__ import annotations

import functools
import gc
import sys
import warnings

import numpy as np

from .. import _capture
from ..autograd.grad_mode import is_grad_enabled
from ..backend import cpu_backend
from ..backend.numpy_backend import NumpyBackend
from ..tensor import Tensor
from . import draws, trace
from .capture import Diverged, Recorder, root_of
from .grads import GradWatch
from .program import Program, _rebuild, tensor_maker

MAX_SIGNATURES = 8  # captures kept per function (torch.compile's recompile limit is 8 too)
generation = 0  # bumped by ``gpugrad.compiler.reset()``


class CompileWarning(UserWarning):
    """``gpugrad.compile`` runs something eagerly instead of replaying it, or ignores an
    argument."""


class CompileStats:
    """Counters of a compiled function: calls run eagerly, captures, replays, and the reasons
    of the signatures that fell back to eager."""

    def __init__(self):
        self.eager_calls = 0
        self.captures = 0
        self.replays = 0
        self.fallbacks: list[str] = []

    def __repr__(self) -> str:
        return (f"CompileStats(eager_calls={self.eager_calls}, captures={self.captures}, "
                f"replays={self.replays}, fallbacks={self.fallbacks})")


class CompiledFunction:
    """A function whose calls replay a captured program (see the module docstring)."""

    def __init__(self, fn):
        functools.update_wrapper(self, fn)
        self._fn = fn
        self._seen: dict = {}  # signature -> calls before the capture
        self._programs: dict = {}  # signature -> [Program]
        self._full_warned = False
        self._generation = generation
        self.stats = CompileStats()

    def __get__(self, obj, objtype=None):  # a compiled method binds like a function
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        if _capture.recorder is not None:  # called inside another capture: just run
            return self._fn(*args, **kwargs)
        if self._generation != generation:
            self._seen.clear()
            self._programs.clear()
            self._generation = generation
        tensors = []
        key = _signature(args, kwargs, tensors)
        if key is None:
            return self._eager(args, kwargs)
        programs = self._programs.get(key)
        if programs:
            for p in programs:
                if p.guards_hold():
                    if p.reason is not None:
                        return self._eager(args, kwargs)
                    try:
                        out = p.replay(tensors)
                    except Diverged as e:
                        if not e.safe:
                            raise RuntimeError(
                                f"gpugrad.compile: a replayed step diverged from its capture after "
                                f"it had changed parameters or optimizer state ({e}); the step "
                                f"was not finished. Run it without gpugrad.compile."
                            ) from None
                        p.reason = str(e)
                        self._warn(f"runs eagerly from now on: {e}")
                        return self._eager(args, kwargs)
                    self.stats.replays += 1
                    return out
        seen = self._seen.get(key, 0)
        if seen == 0 and not programs:  # warm-up: lazily built state gets built eagerly
            self._seen[key] = 1
            return self._eager(args, kwargs)
        if sum(len(v) for v in self._programs.values()) >= MAX_SIGNATURES:
            if not self._full_warned:
                self._full_warned = True
                self._warn(f"has been captured for {MAX_SIGNATURES} signatures (shapes, "
                           f"argument values, model state); new ones run eagerly")
            return self._eager(args, kwargs)
        out, program = capture(self._fn, args, kwargs, tensors)
        self.stats.captures += 1
        self._programs.setdefault(key, []).append(program)
        if program.reason is not None:
            self.stats.fallbacks.append(program.reason)
            self._warn(f"cannot replay this step and runs it eagerly: {program.reason}")
        return out

    def _eager(self, args, kwargs):
        self.stats.eager_calls += 1
        return self._fn(*args, **kwargs)

    def _warn(self, message: str) -> None:
        name = getattr(self._fn, "__qualname__", repr(self._fn))
        warnings.warn(f"gpugrad.compile: {name} {message}", CompileWarning, stacklevel=3)


def _signature(args, kwargs, tensors):
    """The key of a call (None: nothing to capture on), collecting its tensor arguments."""
    parts = [is_grad_enabled()]
    for v in list(args) + sorted(kwargs.items(), key=lambda kv: kv[0]):
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) and v in kwargs.items():
            parts.append(v[0])
            v = v[1]
        part = _arg_key(v, tensors)
        if part is _UNSUPPORTED:
            return None
        parts.append(part)
    return tuple(parts)


_UNSUPPORTED = object()


def _arg_key(v, tensors):
    if isinstance(v, Tensor):
        if type(v._backend) is not NumpyBackend:
            return _UNSUPPORTED  # capture is built for the NumPy backend so far
        tensors.append(v)
        return ("T", v._data.shape, v._data.dtype.str, v._requires_grad)
    if isinstance(v, (list, tuple)):
        parts = [_arg_key(x, tensors) for x in v]
        return _UNSUPPORTED if any(p is _UNSUPPORTED for p in parts) else (type(v), *parts)
    if isinstance(v, dict):
        parts = [(k, _arg_key(x, tensors)) for k, x in v.items()]
        return _UNSUPPORTED if any(p[1] is _UNSUPPORTED for p in parts) else ("D", *parts)
    if v is None or isinstance(v, (bool, int, float, str)):
        return (type(v), v)
    return ("id", id(v))  # modules, optimizers, functions: by identity


# ------------------------------------------------------------------------------- capture
def capture(fn, args, kwargs, tensors):
    """Run ``fn`` eagerly while recording; returns its result and the Program."""
    rec = Recorder()
    externals = []  # (tensor, original array, traced view)
    inputs = []  # per tensor argument: (original array, buffer)
    arg_ids = {id(t) for t in tensors}
    for t in tensors:
        orig = t._data
        buf = np.array(orig, copy=True)
        inputs.append((orig, buf))
        rec.inputs[id(buf)] = buf
        t._data = buf.view(trace.Traced)
    for obj in gc.get_objects():
        if issubclass(type(obj), Tensor) and id(obj) not in arg_ids \
                and type(obj._data) is np.ndarray and type(obj._backend) is NumpyBackend:
            orig = obj._data
            view = orig.view(trace.Traced)
            obj._data = view
            externals.append((obj, orig, view))
            rec.external[id(root_of(orig))] = root_of(orig)
    rec.grads = GradWatch(list(tensors) + [t for t, _, _ in externals])

    backend = cpu_backend()
    trace.patch_numpy()
    draws.patch(backend, rec)
    backend.to_numpy = functools.partial(_to_numpy, rec)
    _capture.recorder = rec
    try:
        result = fn(*args, **kwargs)
        rec.grads.boundary(rec)
    finally:
        _capture.recorder = None
        trace.unpatch_numpy()
        draws.unpatch(backend)
        del backend.to_numpy
        for t, (orig, _) in zip(tensors, inputs):
            t._data = orig
        rebound = _restore(externals)
    if rebound and rec.reason is None:
        rec.reason = "a tensor's storage was replaced inside the step (.data = or set_())"
    outputs = _template(result, rec)
    program = Program(
        steps=rec.steps, prologue=rec.prologue,
        input_buffers=[buf for _, buf in inputs],
        copy_back=[i for i, (_, buf) in enumerate(inputs) if id(buf) in rec.written_inputs],
        outputs=outputs,
        guards=_guards(rec, externals),
        safe_until=min(x for x in (rec.first_external_write, rec.first_island, len(rec.steps))
                       if x is not None),
        reason=rec.reason,
    )
    if program.reason is None:  # the caller gets copies: replays rewrite the buffers
        result = _rebuild(outputs)
    return result, program


def _restore(externals) -> bool:
    """Give every tensor a plain array again; True when some tensor's array was replaced."""
    rebound = False
    for t, orig, view in externals:
        if t._data is view:
            t._data = orig
        else:
            rebound = True
            if isinstance(t._data, trace.Traced):
                t._data = t._data.view(np.ndarray)
    for obj in gc.get_objects():  # tensors made during the capture
        if issubclass(type(obj), Tensor) and isinstance(obj._data, trace.Traced):
            obj._data = obj._data.view(np.ndarray)
    return rebound


def _to_numpy(rec, arr):
    """The CPU backend's ``to_numpy`` during a capture: ``t.numpy()`` in the user's code hands
    over the array itself, which the replays would then rewrite."""
    frame = sys._getframe(1)
    if frame.f_code.co_name == "numpy" and not rec.suspended:
        caller = frame.f_back.f_globals.get("__name__", "")
        if not caller.startswith("gpugrad."):
            rec.cannot_replay(".numpy() hands a tensor's memory to the host")
    return arr


def _guards(rec, externals):
    guards = []
    grad_owner = {}  # id(.grad tensor at the start) -> its owner
    for t, g in zip(rec.grads.tensors, rec.grads.start.values()):
        if g is not None:
            grad_owner[id(g)] = t
    for t, orig, _ in externals:
        if id(root_of(orig)) in rec.used_roots:
            guards.append((0, t, orig))
            guards.append((3, t, t._requires_grad))
            if id(t) in grad_owner:  # the program reads this .grad's array
                guards.append((1, grad_owner[id(t)], t))
    guards.extend((1, t, g) for t, g in rec.grads.guards())
    guards.extend((2, m, flag) for m, flag in rec.modules.values())
    return guards


def _template(result, rec):
    if isinstance(result, Tensor):
        data = result._data
        if isinstance(data, trace.Traced):
            data = data.view(np.ndarray)
        fn = result.grad_fn
        if fn is not None and fn._saved is not None and rec.reason is None:
            # A graph that backward() has not consumed inside the step: the caller may still
            # differentiate it, which a replayed output (a plain copy) cannot offer.
            rec.reason = ("an output has a graph that was not backpropagated inside the step: "
                          "call backward() inside the compiled function, or compile the module")
        return ("tensor", data, tensor_maker(result))
    if isinstance(result, (list, tuple)) and type(result) in (list, tuple):
        return ("seq", type(result), [_template(r, rec) for r in result])
    if isinstance(result, dict) and type(result) is dict:
        return ("dict", dict, [(k, _template(v, rec)) for k, v in result.items()])
    return ("const", result)
