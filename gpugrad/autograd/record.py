"""Recording: the one way a node gets on the tape, and the one way its saved values come back.

A node is an instance of a ``Function`` subclass. ``record`` gives it, for an op whose forward
has run: one edge per input (the node or leaf its gradient goes to, which output of it that is,
and the gradient's shape and dtype), the next sequence number on the tape, its place as
``grad_fn`` of the outputs, and the values it keeps for backward (each tensor as a Saved).
``Function.apply`` records through it; ``record_op`` (the elementwise ops of
``ops/elementwise.py``, ``ops/arithmetic.py``), ``record_unary`` (``Function.apply_unary``:
shape ops, indexing, reductions) and ``record_view`` (``Function.apply_view``: view ops, which
also register the view) are the same layout without its generality, and
``tests/autograd/test_record.py`` holds each equal to it. Nothing else lays out a node.

Backward reads the saved values back through ``saved_tensors`` (Tensors, for a differentiable
backward) or ``saved_arrays`` (raw arrays), both version-checked here.

Saved-tensor hooks (``autograd.graph.saved_tensors_hooks``) are applied in one place,
``_pack_hooked``: the recording functions go there only while ``hooks_on`` (a count of the threads
with hooks registered) is non-zero, so a step without hooks pays one global read per node.
"""

from __future__ import annotations

import itertools
import threading

from .. import _capture
from .._dtype import FLOAT_KINDS
from .views import register as _register_view

__all__ = ["record", "record_op", "record_unary", "record_view", "saved_arrays", "saved_tensors",
           "tape_position", "protect_saved_inputs", "retarget_saved_output", "FREED"]

_sequence = itertools.count()

Tensor = None  # set by gpugrad.tensor at import, to avoid an import cycle

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward."
)


# A saved value is a "Saved": the tuple (tensor, data, version counter, version, output_nr),
# made by ``_keep`` (inlined in ``record_op``) and read only by the functions of this module.
#  - an input is kept as the tensor itself (``tensor``; ``data`` None), so a differentiable
#    backward sees its history;
#  - one of the node's own outputs is kept as its array and version counter only (``tensor``
#    None, ``output_nr`` which output): the tensor points at the node, and the node must not
#    point back (a cycle only the garbage collector could free).
# Tuples, not objects: a node or two of these per op is most of what recording costs.
_TENSOR, _DATA, _VC, _VERSION, _OUTPUT_NR = range(5)


def _keep(t, outputs) -> tuple:
    """The Saved of tensor ``t`` for a node with ``outputs``."""
    vc = t._vc
    for i, o in enumerate(outputs):
        if t is o:
            return (None, t._data, vc, vc.value, i)
    return (t, None, vc, vc.value, None)


def _tensor(s, node):
    """A Saved's Tensor (version-checked): the input itself, or the output re-attached to
    ``node`` so that double backward sees it."""
    if s[_VC].value != s[_VERSION]:
        _raise_modified(s, node)
    t = s[_TENSOR]
    if t is not None:
        return t
    t = Tensor._make(s[_DATA], node._backend)
    t._vc = s[_VC]
    nr = s[_OUTPUT_NR]
    if nr in node._differentiable_outputs:
        t._requires_grad = True
        t.grad_fn, t._output_nr = node, nr
    return t


def _raise_modified(s, node) -> None:
    data = s[_DATA] if s[_TENSOR] is None else s[_TENSOR]._data
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{data.dtype} {list(data.shape)}], which is output 0 of {node.name()}, is "
        f"at version {s[_VC].value}; expected version {s[_VERSION]} instead."
    )


_new = object.__new__


# ------------------------------------------------------------------- saved-tensor hooks
class _SavedHooks(threading.local):
    stack = ()  # the (pack_hook, unpack_hook) pairs registered on this thread, innermost last
    disabled = None  # the error message while disable_saved_tensors_hooks is active


saved_hooks = _SavedHooks()
hooks_on = 0  # how many threads have saved-tensor hooks registered (autograd/graph.py counts)


class _Packed:
    """A value saved under a saved-tensor hook: what ``pack_hook`` returned, the
    ``unpack_hook`` that turns it back into a Tensor, and where that Tensor's gradient goes
    (``output_nr``: which output of the node it was; else ``source``, the input's history: its
    node and output, or the leaf itself). Never version-checked (as PyTorch's)."""

    __slots__ = ("packed", "unpack", "output_nr", "source")


def _pack_hooked(to_save, outputs) -> tuple:
    """The Saved of each tensor to save (a tensor or None), through this thread's innermost
    saved-tensor hooks when it has any (the only place a pack hook is called)."""
    hooks = saved_hooks.stack
    if not hooks:  # hooks on another thread only
        return tuple([None if v is None else _keep(v, outputs) for v in to_save])
    rec = _capture.recorder
    if rec is not None and not rec.suspended:
        rec.cannot_replay("a saved-tensor hook (autograd.graph.saved_tensors_hooks) ran: its "
                          "Python code cannot be replayed")
    pack, unpack = hooks[-1]
    saved = []
    for v in to_save:
        if v is None:
            saved.append(None)
            continue
        p = _Packed()
        p.unpack = unpack
        p.output_nr = next((i for i, o in enumerate(outputs) if v is o), None)
        if p.output_nr is not None or not v._requires_grad:
            p.source = None
        else:
            p.source = v if v.grad_fn is None else (v.grad_fn, v._output_nr)
        p.packed = pack(v)
        saved.append(p)
    return tuple(saved)


def _unpacked(p, node):
    """A ``_Packed``'s Tensor: what ``unpack_hook`` returns, re-attached to the history of the
    tensor that was saved (so that double backward reaches it)."""
    t = p.unpack(p.packed)
    if not isinstance(t, Tensor):
        raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got "
                        f"result of type {type(t).__name__}")
    out = Tensor._make(t._data, t._backend)
    nr, source = p.output_nr, p.source
    if nr is not None:
        if nr in node._differentiable_outputs:
            out._requires_grad = True
            out.grad_fn, out._output_nr = node, nr
    elif source.__class__ is tuple:
        out._requires_grad = True
        out.grad_fn, out._output_nr = source
    elif source is not None:  # a leaf: its gradient goes to the leaf itself
        from .graph import reattach_leaf

        out = reattach_leaf(source, out)
    return out


# ------------------------------------------------------------------------------ recording
def _edge(t) -> tuple:
    """The edge to input ``t`` (which requires grad): its node (or ``t`` itself, a leaf), which
    output of that node ``t`` is, and the shape and dtype of its gradient."""
    d = t._data
    fn = t.grad_fn
    return (t, 0, d.shape, d.dtype) if fn is None else (fn, t._output_nr, d.shape, d.dtype)


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


def record_unary(ctx, x, result) -> None:
    """``record`` for ``Function.apply_unary``: ``ctx`` ran forward on ``x`` (which requires
    grad; grad mode is on) and non-Tensor parameters (``len(ctx.needs_input_grad) - 1``), and
    returned ``result``, one fresh floating-point Tensor or a tuple of fresh Tensors (those not
    floating point, or marked non-differentiable, get no ``grad_fn``)."""
    d = x._data
    fn = x.grad_fn
    n = len(ctx.needs_input_grad) - 1
    edge = (x, 0, d.shape, d.dtype) if fn is None else (fn, x._output_nr, d.shape, d.dtype)
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
    meta, diff = [], []
    i = 0
    for o in result:
        d = o._data
        dtype = d.dtype
        meta.append((d.shape, dtype))
        if dtype.kind in FLOAT_KINDS:
            for t in non_diff:
                if t is o:
                    break
            else:
                o.grad_fn = ctx
                o._requires_grad = True
                o._output_nr = i
                diff.append(i)
        i += 1
    ctx._out_meta = tuple(meta)
    ctx._differentiable_outputs = tuple(diff)
    to_save = ctx._to_save
    if to_save:
        ctx._saved = _pack(to_save, result)
        ctx._to_save = ()


def record_view(ctx, x, result) -> None:
    """``record_unary`` for ``Function.apply_view``: ``result`` is one fresh floating-point
    Tensor, a view of ``x`` (or a copy where the layout allows no view) and nothing is saved;
    a view is registered as a differentiable view of ``x``'s root (``views.register``) in the
    same pass."""
    d = x._data
    fn = x.grad_fn
    n = len(ctx.needs_input_grad) - 1
    edge = (x, 0, d.shape, d.dtype) if fn is None else (fn, x._output_nr, d.shape, d.dtype)
    ctx._edges = (edge,) + _NO_EDGES[n] if n < 8 else (edge,) + (None,) * n
    ctx._seq = next(_sequence)
    ctx._backend = x._backend
    result.grad_fn = ctx
    result._requires_grad = True
    if result._base is not None:
        _register_view(result, x)


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
            if out._data.dtype.kind in FLOAT_KINDS:
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
            and o._data.dtype.kind in FLOAT_KINDS
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


# ------------------------------------------------------------------------ reading it back
def saved_arrays(node) -> list:
    """The node's saved values with tensors as their raw arrays (version-checked)."""
    saved = node._saved
    if saved is None:
        raise RuntimeError(FREED)
    arrays = []
    for s in saved:  # ``_array`` inlined: this runs for nearly every node of a backward
        if s.__class__ is tuple:
            if s[_VC].value != s[_VERSION]:
                _raise_modified(s, node)
            t = s[_TENSOR]
            arrays.append(s[_DATA] if t is None else t._data)
        elif s.__class__ is _Packed:
            arrays.append(_unpacked(s, node)._data)
        else:
            arrays.append(s)
    return arrays


def saved_tensors(node) -> tuple:
    """The node's saved values with tensors as Tensors (version-checked)."""
    saved = node._saved
    if saved is None:
        raise RuntimeError(FREED)
    return tuple([_tensor(s, node) if s.__class__ is tuple
                  else _unpacked(s, node) if s.__class__ is _Packed else s for s in saved])


# ------------------------------------------------------------------ in-place writes (ops)
def tape_position() -> int:
    """A mark on the tape: every node recorded after this call has a larger sequence number."""
    return next(_sequence)


def protect_saved_inputs(out, vc, since: int) -> None:
    """The nodes recorded after ``since`` that produced ``out`` and saved a tensor sharing the
    version counter ``vc`` (about to be overwritten in place) keep a copy of its values instead,
    with the same history (as PyTorch's in-place ops save ``original_self``)."""
    stack, seen = [out.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node._seq <= since or id(node) in seen:
            continue
        seen.add(id(node))
        if node._saved:
            node._saved = tuple(
                _keep(_copy_with_history(s[_TENSOR]), ())
                if s.__class__ is tuple and s[_TENSOR] is not None and s[_VC] is vc else s
                for s in node._saved
            )
        stack.extend(e[0] for e in node._edges if e is not None and not isinstance(e[0], Tensor))


def _copy_with_history(t):
    old = Tensor._make(t._data.copy(), t._backend)
    old.grad_fn, old._output_nr, old._requires_grad = t.grad_fn, t._output_nr, t._requires_grad
    return old


def retarget_saved_output(out, target) -> None:
    """``out``'s node saved ``out`` itself; ``target`` now holds the same values (an in-place
    op wrote them there): keep ``target``'s array and version instead, so that ``out``'s buffer
    is freed and a later write into ``target`` trips the version check."""
    node = out.grad_fn
    if node._saved:
        node._saved = tuple(
            (None, target._data, target._vc, target._vc.value, s[_OUTPUT_NR])
            if s.__class__ is tuple and s[_TENSOR] is None and s[_DATA] is out._data else s
            for s in node._saved
        )
