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

import functools
import inspect

from .._dtype import GRAD_KINDS
from . import record as _record
from . import saved as _saved
from .grad_mode import state as _grad_state
from .node import AccumulateGrad as AccumulateGrad  # (importable from here too)
from .node import GraphNode, checked_grads
from .node import RemovableHandle as RemovableHandle  # (importable from here too)

__all__ = ["Function", "FunctionCtx", "ViewFunction", "once_differentiable"]

Tensor = None  # set by gpugrad.tensor at import, to avoid an import cycle

_FIRST_NEEDS, _NO_NEEDS = _record.FIRST_NEEDS, _record.NO_NEEDS  # (apply_unary's)


class FunctionCtx:
    """The part of ``Function`` that forward and backward use through ``ctx``."""

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (inputs or outputs) for backward; read them back as ``saved_tensors``."""
        for t in tensors:
            if t is not None and t.__class__ is not Tensor and not isinstance(t, Tensor):
                i = next(i for i, u in enumerate(tensors) if u is t)
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        self._to_save = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Outputs that get no gradient (indices, masks): they do not require grad."""
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors) -> None:
        """Inputs that forward modified in place. Each must be returned as an output: it comes
        back as the same tensor, with its version counter bumped and this node as its history
        (a leaf that requires grad cannot be modified in place)."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """If False, backward receives None (not zeros) for outputs that got no gradient."""
        self._materialize_grads = value

    # What forward saved, checked against in-place changes since: as Tensors (a differentiable
    # backward), or with tensors as their raw arrays (a backward on arrays, no create_graph).
    saved_tensors = property(_saved.saved_tensors)
    saved_arrays = _saved.saved_arrays


class Function(FunctionCtx, GraphNode):
    """Base class of differentiable operations; see the module docstring. Its introspection
    and hooks as a graph node (``name``, ``next_functions``, ``register_hook``...) are
    ``GraphNode``'s (``autograd/node.py``)."""

    # Class-level defaults: instances set only what differs.
    _saved = ()
    _to_save = ()
    _non_differentiable = ()
    _dirty = ()
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
    # What ``next_functions`` lists: a class may name its tensor inputs in PyTorch's order
    # (``_next_inputs``: argument positions, None for an input PyTorch lists that is not
    # recorded here); a user's Function lists its tensor arguments (``_input_slots``); a
    # built-in op its float tensor arguments (``needs_input_grad`` marks the others 0).
    _next_inputs = None
    _input_slots = None
    _builtin = True

    def __init_subclass__(cls, **kwargs):
        """Give each Function its node class, named as PyTorch names the node
        (``SumBackward0``; ``ExpBackward`` for a user's ``Exp``): ``apply`` records an instance
        of it, so ``type(y.grad_fn).__name__`` and ``y.grad_fn.name()`` read as in PyTorch."""
        super().__init_subclass__(**kwargs)
        if "_forward_cls" in cls.__dict__:
            return  # cls is itself a node class
        full = getattr(cls, "node_name", None) or cls.__name__ + "Backward"
        cls._builtin = cls.__module__.startswith("gpugrad.")
        # What ``apply`` runs: ``forward(ctx, *args)``; or, where the class defines
        # ``setup_context`` (PyTorch's other style), ``forward(*args)`` then
        # ``setup_context(ctx, args, output)``.
        if _static(cls, "setup_context") is not _static(Function, "setup_context"):
            cls._run_forward = staticmethod(functools.partial(_forward_then_setup_context, cls))
        else:
            cls._run_forward = _static(cls, "forward")
        cls._node_cls = type(full.rpartition("::")[2], (cls,), {
            "_forward_cls": cls, "_full_name": full, "__module__": cls.__module__,
        })

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

    @staticmethod
    def setup_context(ctx, inputs, output):
        """Defined instead of taking ``ctx`` in ``forward``: ``forward(*args)`` computes, then
        this keeps on ``ctx`` what backward needs (``inputs``: the args; ``output``: what
        forward returned)."""
        raise NotImplementedError("setup_context is not implemented.")

    # ------------------------------------------------------------------ the hot path
    @classmethod
    def apply(cls, *args, **kwargs):
        """Run forward and, when grad mode is on and an input requires grad, record the node.
        Keyword arguments are placed where forward takes them (``_positional``)."""
        if kwargs:
            args = _positional(cls, args, kwargs)
        ctx = object.__new__(cls._node_cls)
        record = False
        backend = None
        for a in args:
            if isinstance(a, Tensor):
                if backend is None:
                    backend = a._backend
                elif a._backend is not backend:
                    _device_mismatch(cls, args)
                if a._requires_grad:
                    record = True
        prev_mode = _grad_state.enabled
        if record and prev_mode:
            ctx.needs_input_grad = _needs_input_grad(cls, ctx, args)
        else:
            record = False
            ctx.needs_input_grad = (False,) * len(args)
        if prev_mode:  # forward never records: it runs as under no_grad
            _grad_state.enabled = False
            try:
                result = cls._run_forward(ctx, *args)
            finally:
                _grad_state.enabled = True
        else:
            result = cls._run_forward(ctx, *args)

        if ctx._dirty:
            return _record_dirty(ctx, args, result, record)
        if result.__class__ is tuple:
            outputs = tuple([_own_output(r, args) for r in result])
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

    @classmethod
    def apply_unary(cls, x, *params):
        """``apply`` for a built-in op whose one differentiable Tensor argument is ``x``,
        first (``params`` are dims, numbers, arrays, or an index tensor the op made on ``x``'s
        backend, which needs no gradient and is marked 0 as ``apply`` marks one), and whose
        forward only calls backend primitives (never a Tensor op) and returns fresh Tensors
        (one, or a tuple): the tiny shape and reduction ops,
        which are most of the ops of a model run one small tensor at a time. It skips
        ``apply``'s pass over the arguments, its grad-mode switch and its checks of the
        outputs, and records through ``record_unary``."""
        ctx = object.__new__(cls._node_cls)
        n = len(params)
        if x._requires_grad and _grad_state.enabled:
            ctx.needs_input_grad = _FIRST_NEEDS[n] if n < 8 else (True,) + (0,) * n
            # (no switch to no_grad around forward, as apply's: it calls no Tensor op, so it
            # records nothing; tests/autograd/test_record.py counts the nodes)
            result = cls.forward(ctx, x, *params)
            _record.record_unary(ctx, x, result)
            return result
        ctx.needs_input_grad = _NO_NEEDS[n] if n < 8 else (False,) * (n + 1)
        return cls.forward(ctx, x, *params)

    def _array_backward(self, *grads) -> tuple:
        """Backward on raw arrays, as the engine calls it without ``create_graph``: one array
        (or None) per input. Built-in ops override it to skip the Tensor wrapping; this default
        wraps the gradients, runs ``backward`` and checks what it returns."""
        backend = self._backend
        in_grads = checked_grads(self, type(self).backward(self, *[
            None if g is None else Tensor._make(g, backend) for g in grads
        ]))
        return tuple(None if g is None else g._data for g in in_grads)


def _static(cls, name: str):
    """The function that ``cls.name`` is (a staticmethod's, looked up along the MRO)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            found = klass.__dict__[name]
            return found.__func__ if isinstance(found, staticmethod) else found
    return None


_MISSING = object()


def _positional(cls, args: tuple, kwargs: dict) -> tuple:
    """``apply``'s arguments in forward's order, as PyTorch's ``apply`` binds keywords: by name;
    where the class has ``setup_context``, forward's defaults fill in the rest (its ``inputs``
    hold them all); otherwise every parameter before the last one given must be given."""
    signature = inspect.signature(_static(cls, "forward"))
    if _static(cls, "setup_context") is not _static(Function, "setup_context"):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.args
    names = list(signature.parameters)[1:]  # (after ctx)
    placed = list(args)
    for name, value in kwargs.items():
        if name not in names:
            raise TypeError(f"forward() got an unexpected keyword argument '{name}'")
        i = names.index(name)
        if i < len(args):
            raise TypeError(f"forward() got multiple values for argument '{name}'")
        placed += [_MISSING] * (i + 1 - len(placed))
        placed[i] = value
    for i, value in enumerate(placed):
        if value is _MISSING:
            raise TypeError(f"forward() missing required argument: '{names[i]}' (position {i})")
    return tuple(placed)


def _forward_then_setup_context(cls, ctx, *args):
    output = cls.forward(*args)
    cls.setup_context(ctx, args, output)
    return output


def _record_dirty(ctx, args, result, record: bool):
    """The outputs of a forward that called ``mark_dirty``: the modified inputs are returned
    themselves, one version newer, with ``ctx`` as their history."""
    outputs = result if result.__class__ is tuple else (result,)
    dirty = ctx._dirty
    for d in dirty:
        if not any(o is d for o in outputs):
            raise RuntimeError(
                "Some elements marked as dirty during the forward method were not returned as "
                "output. The inputs that are modified inplace must all be outputs of the Function."
            )
        if record and d._requires_grad and d.grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad has been used in an in-place operation.")
        if record and d._base is not None and (d._requires_grad or d._base._requires_grad):
            raise NotImplementedError(
                "mark_dirty on a view of a tensor that requires grad is not supported: modify "
                "the base tensor, or return a new tensor instead of writing in place")
        d._vc.value += 1
    outputs = tuple(o if any(o is d for d in dirty) else _own_output(o, args) for o in outputs)
    if record:
        _record.record(ctx, args, outputs)  # the edges read the inputs' old history first
        for i, o in enumerate(outputs):
            if o.grad_fn is ctx:
                o._output_nr = i  # a dirtied input may have been another node's output 1
    return outputs if result.__class__ is tuple else outputs[0]


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


class ViewFunction(Function):
    """A view op: ``view_array(ctx, x, params)`` (a static method) returns the array of the
    view of ``x``, which shares ``x``'s memory, and keeps on ``ctx`` what backward reads;
    ``params`` is the tuple of the op's non-Tensor arguments (one tuple, not spread: a call
    that spreads a tuple costs a view about 90 ns more).

    ``apply_view(x, *params)`` runs it on ``x`` (the one Tensor argument; ``params`` are never
    Tensors), wraps the array as a view of ``x``, records the node when ``x`` requires grad and
    registers the view with its root (``autograd/views.py``), all in one pass of the recording
    API (``record.apply_view``). ``apply`` takes the general path through ``forward`` below;
    tests/autograd/test_record.py holds the two equal."""

    @staticmethod
    def forward(ctx, x, *params):
        return x._view(ctx.view_array(ctx, x, params))

    apply_view = classmethod(_record.apply_view)


def new_node(cls, args):
    """A node of the built-in op ``cls`` for ``args`` (one of which requires grad, in grad mode)
    with ``needs_input_grad`` as ``apply`` sets it: for an op that runs its forward itself and
    records the node through ``record`` (``cat``'s direct path)."""
    node = object.__new__(cls._node_cls)
    node.needs_input_grad = _needs_input_grad(cls, node, args)
    return node


def _needs_input_grad(cls, ctx, args) -> tuple:
    """``needs_input_grad`` of a node being recorded: True for each tensor that requires grad.
    A built-in op's inputs (as ``next_functions`` lists them) are its float tensors: numbers,
    dims and index tensors are marked 0 (falsy, but not a bool). A user's Function lists every
    tensor argument (``_input_slots``) and marks the others False."""
    if not cls._builtin:
        ctx._input_slots = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
        return tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
    needs = []
    for a in args:
        if isinstance(a, Tensor):
            needs.append(True if a._requires_grad else
                         False if a._data.dtype.kind in GRAD_KINDS else 0)
        else:
            needs.append(0)
    return tuple(needs)


def _device_mismatch(cls, args) -> None:
    devices = ", ".join(str(a.device) for a in args if isinstance(a, Tensor))
    raise RuntimeError(
        f"Expected all tensors to be on the same device, but found tensors on {devices} "
        f"in {cls.__name__}"
    )


_TWICE = "trying to differentiate twice a function that was marked with @once_differentiable"


class _DelayedError(Function):
    """The history ``once_differentiable`` gives a backward's results under ``create_graph``:
    differentiating through it raises."""

    node_name = "Error"

    @staticmethod
    def forward(ctx, *tensors):
        return tuple(None if t is None else t._new(t._data) for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(_TWICE)


def once_differentiable(fn):
    """Decorator for a ``backward`` that is not itself differentiable: it runs under no_grad,
    and under ``create_graph`` (when a gradient it receives requires grad) its results get a
    history that raises if a later backward goes through it, as PyTorch's."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        prev, _grad_state.enabled = _grad_state.enabled, False
        try:
            outputs = fn(ctx, *args)
        finally:
            _grad_state.enabled = prev
        if not prev or not any(isinstance(a, Tensor) and a._requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)

        def fake_requires_grad(v):  # a leaf that requires grad, so the error node is recorded
            if not isinstance(v, Tensor) or v._data.dtype.kind not in GRAD_KINDS:
                return v
            leaf = v._new(v._data)
            leaf._requires_grad = True
            return leaf

        errored = _DelayedError.apply(*[fake_requires_grad(v) for v in
                                        ((outputs,) if single else outputs)])
        return errored[0] if single else errored

    return wrapper
