"""A capture session: the tensors viewed as ``Traced`` and the hooks set while a step is
recorded, undone whatever happens; and the Program made of what was recorded."""

from __future__ import annotations

import functools
import gc
import sys

import numpy as np

from .. import _capture
from ..backend import cpu_backend, kernel_mode
from ..tensor import Tensor
from . import draws, memory, trace
from .capture import Recorder, root_of
from .grads import GradWatch
from .program import Program


class Session:
    """``with Session(arguments) as s:`` runs its body as a capture; ``s.rec`` is what it
    recorded and ``s.program(...)`` the replayable result."""

    def __init__(self, tensors):
        self.tensors = tensors  # the tensor arguments: their values are copied into buffers
        self.rec = Recorder()

    def __enter__(self):
        rec = self.rec
        self.inputs = []  # per tensor argument: (original array, buffer)
        self.externals = []  # (tensor, original array, traced view)
        arg_ids = {id(t) for t in self.tensors}
        for t in self.tensors:
            orig = t._data
            buf = np.array(orig, copy=True)
            self.inputs.append((orig, buf))
            rec.inputs[id(buf)] = buf
            rec.arguments[id(t)] = Tensor._make(buf, t._backend)
            t._data = buf.view(trace.Traced)
        cpu = cpu_backend()
        for obj in gc.get_objects():  # every tensor that exists: parameters, grads, state...
            if issubclass(type(obj), Tensor) and id(obj) not in arg_ids \
                    and type(obj._data) is np.ndarray and obj._backend is cpu:
                orig = obj._data
                view = orig.view(trace.Traced)
                obj._data = view
                self.externals.append((obj, orig, view))
                rec.external[id(root_of(orig))] = root_of(orig)
        rec.grads = GradWatch(list(self.tensors) + [t for t, _, _ in self.externals])
        self.backend = backend = cpu_backend()
        trace.patch_numpy()
        draws.patch(backend, rec)
        backend.to_numpy = functools.partial(_to_numpy, rec)
        if kernel_mode() == "interpret":  # the kernels' launches are steps of the program
            from ..kernels import _launch

            _launch.launch_observer = functools.partial(_observe_launch, rec)
        _capture.recorder = rec
        return self

    def __exit__(self, exc_type, exc, tb):
        rec = self.rec
        try:
            if exc_type is None:
                rec.grads.boundary(rec)
        finally:
            _capture.recorder = None
            trace.unpatch_numpy()
            draws.unpatch(self.backend)
            del self.backend.to_numpy
            if kernel_mode() == "interpret":
                from ..kernels import _launch

                _launch.launch_observer = None
            for t, (orig, _) in zip(self.tensors, self.inputs):
                t._data = orig
            rebound, self.live_roots = _restore(self.externals)
            if rebound and rec.reason is None:
                rec.reason = "a tensor's storage was replaced inside the step (.data = or set_())"
        return False

    def shared(self, steps, pinned=()) -> list:
        """``steps`` with buffers of disjoint lifetimes sharing memory (memory.py)."""
        keep = set(self.live_roots)
        keep.update(id(root_of(a)) for a in pinned)
        for s in self.rec.prologue:
            keep.add(id(root_of(s.args[0])))
        steps, self.bytes_shared = memory.share(steps, self.rec.internal, keep,
                                                self._fresh_grads())
        return steps

    def _fresh_grads(self) -> dict:
        """id -> root of the gradients the engine assigned anew in the step (``.grad`` was
        None before: their memory holds nothing alive until the step writes them)."""
        rec, found = self.rec, {}
        watch = rec.grads
        for t in (watch.engine_set.values() if watch is not None else ()):
            g = t._grad
            if g is None:
                continue
            root = root_of(g._data)
            if id(root) in rec.internal:
                found[id(root)] = root
        return found

    def program(self, outputs, steps) -> Program:
        rec = self.rec
        inputs = self.inputs
        program = Program(
            steps=steps, prologue=rec.prologue,
            input_buffers=[buf for _, buf in inputs],
            copy_back=[i for i, (_, buf) in enumerate(inputs) if id(buf) in rec.written_inputs],
            outputs=outputs,
            guards=_guards(rec, self.externals),
            safe_until=min(x for x in (rec.first_external_write, rec.first_island, len(steps))
                           if x is not None),
            reason=rec.reason,
        )
        program.held_bytes = memory.held_bytes(steps, rec.internal, program.input_buffers)
        return program


def _restore(externals):
    """Give every tensor a plain array again; returns whether some tensor's array was replaced,
    and the ids of the arrays owning the memory of every live tensor (memory.py pins them)."""
    rebound = False
    live = set()
    for t, orig, view in externals:
        if t._data is view:
            t._data = orig
        else:
            rebound = True
            if isinstance(t._data, trace.Traced):
                t._data = t._data.view(np.ndarray)
    for obj in gc.get_objects():  # tensors made during the capture
        if issubclass(type(obj), Tensor):
            if isinstance(obj._data, trace.Traced):
                obj._data = obj._data.view(np.ndarray)
            if isinstance(obj._data, np.ndarray):
                live.add(id(root_of(obj._data)))
    return rebound, live


def _to_numpy(rec, arr):
    """The CPU backend's ``to_numpy`` during a capture: ``t.numpy()`` in the user's code hands
    over the array itself, which the replays would then rewrite."""
    frame = sys._getframe(1)
    if frame.f_code.co_name == "numpy" and not rec.suspended:
        caller = frame.f_back.f_globals.get("__name__", "")
        if not caller.startswith("gpugrad."):
            rec.cannot_replay(".numpy() hands a tensor's memory to the host")
    return arr


def _observe_launch(rec, fn, grid, args):
    """Under the interpreter: a kernel launch becomes a step of the program. Which arguments it
    writes is the kernel's business, so every array counts as written (a buffer made outside the
    recording gets its contents restored before each replay). The interpreter's own NumPy work
    inside the launch is not recorded."""
    from ..kernels import _launch

    plain = tuple([trace._plain(a) for a in args])
    if not rec.suspended:
        rec.before_write([a for a in plain if isinstance(a, np.ndarray)])
        rec.steps.append(functools.partial(_launch.run_interpreted, fn, tuple(grid), plain))
    rec.suspended += 1
    try:
        _launch.run_interpreted(fn, grid, plain)
    finally:
        rec.suspended -= 1


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
