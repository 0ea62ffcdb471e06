"""The backward engine: replays the recorded tape in reverse.

Nodes carry increasing sequence numbers in creation order, so a node always comes after its
inputs. Backward pops the newest ready node from a max-heap, so every node runs once, after all
its consumers have sent their gradients, without recursion or a separate topological sort.

The engine owns the rules every op would otherwise repeat: summing gradients from several
consumers, reducing broadcast gradients to the input's shape, casting to the input's dtype,
checking the number and shapes of gradients, hooks, retain_grad, and freeing saved tensors.

This module holds the entry point (``run_backward``) and the common pass, on raw arrays
(``_run_arrays``); ``engine_create_graph`` holds the pass on Tensors (``create_graph=True``),
and ``engine_hooks`` the steps both passes share: hooks, retain_grad, the gradients
``autograd.grad`` captures, and the accumulation into ``.grad``.
"""

from __future__ import annotations

import heapq
import sys
import threading

import numpy as np

from . import anomaly_mode as _anomaly
from . import engine_create_graph as _create_graph
from . import engine_hooks as _hooks
from . import function as _function
from . import leaf_hooks as _leaf_hooks
from . import node as _node
from . import record as _record
from . import saved as _saved
from . import sparse_grad as _sparse_grad
from .engine_create_graph import _run_tensors
from .engine_hooks import (
    _accumulate,
    _capture_keys,
    _check_reducible,
    _node_extras,
    _run_tensor_hooks,
)
from .grad_mode import state as _grad_state

Tensor = None  # set by gpugrad.tensor


class _Seeds(threading.local):
    unit = ()  # the implicit all-ones gradients of the backward running on this thread
    task = None  # the backward running on this thread: _UNASKED, or its _Task once asked for


_seeds = _Seeds()
_UNASKED = "a backward pass whose task no hook has asked for"


class _Task:
    """One backward pass, as hooks see it: ``callbacks`` run (in order) when it has finished."""

    __slots__ = ("callbacks",)

    def __init__(self):
        self.callbacks = []


def current_task() -> _Task:
    """The backward pass running on this thread (the innermost, if a hook started another);
    made when first asked for, so that a backward without such hooks pays nothing for it."""
    task = _seeds.task
    if task is None:
        raise RuntimeError("no backward pass is running on this thread")
    if task is _UNASKED:
        task = _seeds.task = _Task()
    return task


def is_unit_seed(grad) -> bool:
    """Whether ``grad``, an array a node's array backward received, is the all-ones gradient
    that ``backward()`` made for a scalar output (no gradient given): the backward may skip
    multiplying by it, on any device and without reading its value. By identity: the seed, or
    the very array a backward passed on unchanged from it; never a computed array of ones."""
    for seed in _seeds.unit:
        if grad is seed:
            return True
    return False


def run_backward(roots, grad_roots, retain_graph: bool, create_graph: bool, inputs=None,
                 accumulate: bool = True, allow_unused: bool = True, unit_seeds=()):
    """Backpropagate from ``roots`` (tensors) seeded with ``grad_roots`` (tensors).

    With ``accumulate``, leaf gradients go into ``.grad`` (``backward``); otherwise the gradients
    of ``inputs`` are returned (``autograd.grad``). Without ``create_graph`` gradients travel as
    raw arrays (``_run_arrays``), wrapped in Tensors only where user code sees them; with it they
    are Tensors throughout, so the backward pass is itself recorded (``_run_tensors``).
    ``unit_seeds``: the arrays of ``grad_roots`` that are implicit all-ones seeds
    (``is_unit_seed``). The callbacks that hooks queued on the pass's task
    (``register_multi_grad_hook``) run once it has finished.
    """
    prev_mode, prev_seeds, prev_task = _grad_state.enabled, _seeds.unit, _seeds.task
    _grad_state.enabled = None if prev_mode is None else create_graph  # (inference mode)
    _seeds.task = _UNASKED
    try:
        try:
            if create_graph:
                leaf_grads, captured, fresh_ids = _run_tensors(roots, grad_roots, retain_graph,
                                                               inputs)
            else:
                _seeds.unit = unit_seeds
                watch = _leaf_hooks.plan(roots, inputs) if accumulate else None
                leaf_grads, captured, fresh_ids = _run_arrays(roots, grad_roots, retain_graph,
                                                              inputs, watch)
            if accumulate:
                wanted = None if inputs is None else {id(t) for t in inputs}
                for entry in leaf_grads.values():
                    if wanted is None or id(entry[0]) in wanted:
                        _finish_leaf(entry, create_graph, fresh_ids)
        finally:
            _grad_state.enabled = prev_mode
            _seeds.unit = prev_seeds
        results = None if accumulate else _grad_results(
            inputs, leaf_grads, captured, fresh_ids, create_graph, allow_unused)
    finally:
        task, _seeds.task = _seeds.task, prev_task
    if task is not _UNASKED:
        for callback in task.callbacks:
            callback()
    return results


def _grad_results(inputs, leaf_grads, captured, fresh_ids, create_graph, allow_unused) -> tuple:
    """``autograd.grad``'s result: the gradient of each of ``inputs`` (Tensors or None)."""
    results = []
    for index, t in enumerate(inputs):
        if t.grad_fn is not None:
            g = captured[(id(t.grad_fn), t._output_nr)]
            g = None if g is None else _as_tensor(g, t)
        else:
            entry = leaf_grads.get(id(t))
            g = None if entry is None else _run_tensor_hooks(t._hooks, _as_tensor(entry[1], t))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"The differentiated Tensor at index {index} appears to not have been used in "
                "the graph. Set allow_unused=True if this is the desired behavior."
            )
        if g is not None and not g.is_sparse:  # (a sparse one is made fresh from its arrays)
            if not create_graph and id(g._data) in fresh_ids:
                g = Tensor._make(g._data.copy(), g._backend)
            else:
                fresh_ids.add(id(g._data))
        results.append(g)
    return tuple(results)


def _as_tensor(g, like):
    """A gradient as a Tensor: arrays (from ``_run_arrays``) are wrapped on ``like``'s
    backend, a leaf's sparse gradient made a sparse tensor."""
    if isinstance(g, Tensor):
        return g
    if g.__class__ is _sparse_grad.SparseGrad:
        return g.tensor(like._backend)
    return Tensor._make(g, like._backend)


def _add_leaf_grads(backend, a, b):
    """The sum of two gradients sent to one leaf (either may be sparse)."""
    if a.__class__ is _sparse_grad.SparseGrad or b.__class__ is _sparse_grad.SparseGrad:
        return _sparse_grad.add(backend, a, b)
    return backend.binary("add", a, b)


def _run_arrays(roots, grad_roots, retain_graph: bool, inputs, watch=None):
    """The backward pass on raw arrays (no ``create_graph``): the common, fast path.

    Nodes of built-in ops compute on arrays (``Function._array_backward``); other nodes, hooks
    and retain_grad get their gradients wrapped in Tensors. Leaves with post-accumulate hooks
    (``watch``, from ``leaf_hooks.plan``) are finished as soon as their last consumer has run.
    Returns the other leaves' gradients (id -> [leaf, array]), the captured gradients of non-leaf
    ``inputs``, and the ids of arrays handed out already.
    """
    pending: dict[int, object] = {}  # id(node) -> gradient array, or a list for several outputs
    leaf_grads: dict[int, list] = {}  # id(leaf) -> [leaf, gradient array]
    heap: list = []
    fresh_ids = {id(g._data) for g in grad_roots}  # handed out already: the next holder copies
    capture = _capture_keys(inputs)
    for t, g in zip(roots, grad_roots):
        target = t.grad_fn or t
        _send_array(target, t._output_nr, g._data, pending, leaf_grads, heap)

    heappop, heappush, tensor_cls = heapq.heappop, heapq.heappush, Tensor  # locals: hot loop
    ndarray = np.ndarray
    heappushpop = heapq.heappushpop
    check_nan = _anomaly.state.enabled and _anomaly.state.check_nan
    # The first node a step makes pending waits in ``ready`` instead of the heap: in a chain it
    # is the next to run, and skipping the heap saves a push and a pop per node.
    ready = None
    while True:
        if ready is not None:
            node = heappushpop(heap, (-ready._seq, ready))[1] if heap else ready
            ready = None
        elif heap:
            node = heappop(heap)[1]
        else:
            break
        g = pending.pop(id(node))
        if node._hooked or capture is not None:
            g = _array_node_extras(node, g, capture, fresh_ids)
        if node._n_outputs == 1:
            in_grads = node._array_backward(g)
        else:
            in_grads = node._array_backward(*_fill_missing_arrays(node, g))
        if check_nan:
            _anomaly.check_gradients(node, in_grads)
        for edge, g in zip(node._edges, in_grads):
            if edge is None or g is None:
                continue
            target, nr, shape, dtype = edge
            if g.__class__ is not ndarray and isinstance(g, np.generic):
                g = np.asarray(g)  # NumPy math on 0-d arrays returns scalars: keep an array
            # g lives where target's output does: on target's backend (a node's or a leaf's).
            if g.shape != shape:
                g = _array_to_shape(g, edge, node, target._backend)
            # NumPy's built-in dtypes are singletons: ``is`` settles the common case cheaply.
            if g.dtype is not dtype and g.dtype != dtype:
                g = _cast_grad(g, dtype)
            if isinstance(target, tensor_cls):
                entry = leaf_grads.get(id(target))
                if entry is None:
                    leaf_grads[id(target)] = [target, g]
                else:
                    entry[1] = _add_leaf_grads(target._backend, entry[1], g)
            elif target._n_outputs == 1:
                key = id(target)
                old = pending.get(key)
                if old is None:
                    pending[key] = g
                    if ready is None:
                        ready = target
                    else:
                        heappush(heap, (-target._seq, target))
                else:
                    pending[key] = target._backend.binary("add", old, g)
            else:
                _send_array(target, nr, g, pending, leaf_grads, heap)
        if not retain_graph:
            node._saved = None  # frees what backward needed (Function._release)
        if watch and watch[-1][0] >= node._seq:
            in_grads = g = old = None  # no stale reference may make a gradient look shared
            _finish_reached(watch, node._seq, leaf_grads, fresh_ids)
    return leaf_grads, capture, fresh_ids


def _cast_grad(g, dtype):
    """A gradient in its input's dtype; a real input of an op that computed in complex numbers
    takes the real part (the imaginary one is the gradient of no real variable)."""
    if g.dtype.kind == "c" and dtype.kind != "c":
        g = g.real
    return g.astype(dtype)


def _finish_reached(watch, seq: int, leaf_grads, fresh_ids) -> None:
    """Finish the hooked leaves whose consumers have all run (their smallest seq is >= seq)."""
    while watch and watch[-1][0] >= seq:
        entry = leaf_grads.pop(id(watch.pop()[1]), None)
        if entry is not None:  # None: every gradient sent to the leaf was None
            _finish_leaf(entry, False, fresh_ids)


def _finish_leaf(entry, create_graph: bool, fresh_ids) -> None:
    """A leaf's tensor hooks, the accumulation into ``.grad``, then its post-accumulate hooks."""
    leaf, g = entry
    post_hooks = leaf._post_accumulate_hooks
    if post_hooks and not create_graph:
        entry[1] = None  # count only the references outside this entry
        if sys.getrefcount(g) > _leaf_hooks.SOLE_REFERENCE_COUNT:
            fresh_ids.add(id(g))  # another holder can see the array: ``.grad`` gets a copy
    g = _run_tensor_hooks(leaf._hooks, _as_tensor(g, leaf))
    _accumulate(leaf, g, create_graph, fresh_ids)
    if post_hooks:
        _leaf_hooks.run(leaf)


def _send_array(target, nr, g, pending, leaf_grads, heap) -> None:
    """Add gradient array ``g`` for output ``nr`` of ``target`` (a node, or a leaf tensor)."""
    backend = target._backend
    if isinstance(target, Tensor):
        entry = leaf_grads.get(id(target))
        if entry is None:
            leaf_grads[id(target)] = [target, g]
        else:
            entry[1] = _add_leaf_grads(backend, entry[1], g)
        return
    key = id(target)
    old = pending.get(key)
    if target._n_outputs == 1:
        if old is None:
            pending[key] = g
            heapq.heappush(heap, (-target._seq, target))
        else:
            pending[key] = backend.binary("add", old, g)
        return
    if old is None:
        old = pending[key] = [None] * target._n_outputs
        heapq.heappush(heap, (-target._seq, target))
    old[nr] = g if old[nr] is None else backend.binary("add", old[nr], g)


def _array_to_shape(g, edge, node, backend):
    """A broadcast gradient summed back to the shape of its input (``edge``'s), after checking
    it can be."""
    _check_reducible(g.shape, edge, node)
    return backend.sum_to_shape(g, edge[2])


def _fill_missing_arrays(node, grads):
    """Zeros for outputs that got no gradient (unless the Function asked for None)."""
    if not node._materialize_grads:
        return grads
    xp = node._backend.xp
    return [xp.zeros(meta[0], meta[1]) if g is None and meta is not None else g
            for g, meta in zip(grads, node._out_meta)]


def _array_node_extras(node, g, capture, fresh_ids):
    """Hooks, retain_grad and capture of a node's outputs, on Tensors wrapping the arrays."""
    single = node._n_outputs == 1
    backend = node._backend
    arrays = (g,) if single else g
    grads = [Tensor._make(x, backend) if x is not None else None for x in arrays]
    if node._hooked and _seeds.unit:  # a hook may write into a seed: no longer trust it
        _seeds.unit = [s for s in _seeds.unit if not any(s is x for x in arrays)]
    _node_extras(node, grads, capture, fresh_ids)
    arrays = [None if t is None else t._data for t in grads]
    return arrays[0] if single else arrays


def bind(tensor_cls) -> None:
    global Tensor
    Tensor = tensor_cls
    _create_graph.Tensor = tensor_cls
    _hooks.Tensor = tensor_cls
    _function.Tensor = tensor_cls
    _node.Tensor = tensor_cls
    _record.Tensor = tensor_cls
    _saved.Tensor = tensor_cls
    _leaf_hooks.Tensor = tensor_cls
