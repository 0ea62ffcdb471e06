"""Capture on CUDA: the step's eager run recorded into CUDA graphs by CuPy's stream capture.

Under stream capture every kernel sent to the capturing stream (Triton launches, CuPy kernels,
cuBLAS) is recorded instead of run. A step becomes a sequence of segments, each one graph,
between its islands: at an island the segment's capture ends, its graph is launched (so that
the capture call computes its own result), the island runs eagerly, and a new segment begins.
A replay refills the input buffers, then launches the graphs and calls the islands in order;
``.grad`` assignments replay as on the CPU (``grads.py``). Random draws keep their generator
state on the device (CuPy's XORWOW states), so each replay draws fresh numbers.

Memory: allocations during the capture come from a memory pool of the program's own, which
it keeps: blocks freed during the capture are reused by later allocations of the same capture
(stream order makes that safe) but never by code outside it, which the replays would overwrite.

A host read inside a segment (``.item()``, a check of values) cannot be captured. The warm-up
call before the capture watches for reads through ``.item()``/``.numpy()`` and sends such a
signature to eager at once; a read that still happens during the capture (CuPy raises) aborts
it: the step runs eagerly instead when nothing of it has run on the device yet, else the call
raises (part of the step has been applied).
"""

from __future__ import annotations

import contextlib
import gc
from functools import partial

from .. import _capture
from ..tensor import Tensor
from . import pyvalues
from .capture import Recorder, user_line
from .grads import GradWatch
from .program import Program

# Checks of values that only raise: an aborted capture may have run them.
_NO_DEVICE_WORK = {"_check_targets_in_range", "_check_probabilities"}


class CaptureAbort(Exception):
    """A capture met something a CUDA graph cannot hold."""


class _Probe:
    """The recorder during a CUDA signature's warm-up: notes host reads outside islands."""

    def __init__(self):
        self.suspended = 0
        self.reason = None
        self.grads = self

    def assigned(self, rec, t, value) -> None:
        pass

    def watch_module(self, module) -> None:
        pass

    def island(self, fn, args, kwargs):
        self.suspended += 1
        try:
            return fn(*args, **kwargs)
        finally:
            self.suspended -= 1

    def cannot_replay(self, reason: str) -> None:
        if self.reason is None:
            self.reason = f"{reason} (at {user_line()})"


def probe(fn, args, kwargs, backend):
    """Run the warm-up call eagerly; returns its result and the reason it cannot be captured
    (None when nothing was seen)."""
    rec = _Probe()
    original = backend.to_numpy

    def to_numpy(arr):
        if not rec.suspended and rec.reason is None:
            rec.reason = f"a tensor's value is read on the host (at {user_line()})"
        return original(arr)

    backend.to_numpy = to_numpy
    _capture.recorder = rec
    try:
        result = fn(*args, **kwargs)
    finally:
        _capture.recorder = None
        del backend.to_numpy
    return result, rec.reason


class GraphRecorder(Recorder):
    """Collects a CUDA capture's program: graph launches, islands and ``.grad`` assignments
    (the island logic is the CPU recorder's; here an island also ends the segment)."""

    def __init__(self, stream):
        super().__init__()
        self.stream = stream
        self.device_work_done = False  # a segment or an island ran on the device
        self.graphs: list = []
        self.pending: list = []  # ended segments not launched yet

    def begin(self) -> None:
        self.stream.begin_capture()

    def end(self) -> None:
        """End the segment; its graph waits to be launched (``flush``)."""
        graph = self.stream.end_capture()
        self.graphs.append(graph)
        self.pending.append(graph)

    def flush(self) -> None:
        """Launch the segments not launched yet: the capture call computes its result."""
        for graph in self.pending:
            graph.launch(stream=self.stream)
            self.steps.append(partial(_launch, graph))
            self.device_work_done = True
        self.pending.clear()

    def _before_island(self, fn, args, kwargs) -> None:
        self.end()
        if not _without_device_work(fn, args, kwargs):
            self.flush()  # the island may read what the segments compute

    def _after_island(self, fn, args, kwargs) -> None:
        if not _without_device_work(fn, args, kwargs):
            self.device_work_done = True
        self.begin()

    def cannot_replay(self, reason: str) -> None:
        raise CaptureAbort(f"{reason} (at {user_line()})")


def _without_device_work(fn, args, kwargs) -> bool:
    """Islands that neither change nor read what the segments compute (``zero_grad`` setting
    grads to None; checks of the arguments): the segments before them may wait."""
    name = getattr(fn, "__name__", "")
    if name == "zero_grad":
        set_to_none = kwargs.get("set_to_none", args[1] if len(args) > 1 else True)
        return bool(set_to_none)
    return name in _NO_DEVICE_WORK


def _launch(graph) -> None:
    import cupy

    graph.launch(stream=cupy.cuda.get_current_stream())


def capture(fn, args, kwargs, tensors, backend):
    """Run ``fn`` under stream capture (see the module docstring); returns its result and the
    Program."""
    import cupy

    stream = cupy.cuda.Stream(non_blocking=True)
    pool = cupy.cuda.MemoryPool()
    rec = GraphRecorder(stream)
    watched = _watched_tensors(tensors, backend)
    rec.grads = GradWatch(watched)
    inputs = [(t._data, t._data.copy()) for t in tensors]
    rec.arguments = {id(t): Tensor._make(buf, backend) for t, (_, buf) in zip(tensors, inputs)}
    cupy.cuda.get_current_stream().synchronize()  # the capture stream starts after eager work

    def to_numpy(arr):
        if not rec.suspended:
            raise CaptureAbort(f"a tensor's value is read on the host (at {user_line()})")
        return cupy.asnumpy(arr)

    before = pyvalues.guards(fn, [])
    previous_allocator = cupy.cuda.get_allocator()
    with contextlib.ExitStack() as undo:
        for t, (orig, buf) in zip(tensors, inputs):
            t._data = buf
            undo.callback(setattr, t, "_data", orig)
        cupy.cuda.set_allocator(pool.malloc)
        undo.callback(cupy.cuda.set_allocator, previous_allocator)
        undo.enter_context(stream)
        backend.to_numpy = to_numpy
        undo.callback(backend.__dict__.pop, "to_numpy", None)
        _capture.recorder = rec
        undo.callback(setattr, _capture, "recorder", None)
        try:
            rec.begin()
            result = fn(*args, **kwargs)
            rec.grads.boundary(rec)
            rec.end()
            rec.flush()
            stream.synchronize()
        except Exception as e:  # noqa: BLE001 - any failure inside the capture aborts it
            with contextlib.suppress(Exception):
                if stream.is_capturing():
                    stream.end_capture()
            abort = e
        else:
            abort = None
    if abort is not None:
        return _aborted(fn, args, kwargs, rec, abort)
    from .function import _rebuild, _template

    outputs = _template(result, rec, {id(orig): buf for orig, buf in inputs})
    program = Program(
        steps=rec.steps, prologue=[], input_buffers=[buf for _, buf in inputs], copy_back=[],
        outputs=outputs, guards=_guards(rec, watched), safe_until=0, reason=rec.reason)
    pyvalues.guard(program, fn, rec, before)
    program.keep = (pool, rec.graphs, stream)  # the graphs' memory and handles live with it
    if program.reason is None:
        result = _rebuild(outputs)
    return result, program


def _aborted(fn, args, kwargs, rec, error):
    reason = str(error) if isinstance(error, CaptureAbort) else (
        f"the step cannot be captured into a CUDA graph ({type(error).__name__}: {error})")
    if rec.device_work_done:
        raise RuntimeError(
            f"gpugrad.compile: {reason}; the capture had already run part of the step on the "
            f"device, so the step is incomplete. Run this step without gpugrad.compile."
        ) from error
    for t in rec.grads.tensors:  # undo what islands without device work did (zero_grad)
        t._grad = rec.grads.start[id(t)]
    result = fn(*args, **kwargs)
    return result, Program.eager(reason)


def _watched_tensors(tensors, backend) -> list:
    """The tensors whose ``.grad`` and storage a CUDA program depends on: the arguments and
    every tensor on this device that exists before the capture."""
    found = list(tensors)
    seen = {id(t) for t in tensors}
    for obj in gc.get_objects():
        if issubclass(type(obj), Tensor) and id(obj) not in seen and obj._backend is backend:
            found.append(obj)
    return found


def _guards(rec, watched) -> list:
    """A graph holds raw pointers: the parameters and buffers of the modules it called must
    keep their arrays, and the ``.grad`` it may add into must be the same tensors."""
    guards = []
    for module, flag in rec.modules.values():
        guards.append((2, module, flag))
        for t in list(module._parameters.values()) + list(module._buffers.values()):
            if t is not None:
                guards.append((0, t, t._data))
                guards.append((3, t, t._requires_grad))
    for t in watched:
        g = rec.grads.start.get(id(t))
        if g is not None and id(t) not in rec.grads.reset_in_step:
            guards.append((1, t, g))
    guards.extend((1, t, g) for t, g in rec.grads.guards())
    return guards
