"""``gpugrad.compile(module)``: the module's forward and backward replay as one node of the tape.

With grad mode on, the capture records the forward, then (still recording) the backward of the
outputs into the inputs that require grad and the parameters, seeded from buffers of its own.
A replayed call runs the forward program and returns its outputs from a ``ReplayedModule``
node; the node's backward copies the incoming gradients into the seed buffers, runs the backward
program, and hands the engine the gradients, which it accumulates into ``.grad`` as for any
node. Both programs share buffers (the backward reads the forward's activations), so a forward
made while an earlier output still awaits its backward runs eagerly instead. Without grad mode
(evaluation) the forward is captured as a plain function.
"""

from __future__ import annotations

import weakref

import numpy as np

from ..autograd import grad as autograd_grad
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..nn.modules.module import Module
from ..tensor import Tensor
from . import memory, pyvalues, trace
from .capture import Diverged
from .function import EAGER, CompiledFunction, _template
from .program import Program, _rebuild
from .session import Session


class ReplayedModule(Function):
    """The node of a replayed module call: inputs are the tensor arguments and the tensors
    gradients flow to; outputs are the module's tensor outputs, flattened."""

    @staticmethod
    def forward(ctx, program, *tensors):
        ctx.program = program
        ctx.done = False
        program.run_forward(tensors[:program.n_args])
        program.pending = weakref.ref(ctx)
        return tuple(Tensor._make(o.copy(), program.backend) for o in program.out_arrays)

    @staticmethod
    def backward(ctx, *grads):
        program = ctx.program
        if ctx.done and program.pending is None:
            raise RuntimeError("ReplayedModule: its buffers were reused; cannot backward again")
        result = program.run_backward(grads)
        return (None, *result)


class ModuleProgram:
    """The forward and backward programs of one module capture."""

    def __init__(self, base, forward_steps, backward_steps, out_arrays, seeds, grads, n_args,
                 wrt_slots, backend):
        self.base = base  # a Program: guards, input buffers, prologue, reason
        self.forward_steps = forward_steps
        self.backward_steps = backward_steps
        self.out_arrays = out_arrays  # the flattened tensor outputs (their buffers)
        self.seeds = seeds  # per output: the buffer its incoming gradient is copied into
        self.grads = grads  # per tensor the gradient goes to: its buffer, or None (unused)
        self.n_args = n_args
        self.wrt_slots = wrt_slots  # per node input: index into grads, or None
        self.backend = backend
        self.pending = None  # weakref to the node whose backward has not run yet

    @property
    def reason(self):
        return self.base.reason

    @reason.setter
    def reason(self, value):
        self.base.reason = value

    def guards_hold(self) -> bool:
        return self.base.guards_hold()

    def busy(self) -> bool:
        node = self.pending() if self.pending is not None else None
        return node is not None and not node.done

    def run_forward(self, tensor_args) -> None:
        for buf, t in zip(self.base.input_buffers, tensor_args):
            np.copyto(buf, t._data)
        for s in self.base.prologue:
            s()
        try:
            for s in self.forward_steps:
                s()
        except Diverged as e:
            e.safe = e.index < self.base.safe_until
            raise

    def run_backward(self, grads):
        for seed, g in zip(self.seeds, grads):
            if g is None:
                seed.fill(0)
            else:
                np.copyto(seed, g._data)
        for s in self.backward_steps:
            s()
        node = self.pending() if self.pending is not None else None
        if node is not None:
            node.done = True
        # Views: the engine copies what it does not own, and these buffers are reused.
        return [None if k is None or self.grads[k] is None else
                Tensor._make(self.grads[k].view(), self.backend) for k in self.wrt_slots]


class _ModuleFunction(CompiledFunction):
    """The compiled forward of a module: plain capture without grad mode, one node with it."""

    _grad_args_by_identity = False

    def __init__(self, module):
        super().__init__(module)
        self._module = module

    def _wrt(self, tensors):
        """Where gradients go: the arguments that require grad (by position: each call brings
        new ones), then the parameters that do."""
        params = [p for p in self._module.parameters() if p._requires_grad]
        return [t for t in tensors if t._requires_grad] + params

    def _capture(self, args, kwargs, tensors):
        if not is_grad_enabled() or not self._wrt(tensors):
            return super()._capture(args, kwargs, tensors)
        wrt = self._wrt(tensors)
        if wrt[0]._backend.name == "cuda":
            return self._fn(*args, **kwargs), Program.eager(
                "compiling a module for training on CUDA is not implemented yet: compile the "
                "training step (forward, backward and optimizer step) instead")
        before = pyvalues.guards(self._module.forward, [])
        with Session(tensors) as session:
            result = self._module(*args, **kwargs)
            rec = session.rec
            split = len(rec.steps)
            outs = _flat_tensors(result)
            diff = [o for o in outs if o.grad_fn is not None]
            backend = tensors[0]._backend if tensors else wrt[0]._backend
            # (np.ndarray itself: np.zeros would record a fill that the backward replays)
            seeds = [rec.fresh(_zeros(o._data.shape, o._data.dtype)) for o in diff]
            grads = autograd_grad(
                diff, wrt, [Tensor._make(s.view(trace.Traced), backend) for s in seeds],
                allow_unused=True, retain_graph=True) if diff else [None] * len(wrt)
        steps = session.shared(rec.steps, pinned=seeds)
        if rec.first_island is not None and rec.reason is None:
            rec.reason = "an optimizer or scheduler call inside the module's forward"
        base = session.program(("const", None), steps[:split])
        pyvalues.guard(base, self._module.forward, rec, before)
        out_arrays = [o._data for o in outs]
        program = ModuleProgram(
            base, steps[:split], steps[split:], out_arrays,
            seeds=[seeds[diff.index(o)] if o in diff else np.zeros(o._data.shape, o._data.dtype)
                   for o in outs],
            grads=[None if g is None else g._data for g in grads],
            n_args=len(tensors), wrt_slots=[], backend=backend)
        program.arg_slots = [None] * len(tensors)
        for k, i in enumerate(i for i, t in enumerate(tensors) if t._requires_grad):
            program.arg_slots[i] = k
        program.params = wrt[sum(s is not None for s in program.arg_slots):]
        program.template = _template(result, rec)
        program.held_bytes = memory.held_bytes(steps, rec.internal, base.input_buffers)
        # The capture call keeps its eager graph (the recorded buffers share memory from now on,
        # so they do not hold this call's activations).
        return result, program

    def _replay(self, program, tensors):
        if not isinstance(program, ModuleProgram):
            return super()._replay(program, tensors)
        if program.busy():  # an earlier output still awaits its backward: do not overwrite
            return EAGER
        return self._replay_node(program, tensors)

    def _replay_node(self, program, tensors):
        n_args = len(program.arg_slots) - program.arg_slots.count(None)
        program.wrt_slots = program.arg_slots + list(range(n_args, n_args + len(program.params)))
        outs = ReplayedModule.apply(program, *tensors, *program.params)
        outs = list(outs) if isinstance(outs, tuple) else [outs]
        return _fill(program.template, iter(outs))


def _zeros(shape, dtype):
    buf = np.ndarray(shape, dtype)
    buf.fill(0)
    return buf


def _flat_tensors(result) -> list:
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (list, tuple)):
        return [t for r in result for t in _flat_tensors(r)]
    if isinstance(result, dict):
        return [t for r in result.values() for t in _flat_tensors(r)]
    return []


def _fill(template, outs):
    kind = template[0]
    if kind == "tensor":
        return next(outs)
    if kind == "seq":
        return template[1](_fill(t, outs) for t in template[2])
    if kind == "dict":
        return template[1]((k, _fill(t, outs)) for k, t in template[2])
    return _rebuild(template)


class OptimizedModule(Module):
    """What ``gpugrad.compile(module)`` returns: a module whose calls replay ``_orig_mod``'s
    captured forward and backward (``torch.compile``'s ``OptimizedModule``; its parameters and
    state dict are the wrapped module's, under ``_orig_mod.``)."""

    def __init__(self, module: Module):
        super().__init__()
        self._orig_mod = module
        self.__dict__["_compiled"] = _ModuleFunction(module)

    def forward(self, *args, **kwargs):
        out = self._compiled(*args, **kwargs)
        return out

    @property
    def stats(self):
        return self._compiled.stats

    def __getattr__(self, name: str):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.__dict__["_modules"]["_orig_mod"], name)
