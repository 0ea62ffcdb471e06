"""The backward engine: replays the recorded tape in reverse.

Nodes carry increasing sequence numbers in creation order, so a node always comes after its
inputs. Backward pops the newest ready node from a max-heap, so every node runs once, after all
its consumers have sent their gradients, without recursion or a separate topological sort.

The engine owns the rules every op would otherwise repeat: summing gradients from several
consumers, reducing broadcast gradients to the input's shape, casting to the input's dtype,
checking the number and shapes of gradients, hooks, retain_grad, and freeing saved tensors.
"""

from __future__ import annotations

import heapq

from . import function as _function
from .grad_mode import state as _grad_state

Tensor = None  # set by gpugrad.tensor


def _as_tensor_grad(g, like):
    """Wrap a raw gradient array as a Tensor on ``like``'s backend."""
    return Tensor._make(g, like._backend)


def run_backward(roots, grad_roots, retain_graph: bool, create_graph: bool, inputs=None,
                 accumulate: bool = True, allow_unused: bool = True):
    """Backpropagate from ``roots`` (tensors) seeded with ``grad_roots`` (tensors).

    With ``accumulate``, leaf gradients go into ``.grad`` (``backward``); otherwise the gradients
    of ``inputs`` are returned (``autograd.grad``).
    """
    pending: dict[int, list] = {}  # id(node) -> [node, [grad per output]]
    leaf_grads: dict[int, list] = {}  # id(leaf) -> [leaf, grad]
    heap: list = []
    fresh_ids: set = set()  # arrays handed out already: the next holder must copy
    capture = None
    if inputs is not None:
        capture = {}
        for t in inputs:
            if t.grad_fn is not None:
                capture[(id(t.grad_fn), t._output_nr)] = None

    for t, g in zip(roots, grad_roots):
        fresh_ids.add(id(g._data))
        _send(t.grad_fn or t, t._output_nr, g, pending, leaf_grads, heap, create_graph)

    prev_mode = _grad_state.enabled
    _grad_state.enabled = create_graph
    heappop, send, tensor_cls = heapq.heappop, _send, Tensor  # locals: the loop is hot
    try:
        while heap:
            node = heappop(heap)[1]
            entry = pending.pop(id(node))
            grads = entry[1]
            if node._pre_hooks or node._retained:
                _node_hooks(node, grads, fresh_ids)
            if capture is not None:
                for i, g in enumerate(grads):
                    key = (id(node), i)
                    if key in capture:
                        capture[key] = g
            if node._n_outputs != 1 or grads[0] is None:
                grads = _fill_missing(node, grads)
            in_grads = node.backward(node, *grads)
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
                if edge is None or g is None:
                    continue
                target, nr, shape, dtype = edge
                if not isinstance(g, tensor_cls):
                    raise TypeError(
                        f"function {node.name()} returned a gradient of type "
                        f"{type(g).__name__}, expected a Tensor or None"
                    )
                data = g._data
                if data.shape != shape:
                    g = _reduce_to_shape(g, shape, node)
                    data = g._data
                # NumPy's built-in dtypes are singletons: ``is`` settles the common case cheaply.
                if data.dtype is not dtype and data.dtype != dtype:
                    g = g.to(_dtype_of(dtype))
                send(target, nr, g, pending, leaf_grads, heap, create_graph)
            if not retain_graph:
                node._release()
    finally:
        _grad_state.enabled = prev_mode

    if accumulate:
        wanted = None if inputs is None else {id(t) for t in inputs}
        for leaf, g in leaf_grads.values():
            if wanted is not None and id(leaf) not in wanted:
                continue
            g = _run_tensor_hooks(leaf._hooks, g)
            _accumulate(leaf, g, create_graph, fresh_ids)
        return None

    results = []
    for t in inputs:
        if t.grad_fn is not None:
            g = capture[(id(t.grad_fn), t._output_nr)]
        else:
            entry = leaf_grads.get(id(t))
            g = None if entry is None else _run_tensor_hooks(t._hooks, entry[1])
        if g is None and not allow_unused:
            raise RuntimeError(
                "One of the differentiated Tensors appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior."
            )
        if g is not None and not create_graph and id(g._data) in fresh_ids:
            g = Tensor._make(g._data.copy(), g._backend)
        elif g is not None:
            fresh_ids.add(id(g._data))
        results.append(g)
    return tuple(results)


def _send(target, nr, g, pending, leaf_grads, heap, create_graph) -> None:
    """Add gradient ``g`` for output ``nr`` of ``target`` (a node, or a leaf tensor)."""
    if isinstance(target, Tensor):
        entry = leaf_grads.get(id(target))
        if entry is None:
            leaf_grads[id(target)] = [target, g]
        else:
            entry[1] = _add(entry[1], g, create_graph)
        return
    entry = pending.get(id(target))
    if entry is None:
        grads = [None] * target._n_outputs
        grads[nr] = g
        pending[id(target)] = [target, grads]
        heapq.heappush(heap, (-target._seq, target))
        return
    grads = entry[1]
    grads[nr] = g if grads[nr] is None else _add(grads[nr], g, create_graph)


def _add(a, b, create_graph):
    if create_graph:
        return a + b
    return Tensor._make(a._backend.binary("add", a._data, b._data), a._backend)


def _reduce_to_shape(g, shape, node):
    data = g._data
    nd = len(shape)
    if data.ndim < nd or any(
        s != 1 and s != d for s, d in zip(shape, data.shape[data.ndim - nd:])
    ):
        raise RuntimeError(
            f"Function {node.name()} returned an invalid gradient - got shape "
            f"{list(data.shape)} but expected shape compatible with {list(shape)}"
        )
    if _grad_state.enabled:  # create_graph: stay differentiable
        return g.sum_to_size(shape)
    return Tensor._make(g._backend.sum_to_shape(data, shape), g._backend)


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


def _run_tensor_hooks(hooks, g):
    if hooks:
        for hook in tuple(hooks):
            r = hook(g)
            if r is not None:
                g = r
    return g


def _node_hooks(node, grads, fresh_ids) -> None:
    """Tensor hooks and retain_grad of a non-leaf, on the complete gradient of each output."""
    if node._pre_hooks:
        for nr, hooks in node._pre_hooks.items():
            if grads[nr] is not None:
                grads[nr] = _run_tensor_hooks(hooks, grads[nr])
    if node._retained:
        for nr, ref in node._retained.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                _accumulate(t, grads[nr], _grad_state.enabled, fresh_ids)


def _accumulate(t, g, create_graph, fresh_ids) -> None:
    """Accumulate ``g`` into ``t.grad``; never keeps memory that another holder can write."""
    old = t._grad
    if create_graph:
        t._grad = g if old is None else old + g
        return
    data = g._data
    if old is None:
        # Steal the array only when nothing else can see it: a fresh, owning, writable array.
        if id(data) in fresh_ids or not _owns(data):
            data = data.copy()
        fresh_ids.add(id(data))
        t._grad = Tensor._make(data, g._backend) if data is not g._data or g.grad_fn else g
        return
    # In place, as PyTorch: whoever holds the old ``.grad`` tensor sees the sum too.
    if old.grad_fn is None and old._data.flags.writeable:
        xp = old._backend.xp
        xp.add(old._data, data, out=old._data, casting="unsafe")
        old._vc.value += 1
    else:
        t._grad = Tensor._make(old._backend.binary("add", old._data, data), old._backend)


def _owns(arr) -> bool:
    return arr.base is None and arr.flags.writeable and arr.flags.c_contiguous


def bind(tensor_cls) -> None:
    global Tensor
    Tensor = tensor_cls
    _function.Tensor = tensor_cls
