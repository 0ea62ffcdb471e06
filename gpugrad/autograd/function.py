"""``Function``: an op's forward and backward, and the node it leaves in the graph.

One instance is both the ``ctx`` that forward and backward share and the graph node the outputs'
``grad_fn`` points to. Our own ops (``gpugrad/ops``) and users' custom ops are written the same
way, as in PyTorch::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad_output):
            (y,) = ctx.saved_tensors
            return grad_output * y

    y = Exp.apply(x)

Forward runs with grad mode off; backward runs with grad mode on only under
``create_graph=True``, so a backward written with Tensor ops is itself differentiable.
"""

from __future__ import annotations

import weakref

from . import record as _record
from .grad_mode import state as _grad_state

__all__ = ["Function", "FunctionCtx", "once_differentiable"]

Tensor = None  # set by gpugrad.tensor at import, to avoid an import cycle


class FunctionCtx:
    """The part of ``Function`` that forward and backward use through ``ctx``."""

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (inputs or outputs) for backward; read them back as ``saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Outputs that get no gradient (indices, masks): they do not require grad."""
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors) -> None:
        """Accepted for PyTorch compatibility; in-place custom Functions are not tracked."""

    def set_materialize_grads(self, value: bool) -> None:
        """If False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize_grads = value

    # What forward saved, checked against in-place changes since: as Tensors (a differentiable
    # backward), or with tensors as their raw arrays (a backward on arrays, no create_graph).
    saved_tensors = property(_record.saved_tensors)
    saved_arrays = _record.saved_arrays


class Function(FunctionCtx):
    """Base class of differentiable operations; see the module docstring."""

    # Class-level defaults: instances set only what differs.
    _saved = ()
    _to_save = ()
    _non_differentiable = ()
    _materialize_grads = True
    _differentiable_outputs = (0,)
    _edges = ()
    _n_outputs = 1
    _out_meta = None
    _pre_hooks = None
    _retained = None
    _hooked = False  # has pre-hooks or retained outputs: one flag for the engine to test
    _seq = -1
    _backend = None  # the outputs' backend (where incoming gradients live), set at record
    needs_input_grad = ()

    def __init__(self, *args, **kwargs):
        raise RuntimeError(
            f"{type(self).__name__} is a Function: call {type(self).__name__}.apply(...) instead "
            "of instantiating it"
        )

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("a Function subclass must define backward(ctx, *grad_outputs)")

    # ------------------------------------------------------------------ the hot path
    @classmethod
    def apply(cls, *args):
        """Run forward and, when grad mode is on and an input requires grad, record the node."""
        ctx = object.__new__(cls)
        record = False
        backend = None
        needs = []
        for a in args:
            if isinstance(a, Tensor):
                if backend is None:
                    backend = a._backend
                elif a._backend is not backend:
                    _device_mismatch(cls, args)
                if a._requires_grad:
                    record = True
                    needs.append(True)
                    continue
            needs.append(False)
        prev_mode = _grad_state.enabled
        record = record and prev_mode
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        if prev_mode:  # forward never records: it runs as under no_grad
            _grad_state.enabled = False
            try:
                result = cls.forward(ctx, *args)
            finally:
                _grad_state.enabled = True
        else:
            result = cls.forward(ctx, *args)

        if result.__class__ is tuple:
            outputs = tuple(_own_output(r, args) for r in result)
            if record:
                _record.record(ctx, args, outputs)
            return outputs
        if result.__class__ is not Tensor or result.grad_fn is not None or result._requires_grad:
            result = _own_output(result, args)
        elif record:  # (a fresh Tensor, unless forward returned an input itself)
            for a in args:
                if result is a:
                    result = a._alias()
                    break
        if record:
            _record.record(ctx, args, (result,))
        return result

    def _array_backward(self, *grads) -> tuple:
        """Backward on raw arrays, as the engine calls it without ``create_graph``: one array
        (or None) per input. Built-in ops override it to skip the Tensor wrapping; this default
        wraps the gradients, runs ``backward`` and checks what it returns."""
        backend = self._backend
        in_grads = checked_grads(self, self.backward(self, *[
            None if g is None else Tensor._make(g, backend) for g in grads
        ]))
        return tuple(None if g is None else g._data for g in in_grads)

    # ---------------------------------------------------------------- introspection
    @classmethod
    def name(cls) -> str:
        return getattr(cls, "node_name", None) or cls.__name__ + "Backward"

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple:
        out = []
        for edge in self._edges:
            if edge is None:
                out.append((None, 0))
            elif isinstance(edge[0], Tensor):
                out.append((AccumulateGrad(edge[0]), 0))
            else:
                out.append((edge[0], edge[1]))
        return tuple(out)

    def register_hook(self, fn):
        """Not supported on nodes; use ``Tensor.register_hook``."""
        raise NotImplementedError("register hooks on tensors (Tensor.register_hook) instead")

    def _add_pre_hook(self, output_nr: int, fn):
        if self._pre_hooks is None:
            self._pre_hooks = {}
            self._hooked = True
        hooks = self._pre_hooks.setdefault(output_nr, [])
        hooks.append(fn)
        return RemovableHandle(hooks, fn)

    def _retain(self, output_nr: int, tensor) -> None:
        if self._retained is None:
            self._retained = {}
            self._hooked = True
        self._retained[output_nr] = weakref.ref(tensor)

    def _release(self) -> None:
        """Free what backward needed (called after backward unless retain_graph)."""
        self._saved = None


def _own_output(r, args):
    """Outputs must be fresh tensors: an input returned as-is is wrapped in a new alias."""
    if r.__class__ is not Tensor and not isinstance(r, Tensor):
        return r
    if r.grad_fn is not None or r._requires_grad:
        return r._alias()
    for a in args:
        if r is a:
            return r._alias()
    return r


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: the node accumulating into ``variable.grad``."""

    def __init__(self, variable):
        self.variable = variable

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        try:
            self._hooks.remove(self._fn)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _device_mismatch(cls, args) -> None:
    devices = ", ".join(str(a.device) for a in args if isinstance(a, Tensor))
    raise RuntimeError(
        f"Expected all tensors to be on the same device, but found tensors on {devices} "
        f"in {cls.__name__}"
    )


def checked_grads(node, in_grads) -> tuple:
    """A backward's result as a tuple, after checking the count and that each is a Tensor."""
    if in_grads.__class__ is not tuple:
        in_grads = (in_grads,)
    edges = node._edges
    if len(in_grads) != len(edges):
        if len(in_grads) < len(edges) or any(g is not None for g in in_grads[len(edges):]):
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {len(edges)}, got {len(in_grads)})"
            )
    for edge, g in zip(edges, in_grads):
        if edge is not None and g is not None and not isinstance(g, Tensor):
            raise TypeError(
                f"function {node.name()} returned a gradient of type "
                f"{type(g).__name__}, expected a Tensor or None"
            )
    return in_grads


def once_differentiable(fn):
    """Decorator for a backward that is not itself differentiable (accepted for compatibility)."""
    return fn
