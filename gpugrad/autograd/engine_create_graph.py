"""The backward pass on Tensors, under ``create_graph=True``.

Every op of the backward pass is recorded, so the gradients can be differentiated again. Nodes
run in the same order as on the array path (``engine._run_arrays``: the newest ready node off a
max-heap of sequence numbers); each calls its ``backward`` written with Tensor ops.
"""

from __future__ import annotations

import heapq

from . import anomaly_mode as _anomaly
from .engine_hooks import _capture_keys, _check_reducible, _node_extras
from .node import checked_grads

Tensor = None  # set by gpugrad.tensor at import (via the engine's bind)


def _run_tensors(roots, grad_roots, retain_graph: bool, inputs):
    """The backward pass on Tensors under ``create_graph=True``: every op of the backward pass
    is recorded, so the gradients can be differentiated again."""
    pending: dict[int, list] = {}  # id(node) -> [node, [grad per output]]
    leaf_grads: dict[int, list] = {}  # id(leaf) -> [leaf, grad]
    heap: list = []
    fresh_ids = {id(g._data) for g in grad_roots}
    capture = _capture_keys(inputs)
    check_nan = _anomaly.state.enabled and _anomaly.state.check_nan
    for t, g in zip(roots, grad_roots):
        _send(t.grad_fn or t, t._output_nr, g, pending, leaf_grads, heap)

    while heap:
        node = heapq.heappop(heap)[1]
        grads = pending.pop(id(node))[1]
        if node._hooked or capture is not None:
            _node_extras(node, grads, capture, fresh_ids)
        if node._n_outputs != 1 or grads[0] is None:
            grads = _fill_missing(node, grads)
        in_grads = checked_grads(node, node.backward(node, *grads))
        if check_nan:
            _anomaly.check_gradients(node, in_grads)
        for edge, g in zip(node._edges, in_grads):
            if edge is None or g is None:
                continue
            target, nr, shape, dtype = edge
            if g._data.shape != shape:
                _check_reducible(g._data.shape, edge, node)
                g = g.sum_to_size(shape)
            if g._data.dtype != dtype:
                if g._data.dtype.kind == "c" and dtype.kind != "c":
                    g = g.real  # (as engine._cast_grad)
                g = g.to(_dtype_of(dtype))
            _send(target, nr, g, pending, leaf_grads, heap)
        if not retain_graph:
            node._release()
    return leaf_grads, capture, fresh_ids


def _send(target, nr, g, pending, leaf_grads, heap) -> None:
    """Add gradient ``g`` for output ``nr`` of ``target`` (a node, or a leaf tensor)."""
    if isinstance(target, Tensor):
        entry = leaf_grads.get(id(target))
        if entry is None:
            leaf_grads[id(target)] = [target, g]
        else:
            entry[1] = entry[1] + g
        return
    entry = pending.get(id(target))
    if entry is None:
        grads = [None] * target._n_outputs
        grads[nr] = g
        pending[id(target)] = [target, grads]
        heapq.heappush(heap, (-target._seq, target))
        return
    grads = entry[1]
    grads[nr] = g if grads[nr] is None else grads[nr] + g


def _dtype_of(np_dtype):
    from .._dtype import from_numpy_dtype

    return from_numpy_dtype(np_dtype)


def _fill_missing(node, grads):
    """Zeros for outputs that got no gradient (unless the Function asked for None)."""
    if not node._materialize_grads:
        return grads
    out = []
    for g, meta in zip(grads, node._out_meta or ((None, None),)):
        if g is None and meta is not None and meta[0] is not None:
            backend = _any_backend(grads, node)
            g = Tensor._make(backend.xp.zeros(meta[0], meta[1]), backend)
        out.append(g)
    return out


def _any_backend(grads, node):
    for g in grads:
        if g is not None:
            return g._backend
    for edge in node._edges:
        if edge is not None:
            return edge[0]._backend if isinstance(edge[0], Tensor) else None
    from ..backend import cpu_backend

    return cpu_backend()
