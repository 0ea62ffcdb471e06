"""Recording a node: its edges to the inputs' nodes, its sequence number on the tape, the
tensors it saved for backward. ``Function.apply`` records through ``record_outputs`` and
``record_single`` (``record_dirty`` when forward called ``mark_dirty``); built-in float ops
record directly with ``edge_to`` and ``record_node``."""

from __future__ import annotations

import itertools

__all__ = ["edge_to", "record_dirty", "record_first", "record_node", "record_outputs",
           "record_single"]

_sequence = itertools.count()

Tensor = None  # set by gpugrad.tensor at import, to avoid an import cycle


class _SavedOutput:
    """A saved output of the node itself, kept as data to avoid a tensor -> node -> tensor cycle."""

    __slots__ = ("data", "backend", "vc", "version", "output_nr")

    def __init__(self, t, output_nr):
        self.data, self.backend, self.vc = t._data, t._backend, t._vc
        self.version, self.output_nr = t._vc.value, output_nr


def _own_output(r, args):
    """Outputs must be fresh tensors: an input returned as-is is wrapped in a new alias."""
    if r is None or not isinstance(r, Tensor):
        return r
    for a in args:
        if r is a:
            return r._alias()
    if r.grad_fn is not None or r._requires_grad:
        return r._alias()
    return r


def edge_to(t) -> tuple:
    """The edge from a new node to input ``t`` (which requires grad): its node (or ``t`` itself
    for a leaf), which output of that node ``t`` is, and the shape and dtype of its gradient."""
    d = t._data
    fn = t.grad_fn
    return (t, 0, d.shape, d.dtype) if fn is None else (fn, t._output_nr, d.shape, d.dtype)


def record_node(cls, needs_input_grad: tuple, edges: tuple, out):
    """Record a built-in op's node whose forward has already run, for its one fresh float
    output ``out``; the caller fills ``_saved`` (the fast path of ``apply``)."""
    node = object.__new__(cls._node_cls)
    node.needs_input_grad = needs_input_grad
    node._edges = edges
    node._seq = next(_sequence)
    node._backend = out._backend
    out.grad_fn = node
    out._requires_grad = True
    return node


def record_single(ctx, args, out) -> None:
    """``record_outputs`` for a built-in op's one fresh output (the hot path)."""
    if ctx._non_differentiable or out._data.dtype.kind != "f":
        record_outputs(ctx, args, (out,))
        return
    edges = []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            d = a._data
            fn = a.grad_fn
            edges.append((a, 0, d.shape, d.dtype) if fn is None
                         else (fn, a._output_nr, d.shape, d.dtype))
        else:
            edges.append(None)
    ctx._edges = tuple(edges)
    ctx._seq = next(_sequence)
    ctx._backend = out._backend
    out.grad_fn = ctx
    out._requires_grad = True
    to_save = ctx._to_save
    if to_save:
        ctx._saved = tuple([
            None if t is None else _SavedOutput(t, 0) if t is out else (t, t._vc.value)
            for t in to_save
        ])
        ctx._to_save = ()


_NO_EDGES = tuple((None,) * n for n in range(8))


def record_first(ctx, x, n_params: int, out) -> None:
    """``record_single`` for ``Function.apply_unary``: the only Tensor argument is ``x``, first,
    and it requires grad; ``n_params`` arguments follow it."""
    if ctx._non_differentiable or out._data.dtype.kind != "f":
        record_outputs(ctx, (x,) + (None,) * n_params, (out,))
        return
    d = x._data
    fn = x.grad_fn
    edge = (x, 0, d.shape, d.dtype) if fn is None else (fn, x._output_nr, d.shape, d.dtype)
    ctx._edges = (edge,) + (_NO_EDGES[n_params] if n_params < 8 else (None,) * n_params)
    ctx._seq = next(_sequence)
    ctx._backend = out._backend
    out.grad_fn = ctx
    out._requires_grad = True
    to_save = ctx._to_save
    if to_save:
        ctx._saved = tuple([
            None if t is None else _SavedOutput(t, 0) if t is out else (t, t._vc.value)
            for t in to_save
        ])
        ctx._to_save = ()


def record_outputs(ctx, args, outputs) -> None:
    """Attach ``ctx`` as grad_fn of the outputs, build its edges, pack the saved tensors."""
    edges = []
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            fn = a.grad_fn
            if fn is None:
                edges.append((a, 0, a._data.shape, a._data.dtype))
            else:
                edges.append((fn, a._output_nr, a._data.shape, a._data.dtype))
        else:
            edges.append(None)
    ctx._edges = tuple(edges)
    ctx._seq = next(_sequence)
    # The backend of the outputs: where the gradients arriving at this node live (``to()``
    # moves a tensor between devices, so it is not always the inputs').
    backend = None
    for o in outputs:
        if isinstance(o, Tensor):
            backend = o._backend
            break
    ctx._backend = backend

    non_diff = ctx._non_differentiable
    n = len(outputs)
    if n != 1 or non_diff:
        ctx._n_outputs = n
        meta, diff = [], []
        for i, o in enumerate(outputs):
            if not isinstance(o, Tensor):
                meta.append(None)
                continue
            d = o._data
            meta.append((d.shape, d.dtype))
            if d.dtype.kind == "f":
                for t in non_diff:
                    if o is t:
                        break
                else:
                    diff.append(i)
        ctx._out_meta = tuple(meta)
        ctx._differentiable_outputs = tuple(diff)
    elif outputs[0] is None or outputs[0]._data.dtype.kind != "f":
        ctx._differentiable_outputs = ()
    for i in ctx._differentiable_outputs:
        o = outputs[i]
        o.grad_fn = ctx
        o._requires_grad = True
        if i:
            o._output_nr = i

    to_save = ctx._to_save
    if to_save:
        saved = []
        for t in to_save:
            if t is None:
                saved.append(None)
                continue
            for i, o in enumerate(outputs):
                if t is o:
                    saved.append(_SavedOutput(t, i))
                    break
            else:
                saved.append((t, t._vc.value))
        ctx._saved = tuple(saved)
        ctx._to_save = ()


def record_dirty(ctx, args, result, record: bool):
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
        record_outputs(ctx, args, outputs)  # the edges read the inputs' old history first
        for i, o in enumerate(outputs):
            if o.grad_fn is ctx:
                o._output_nr = i  # a dirtied input may have been another node's output 1
    return outputs if result.__class__ is tuple else outputs[0]
