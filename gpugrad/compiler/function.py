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
import warnings

import numpy as np

from .. import _capture
from ..autograd.grad_mode import is_grad_enabled
from ..backend import cpu_backend
from ..tensor import Tensor
from . import cuda_graphs, pyvalues, trace
from .capture import Diverged
from .program import Program, _rebuild, tensor_maker
from .session import Session

MAX_SIGNATURES = 8  # captures kept per function (torch.compile's recompile limit is 8 too)
generation = 0  # bumped by ``gpugrad.compiler.reset()``
EAGER = object()  # what a replay returns to have its call run eagerly


class CompileWarning(UserWarning):
    """``gpugrad.compile`` runs something eagerly instead of replaying it, or ignores an
    argument."""


class CompileStats:
    """Counters of a compiled function: calls run eagerly, captures, replays, the reasons of
    the signatures that fell back to eager, and the bytes its CPU programs keep between calls
    (``buffer_bytes``: activations, temporaries, gradients and input copies, not parameters)."""

    def __init__(self):
        self.eager_calls = 0
        self.captures = 0
        self.replays = 0
        self.fallbacks: list[str] = []
        self.buffer_bytes = 0

    def __repr__(self) -> str:
        return (f"CompileStats(eager_calls={self.eager_calls}, captures={self.captures}, "
                f"replays={self.replays}, fallbacks={self.fallbacks}, "
                f"buffer_bytes={self.buffer_bytes})")


class CompiledFunction:
    """A function whose calls replay a captured program (see the module docstring)."""

    # A tensor argument that requires grad is told apart by identity: the program assigns (or
    # adds into) that very tensor's .grad. (A compiled module hands gradients to its inputs
    # through the tape instead, so any tensor of the right shape will do there.)
    _grad_args_by_identity = True

    def __init__(self, fn):
        functools.update_wrapper(self, fn, updated=())
        self._fn = fn
        self._seen: dict = {}  # signature -> calls before the capture
        self._programs: dict = {}  # signature -> [Program]
        self._full_warned = False
        self._mixed_warned = False
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
            self.stats.buffer_bytes = 0
            self._generation = generation
        tensors = []
        key = _signature(args, kwargs, tensors, self._grad_args_by_identity)
        if key is None:
            if not self._mixed_warned:
                self._mixed_warned = True
                self._warn("got tensors on several devices and runs eagerly")
            return self._eager(args, kwargs)
        programs = self._programs.get(key)
        if programs:
            for p in programs:
                if p.guards_hold():
                    if p.reason is not None:
                        return self._eager(args, kwargs)
                    try:
                        out = self._replay(p, tensors)
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
                    if out is EAGER:
                        return self._eager(args, kwargs)
                    self.stats.replays += 1
                    return out
        seen = self._seen.get(key, 0)
        if seen == 0 and not programs:  # warm-up: lazily built state gets built eagerly
            self._seen[key] = 1
            backend = _backend_of(tensors)
            if backend.name != "cuda":
                return self._eager(args, kwargs)
            self.stats.eager_calls += 1
            out, reason = cuda_graphs.probe(self._fn, args, kwargs, backend)
            if reason is not None:  # a CUDA graph cannot read values: eager from now on
                self._programs[key] = [Program.eager(reason)]
                self.stats.fallbacks.append(reason)
                self._warn(f"cannot replay this step and runs it eagerly: {reason}")
            return out
        if sum(len(v) for v in self._programs.values()) >= MAX_SIGNATURES:
            if not self._full_warned:
                self._full_warned = True
                self.stats.fallbacks.append(f"more than {MAX_SIGNATURES} signatures")
                self._warn(f"has been captured for {MAX_SIGNATURES} signatures (shapes, "
                           f"argument values, model state); new ones run eagerly")
            return self._eager(args, kwargs)
        out, program = self._capture(args, kwargs, tensors)
        self.stats.captures += 1
        self._programs.setdefault(key, []).append(program)
        self.stats.buffer_bytes += getattr(program, "held_bytes", 0)
        if program.reason is not None:
            self.stats.fallbacks.append(program.reason)
            self._warn(f"cannot replay this step and runs it eagerly: {program.reason}")
        return out

    def _capture(self, args, kwargs, tensors):
        backend = _backend_of(tensors)
        if backend.name == "cuda":
            return cuda_graphs.capture(self._fn, args, kwargs, tensors, backend)
        return capture(self._fn, args, kwargs, tensors)

    def _replay(self, program, tensors):
        """The replay's result, or EAGER to run this call eagerly."""
        return program.replay(tensors)

    def _eager(self, args, kwargs):
        self.stats.eager_calls += 1
        return self._fn(*args, **kwargs)

    def _warn(self, message: str) -> None:
        name = getattr(self._fn, "__qualname__", repr(self._fn))
        warnings.warn(f"gpugrad.compile: {name} {message}", CompileWarning, stacklevel=3)


def _signature(args, kwargs, tensors, by_identity: bool):
    """The key of a call, collecting its tensor arguments; None when they are on several
    devices (nothing to capture on)."""
    parts = [is_grad_enabled()]
    for v in args:
        parts.append(_arg_key(v, tensors, by_identity))
    for k in sorted(kwargs):
        parts.append((k, _arg_key(kwargs[k], tensors, by_identity)))
    if len({id(t._backend) for t in tensors}) > 1:
        return None
    return tuple(parts)


def _arg_key(v, tensors, by_identity):
    if isinstance(v, Tensor):
        tensors.append(v)
        if v._requires_grad and by_identity:  # the program sets or adds into its .grad
            return ("T", v._data.shape, v._data.dtype.str, id(v._backend), id(v))
        return ("T", v._data.shape, v._data.dtype.str, id(v._backend))
    if isinstance(v, (list, tuple)):
        return (type(v), *[_arg_key(x, tensors, by_identity) for x in v])
    if isinstance(v, dict):
        return ("D", *[(k, _arg_key(x, tensors, by_identity)) for k, x in v.items()])
    if v is None or isinstance(v, (bool, int, float, str)):
        return (type(v), v)
    return ("id", id(v))  # modules, optimizers, functions: by identity


def _backend_of(tensors):
    """The backend a call's capture runs on: the tensor arguments', else the CPU's."""
    return tensors[0]._backend if tensors else cpu_backend()


# ------------------------------------------------------------------------------- capture
def capture(fn, args, kwargs, tensors):
    """Run ``fn`` eagerly while recording; returns its result and the Program."""
    before = pyvalues.guards(fn, [])
    with Session(tensors) as session:
        result = fn(*args, **kwargs)
    rec = session.rec
    # An argument returned as it is holds its own array again (the session has ended): the
    # program's output is the buffer each replay refills.
    buffers = {id(orig): buf for orig, buf in session.inputs}
    outputs = _template(result, rec, buffers)
    program = session.program(outputs, session.shared(rec.steps))
    pyvalues.guard(program, fn, rec, before)
    if program.reason is None:  # the caller gets copies: replays rewrite the buffers
        result = _rebuild(outputs)
    return result, program


def _template(result, rec, buffers=None):
    if isinstance(result, Tensor):
        data = result._data if buffers is None else buffers.get(id(result._data), result._data)
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
        return ("seq", type(result), [_template(r, rec, buffers) for r in result])
    if isinstance(result, dict) and type(result) is dict:
        return ("dict", dict, [(k, _template(v, rec, buffers)) for k, v in result.items()])
    return ("const", result)
