"""Recording ranges, and the one switch that makes gpugrad's ops record them.

No op, node or engine loop asks whether a profiler is on: that would cost every op of every
program a check. Instead, while a profile records, ``install`` replaces the public callables
with timing wrappers, and ``uninstall`` puts the originals back:

- the ops under their PyTorch names (``gpugrad.add``, ``gpugrad.nn.functional.linear``,
  ``gpugrad.linalg.*``, ``gpugrad.special.*``, the Tensor methods and operators), recorded as
  ``aten::<name>`` (``x + y`` is ``aten::add``, ``x[i]`` is ``aten::index``);
- the backward of every node class, recorded as PyTorch's engine records it:
  ``autograd::engine::evaluate_function: MulBackward0`` around ``MulBackward0``;
- the optimizers' ``step`` and ``zero_grad`` (``Optimizer.step#SGD.step``).

Code that took a reference before the profile started (``from gpugrad import relu``) calls the
original and is not recorded; a Function class defined while a profile records gets its node
wrapped at the next ``install``.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time

from ._events import FunctionEvent

Tensor = None  # gpugrad.Tensor, bound by ``install`` (the profiler sits above the tensor layer)

_active = None  # the Recorder that records now, or None


class _Stack(threading.local):
    def __init__(self):
        self.open: list[FunctionEvent] = []  # this thread's open ranges, innermost last


_stack = _Stack()


class Recorder:
    """The events of one trace (one active phase of a profile)."""

    def __init__(self, record_shapes: bool):
        self.record_shapes = record_shapes
        self.events: list[FunctionEvent] = []
        self._ids = itertools.count()

    def open(self, name: str, category: str, args=None) -> FunctionEvent:
        stack = _stack.open
        shapes = None
        if self.record_shapes:
            shapes = [] if args is None else _shapes(args)
        event = FunctionEvent(next(self._ids), name, threading.get_ident(),
                              time.perf_counter_ns() / 1e3, shapes,
                              stack[-1] if stack else None)
        event.category = category
        stack.append(event)
        return event

    def close(self, event: FunctionEvent) -> None:
        event.end_us = time.perf_counter_ns() / 1e3
        stack = _stack.open
        if stack and stack[-1] is event:
            stack.pop()
        elif event in stack:  # ranges closed out of order (a record_function left open)
            stack.remove(event)
        if event.cpu_parent is not None:
            event.cpu_parent.cpu_children.append(event)
        self.events.append(event)


def active() -> Recorder | None:
    return _active


def _shapes(args) -> list:
    out = []
    for a in args:
        if isinstance(a, Tensor):
            out.append(list(a._data.shape))
        elif isinstance(a, (list, tuple)) and a and all(isinstance(t, Tensor) for t in a):
            out.append([list(t._data.shape) for t in a])
        else:
            out.append([])
    return out


# ------------------------------------------------------------------ the wrappers
def _timed_op(name: str, fn):
    @functools.wraps(fn)
    def timed(*args, **kwargs):
        recorder = _active
        if recorder is None:  # a reference kept past the end of the profile
            return fn(*args, **kwargs)
        event = recorder.open(name, "cpu_op", args)
        try:
            return fn(*args, **kwargs)
        finally:
            recorder.close(event)
    return timed


def _timed_node(fn, is_array: bool):
    """A node class's ``_array_backward`` (``is_array``) or ``backward`` (``ctx`` first), timed
    as two nested ranges. The default ``_array_backward`` calls ``backward``: the inner call,
    seeing its own node's range open, is not recorded twice."""

    def timed(node, *grads):
        recorder = _active
        stack = _stack.open
        if recorder is None or (stack and stack[-1].node is node):
            return fn(node, *grads)
        name = node.name()
        outer = recorder.open("autograd::engine::evaluate_function: " + name, "cpu_op")
        inner = recorder.open(name, "cpu_op")
        inner.node = node
        try:
            return fn(node, *grads)
        finally:
            recorder.close(inner)
            recorder.close(outer)
    return timed if is_array else staticmethod(timed)


def _timed_optimizer(kind: str, fn):
    @functools.wraps(fn)
    def timed(self, *args, **kwargs):
        recorder = _active
        name = f"Optimizer.{kind}#{type(self).__name__}.{kind}"
        stack = _stack.open
        if recorder is None or (stack and stack[-1].name == name):  # a subclass's super() call
            return fn(self, *args, **kwargs)
        event = recorder.open(name, "user_annotation")
        try:
            return fn(self, *args, **kwargs)
        finally:
            recorder.close(event)
    return timed


# ------------------------------------------------------------------ install / uninstall
# Python's operators, by the name of the op PyTorch records for them.
_OPERATORS = {
    "__neg__": "neg", "__abs__": "abs", "__pos__": "positive", "__invert__": "bitwise_not",
    "__add__": "add", "__radd__": "add", "__sub__": "sub", "__rsub__": "rsub",
    "__mul__": "mul", "__rmul__": "mul", "__truediv__": "div", "__rtruediv__": "div",
    "__floordiv__": "floor_divide", "__rfloordiv__": "floor_divide",
    "__mod__": "remainder", "__rmod__": "remainder", "__pow__": "pow", "__rpow__": "pow",
    "__matmul__": "matmul", "__rmatmul__": "matmul",
    "__eq__": "eq", "__ne__": "ne", "__lt__": "lt", "__le__": "le", "__gt__": "gt", "__ge__": "ge",
    "__and__": "bitwise_and", "__or__": "bitwise_or", "__xor__": "bitwise_xor",
    "__rand__": "bitwise_and", "__ror__": "bitwise_or", "__rxor__": "bitwise_xor",
    "__iadd__": "add_", "__isub__": "sub_", "__imul__": "mul_", "__itruediv__": "div_",
    "__ifloordiv__": "floor_divide_", "__ipow__": "pow_", "__iand__": "bitwise_and_",
    "__ior__": "bitwise_or_", "__ixor__": "bitwise_xor_",
    "__getitem__": "index", "__setitem__": "index_put_",
}
# Top-level names that are not ops: PyTorch records nothing for them.
_NOT_OPS = frozenset({"is_tensor", "from_numpy", "numel"})

_installed: list = []  # (owner, attribute, original, whether owner itself held it)


def install() -> None:
    """Put the timing wrappers in place (see the module docstring)."""
    global Tensor
    import gpugrad
    from gpugrad import nn, optim
    from gpugrad.autograd.function import Function

    Tensor = gpugrad.Tensor
    for owner, attr, wrapped in _targets(gpugrad, nn, optim, Function):
        _installed.append((owner, attr, owner.__dict__.get(attr), attr in owner.__dict__))
        setattr(owner, attr, wrapped)


def uninstall() -> None:
    while _installed:
        owner, attr, original, owned = _installed.pop()
        if owned:
            setattr(owner, attr, original)
        else:
            delattr(owner, attr)


def _targets(gpugrad, nn, optim, function_cls):
    """(owner, attribute, wrapper) for everything ``install`` wraps."""
    from gpugrad import _torch_aliases, _windows, factories, factories_more, sampling
    from gpugrad.nn.functional import _toplevel
    from gpugrad.ops import TOPICS

    top = set()
    methods = set()
    for module in (*TOPICS, _torch_aliases, factories, factories_more, _windows, sampling,
                   _toplevel):
        top.update(module.__all__)
        methods.update(getattr(module, "METHODS", ()))
    for name in sorted(top - _NOT_OPS):
        if hasattr(gpugrad, name):
            yield gpugrad, name, _timed_op("aten::" + name, getattr(gpugrad, name))
    for module, prefix in ((nn.functional, ""), (gpugrad.linalg, "linalg_"),
                           (gpugrad.special, "special_")):
        for name in module.__all__:
            fn = getattr(module, name)
            if callable(fn) and not isinstance(fn, type):
                yield module, name, _timed_op(f"aten::{prefix}{name}", fn)
    tensor = gpugrad.Tensor
    for name in sorted(n for n in methods if not n.startswith("__")):  # operators: below
        yield tensor, name, _timed_op("aten::" + name, getattr(tensor, name))
    for name, op in _OPERATORS.items():
        if name in tensor.__dict__:
            yield tensor, name, _timed_op("aten::" + op, tensor.__dict__[name])
    for cls in _subclasses(function_cls):
        if "_forward_cls" in cls.__dict__:  # a node class: what the engine calls
            yield cls, "_array_backward", _timed_node(cls._array_backward, True)
            yield cls, "backward", _timed_node(cls.backward, False)
    for cls in (optim.Optimizer, *_subclasses(optim.Optimizer)):
        for kind in ("step", "zero_grad"):
            if kind in cls.__dict__:
                yield cls, kind, _timed_optimizer(kind, cls.__dict__[kind])


def _subclasses(cls) -> list:
    found, todo = {}, [cls]  # a dict: ordered, without repeats (a class may have two bases)
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found[sub] = None
                todo.append(sub)
    return list(found)


def activate(recorder: Recorder) -> None:
    global _active
    if _active is not None:
        raise RuntimeError("A profiler is already recording: gpugrad runs one profile at a time "
                           "(nested profiles are not supported)")
    install()
    _stack.open = []  # nothing left open by an earlier profile becomes a parent
    _active = recorder


def deactivate() -> None:
    global _active
    _active = None
    uninstall()
