"""Recording: the one way a node gets on the tape.

A node is an instance of a ``Function`` subclass. ``record`` gives it, for an op whose forward
has run: one edge per input (the node or leaf its gradient goes to, which output of it that is,
and the gradient's shape and dtype), the next sequence number on the tape, its place as
``grad_fn`` of the outputs, and the values it keeps for backward (each tensor as a Saved).
``Function.apply`` records through it; ``record_op`` (the elementwise ops of
``ops/elementwise.py``, ``ops/arithmetic.py``), ``record_unary`` (``Function.apply_unary``:
shape ops, indexing, reductions) and ``apply_view`` (``ViewFunction.apply_view``: view ops, run,
recorded and registered in one function) are the same layout without its generality, and
``tests/autograd/test_record.py`` holds each equal to it. Nothing else lays out a node.

Backward reads the saved values back through ``saved_tensors`` (Tensors, for a differentiable
backward) or ``saved_arrays`` (raw arrays), both version-checked, in ``saved.py``, with the
rest of what happens to a Saved after recording (re-exported here).

Saved-tensor hooks (``autograd.graph.saved_tensors_hooks``) are applied in one place,
``saved._pack_hooked``: the recording functions go there only while ``hooks_on`` (a count of the
threads with hooks registered) is non-zero, so a step without hooks pays one global read per
node.
"""

from __future__ import annotations

import itertools

from .._dtype import GRAD_KINDS
from .grad_mode import state as grad_state
from .saved import (  # (the rest of what happens to a Saved; the public names importable here)
    FREED,
    _pack_hooked,
    protect_saved_inputs,
    retarget_saved_output,
    saved_arrays,
    saved_tensors,
)
from .saved import saved_hooks as saved_hooks
from .views import GRAD_DROPPED
from .views import register as _register_view

__all__ = ["record", "record_op", "record_unary", "apply_view", "saved_arrays", "saved_tensors",
           "tape_position", "protect_saved_inputs", "retarget_saved_output", "FREED"]

_sequence = itertools.count()

Tensor = None  # set by gpugrad.tensor at import, to avoid an import cycle

hooks_on = 0  # how many threads have saved-tensor hooks registered (autograd/graph.py counts)

_new = object.__new__


# ------------------------------------------------------------------------------ recording
def _edge(t) -> tuple | None:
    """The edge to input ``t`` (which requires grad): its node (or ``t`` itself, a leaf), which
    output of that node ``t`` is, and the shape and dtype of its gradient; None for a view made
    outside grad mode (``views.GRAD_DROPPED``: its gradient goes nowhere)."""
    d = t._data
    fn = t.grad_fn
    if fn is None:
        return (t, 0, d.shape, d.dtype) if t._requires_grad is True else None
    return (fn, t._output_nr, d.shape, d.dtype)


def _pack(to_save, outputs) -> tuple:
    """The Saved of each tensor to save (a tensor or None)."""
    if hooks_on:
        return _pack_hooked(to_save, outputs)
    if len(outputs) == 1:  # most ops: ``_keep`` inlined
        out = outputs[0]
        return tuple([None if v is None else (None, v._data, v._vc, v._vc.value, 0) if v is out
                      else (v, None, v._vc, v._vc.value, None) for v in to_save])
    saved = []
    for v in to_save:  # ``_keep`` inlined
        if v is None:
            saved.append(None)
            continue
        vc = v._vc
        i = 0
        for o in outputs:
            if v is o:
                saved.append((None, v._data, vc, vc.value, i))
                break
            i += 1
        else:
            saved.append((v, None, vc, vc.value, None))
    return tuple(saved)


def record_op(cls, inputs: tuple, needs: tuple, out, saved: tuple = ()):
    """Record a node of ``cls`` for a built-in unary or binary op whose forward already made
    ``out``, one fresh floating-point Tensor, from ``inputs`` (one or two: Tensors or numbers)
    of which those flagged in ``needs`` require grad (at least one; grad mode is on).
    ``saved``, what backward reads: ``(x,)`` or ``(y,)`` for a unary op (its input or its
    output), ``(a, b, out)`` for a binary one (each or None). Returns the node.

    This is ``record`` for the ops of every training step, without the generality that custom
    Functions need (several or non-differentiable outputs, arguments of any kind).
    """
    node = _new(cls._node_cls)
    node.needs_input_grad = needs
    if len(inputs) == 1:
        node._edges = (_edge(inputs[0]),)
    else:
        a, b = inputs
        node._edges = (_edge(a) if needs[0] else None, _edge(b) if needs[1] else None)
    node._seq = next(_sequence)
    node._backend = out._backend
    out.grad_fn = node
    out._requires_grad = True
    if hooks_on and saved:
        node._saved = _pack_hooked(saved, (out,))
    elif len(saved) == 1:  # a unary op: its input or its output
        v = saved[0]
        vc = v._vc
        node._saved = ((None, v._data, vc, vc.value, 0) if v is out
                       else (v, None, vc, vc.value, None),)
    elif saved:  # a binary op: its inputs a and b, and its output, each or None
        a, b, o = saved
        node._saved = (None if a is None else (a, None, a._vc, a._vc.value, None),
                       None if b is None else (b, None, b._vc, b._vc.value, None),
                       None if o is None else (None, o._data, o._vc, o._vc.value, 0))
    return node


_NO_EDGES = tuple((None,) * n for n in range(8))
# needs_input_grad of a one-tensor op (apply_unary, apply_view): the tensor, then its
# parameters (never inputs: marked 0, as Function.apply marks a built-in op's non-tensor
# arguments); or nothing recorded
FIRST_NEEDS = tuple((True,) + (0,) * n for n in range(8))
NO_NEEDS = tuple((False,) * (n + 1) for n in range(8))


def record_unary(ctx, x, result) -> None:
    """``record`` for ``Function.apply_unary``: ``ctx`` ran forward on ``x`` (which requires
    grad; grad mode is on) and non-Tensor parameters (``len(ctx.needs_input_grad) - 1``), and
    returned ``result``, one fresh floating-point Tensor or a tuple of fresh Tensors (those not
    floating point, or marked non-differentiable, get no ``grad_fn``)."""
    d = x._data
    fn = x.grad_fn
    n = len(ctx.needs_input_grad) - 1
    if fn is not None:
        edge = (fn, x._output_nr, d.shape, d.dtype)
    else:  # a leaf; or a view made outside grad mode, whose gradient goes nowhere (_edge)
        edge = (x, 0, d.shape, d.dtype) if x._requires_grad is True else None
    ctx._edges = (edge,) + _NO_EDGES[n] if n < 8 else (edge,) + (None,) * n
    ctx._seq = next(_sequence)
    ctx._backend = x._backend
    if result.__class__ is not tuple:  # one output: saves are the input or the output
        result.grad_fn = ctx
        result._requires_grad = True
        to_save = ctx._to_save
        if to_save:
            ctx._saved = _pack_hooked(to_save, (result,)) if hooks_on else tuple([
                None if v is None else (None, v._data, v._vc, v._vc.value, 0) if v is result
                else (v, None, v._vc, v._vc.value, None) for v in to_save])
            ctx._to_save = ()
        return
    # several outputs (max along a dim, split, unbind): plain loops, no generator per output
    non_diff = ctx._non_differentiable
    ctx._n_outputs = len(result)
    ctx._out_meta = tuple([(o._data.shape, o._data.dtype) for o in result])
    diff = []
    i = 0
    for o in result:
        if o._data.dtype.kind in GRAD_KINDS:
            for t in non_diff:
                if t is o:
                    break
            else:
                o.grad_fn = ctx
                o._requires_grad = True
                o._output_nr = i
                diff.append(i)
        i += 1
    ctx._differentiable_outputs = (0,) if diff == [0] else tuple(diff)
    to_save = ctx._to_save
    if to_save:
        ctx._saved = _pack(to_save, result)
        ctx._to_save = ()


class _Unrecorded:
    """What a view op's ``view_array`` writes its backward fields on when no node is
    recorded: one shared object that nothing reads (it holds shapes and keys, never arrays)."""


_UNRECORDED = _Unrecorded()


def apply_view(cls, x, *params):
    """``ViewFunction.apply_view``: the view op ``cls`` on ``x`` and its non-Tensor ``params``,
    in one pass: its array (``cls.view_array``), the Tensor that views ``x`` (``Tensor._view``),
    its node when ``x`` requires grad in grad mode (``record_unary``'s layout for one output
    that saves nothing) and its registration (``views.track``). Written out in one function
    because views are a third of the ops of a model run one small tensor at a time;
    tests/autograd/test_record.py holds it equal to ``Function.apply`` then ``views.track``."""
    t = _new(Tensor)
    t._backend = backend = x._backend
    t._vc = x._vc
    base = x._base
    t._base = x if base is None else base
    enabled = grad_state.enabled  # (read once: a thread-local's attribute costs ~60 ns)
    if x._requires_grad and enabled:
        n = len(params)
        d = x._data
        ctx = _new(cls._node_cls)
        ctx.needs_input_grad = FIRST_NEEDS[n] if n < 8 else (True,) + (0,) * n
        t._data = cls.view_array(ctx, x, params)
        fn = x.grad_fn
        if fn is not None:
            edge = (fn, x._output_nr, d.shape, d.dtype)
        else:  # (as _edge)
            edge = (x, 0, d.shape, d.dtype) if x._requires_grad is True else None
        ctx._edges = (edge,) + _NO_EDGES[n] if n < 8 else (edge,) + (None,) * n
        ctx._seq = next(_sequence)
        ctx._backend = backend
        t.grad_fn = ctx
        t._requires_grad = True
        _register_view(t, x)
        return t
    t._data = cls.view_array(_UNRECORDED, x, params)
    t.grad_fn = None
    t._requires_grad = False
    if enabled:
        _register_view(t, x)
    else:  # (views.track outside grad mode: no entry in the root's registry)
        info = x._view_of
        t._view_of = (x if info is None else info[0], enabled)  # (False, or None: inference)
        if x._requires_grad:
            t._requires_grad = GRAD_DROPPED
    return t


def record(ctx, inputs: tuple, outputs: tuple) -> None:
    """Record ``ctx`` (a ``Function`` instance whose forward ran on ``inputs``) as the node of
    ``outputs``, keeping what forward passed to ``save_for_backward``.

    Outputs marked non-differentiable, and outputs that are not floating point, get no
    ``grad_fn``; ``None`` or non-Tensor outputs are allowed (custom Functions).
    """
    edges = []
    for a in inputs:  # (a loop, not a comprehension: this runs for every op)
        edges.append(_edge(a) if isinstance(a, Tensor) and a._requires_grad else None)
    ctx._edges = tuple(edges)
    ctx._seq = next(_sequence)
    # ``_backend``: where the gradients arriving at this node live, the outputs' backend
    # (``to()`` moves a tensor between devices, so it is not always the inputs').
    non_diff = ctx._non_differentiable
    if len(outputs) == 1 and not non_diff:  # most ops: one output
        out = outputs[0]
        if isinstance(out, Tensor):
            ctx._backend = out._backend
            if out._data.dtype.kind in GRAD_KINDS:
                out.grad_fn = ctx
                out._requires_grad = True
            else:
                ctx._differentiable_outputs = ()
        else:
            ctx._differentiable_outputs = ()
    else:
        ctx._backend = next((o._backend for o in outputs if isinstance(o, Tensor)), None)
        ctx._n_outputs = len(outputs)
        ctx._out_meta = tuple(
            (o._data.shape, o._data.dtype) if isinstance(o, Tensor) else None for o in outputs
        )
        ctx._differentiable_outputs = diff = tuple(
            i for i, o in enumerate(outputs)
            if isinstance(o, Tensor) and not any(o is t for t in non_diff)
            and o._data.dtype.kind in GRAD_KINDS
        )
        for i in diff:
            o = outputs[i]
            o.grad_fn = ctx
            o._requires_grad = True
            o._output_nr = i
    to_save = ctx._to_save
    if to_save:
        ctx._saved = _pack(to_save, outputs)
        ctx._to_save = ()


# ------------------------------------------------------- in-place writes (ops; the rest: saved.py)
def tape_position() -> int:
    """A mark on the tape: every node recorded after this call has a larger sequence number."""
    return next(_sequence)
