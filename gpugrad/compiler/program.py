"""A captured step: its guards and its flat program, and the replay.

A replay refills the input buffers from the new arguments, runs the foreign buffers' restores,
then every recorded call in order (islands among them), and returns fresh copies of the outputs.
"""

from __future__ import annotations

from functools import partial

from .capture import Diverged

_MISSING = object()


class Program:
    """What one capture left: built by ``function.capture``, run by ``replay``."""

    def __init__(self, steps, prologue, input_buffers, copy_back, outputs, guards, safe_until,
                 reason=None):
        self.steps = steps
        self.prologue = prologue
        self.input_buffers = input_buffers  # per tensor argument: its buffer (or None)
        self.copy_back = copy_back  # indices of arguments the step writes into
        self.outputs = outputs  # a template: see ``_rebuild``
        self.guards = guards  # (tensor, array) / (tensor, grad) / (module, training) checks
        self.safe_until = safe_until  # steps before this index change nothing outside
        self.reason = reason  # set: this signature runs eagerly (why)
        self.held_bytes = 0  # memory the program keeps between replays (CPU; memory.py)

    @classmethod
    def eager(cls, reason: str) -> Program:
        """A signature that runs eagerly, for ``reason``."""
        return cls([], [], [], [], ("const", None), [], 0, reason)

    def guards_hold(self) -> bool:
        for kind, obj, expected in self.guards:
            if kind == 0:  # a tensor still holds the array the program reads and writes
                if obj._data is not expected:
                    return False
            elif kind == 1:  # ``.grad``: the same tensor, or None
                if obj._grad is not expected:
                    return False
            elif kind == 2:  # a module's train/eval flag
                if obj.training is not expected:
                    return False
            elif kind == 3:
                if obj._requires_grad is not expected:
                    return False
            else:  # kind 4: a Python number the step read (``obj``: a dict and a key)
                d, key = obj
                value = d.get(key, _MISSING)
                if value is not expected and (value != expected or type(value) is not type(
                        expected)):
                    return False
        return True

    def replay(self, tensor_args):
        """Run the program on new arguments; raises ``Diverged`` (with ``.safe``) when a
        replayed check reads another value than the capture did."""
        for buf, t in zip(self.input_buffers, tensor_args):
            buf[...] = t._data  # (NumPy or CuPy)
        for s in self.prologue:
            s()
        try:
            for s in self.steps:
                s()
        except Diverged as e:
            e.safe = e.index < self.safe_until
            raise
        for k in self.copy_back:
            tensor_args[k]._data[...] = self.input_buffers[k]
        return _rebuild(self.outputs)


def _rebuild(template):
    kind = template[0]
    if kind == "tensor":
        _, arr, make = template
        return make(arr.copy())
    if kind == "seq":
        _, cls, items = template
        return cls(_rebuild(t) for t in items)
    if kind == "dict":
        _, cls, items = template
        return cls((k, _rebuild(t)) for k, t in items)
    return template[1]  # a constant


def tensor_maker(t):
    """Builds a plain tensor on ``t``'s device around a new array."""
    from ..tensor import Tensor

    return partial(Tensor._make, backend=t._backend)
