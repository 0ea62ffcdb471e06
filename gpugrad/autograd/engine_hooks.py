"""What both backward passes do to a gradient besides computing it.

The array pass (``engine._run_arrays``) and the Tensor pass under ``create_graph``
(``engine_create_graph``) share these steps: a node's tensor hooks, prehooks and retain_grad
(``_node_extras``), the gradients ``autograd.grad`` asked for (``_capture_keys``), the check that
a broadcast gradient can be summed back to its input's shape, and the accumulation into
``.grad`` (``_accumulate``), which never keeps memory another holder can write.
"""

from __future__ import annotations

from .grad_mode import state as _grad_state
from .inference import refuse_write

Tensor = None  # set by gpugrad.tensor at import (via the engine's bind)


def _capture_keys(inputs):
    """``autograd.grad``'s non-leaf inputs, as (node, output) keys whose gradient to keep."""
    if inputs is None:
        return None
    return {(id(t.grad_fn), t._output_nr): None for t in inputs if t.grad_fn is not None}


def _check_reducible(got, edge, node) -> None:
    """PyTorch's error for a gradient of shape ``got`` that does not sum to the shape of the
    input at ``edge`` (one of ``node``'s)."""
    shape = edge[2]
    nd = len(shape)
    if len(got) < nd or any(s != 1 and s != d for s, d in zip(shape, got[len(got) - nd:])):
        index = next(i for i, e in enumerate(node._edges) if e is edge)
        raise RuntimeError(
            f"Function {node.name()} returned an invalid gradient at index {index} - got "
            f"{list(got)} but expected shape compatible with {list(shape)}")


def _node_extras(node, grads, capture, fresh_ids) -> None:
    """Hooks and retain_grad of a node's outputs (may replace ``grads``' items); keeps the
    gradients ``autograd.grad`` asked for in ``capture``."""
    if node._hooked:
        _node_hooks(node, grads, fresh_ids)
    if capture is not None:
        for i, g in enumerate(grads):
            key = (id(node), i)
            if key in capture:
                capture[key] = g


def _run_tensor_hooks(hooks, g):
    if hooks:
        for hook in tuple(hooks):
            r = hook(g)
            if r is not None:
                _check_hook_result(hook, g, r)
                g = r
    return g


def _check_hook_result(hook, g, r) -> None:
    """PyTorch's checks of what a tensor hook returned in place of gradient ``g``: a tensor of
    ``g``'s size, dtype and device (anything else would reach the graph as a wrong gradient)."""
    if not isinstance(r, Tensor):
        raise TypeError(f"expected Variable, but hook returned '{type(r).__name__}'")
    name = getattr(hook, "__name__", type(hook).__name__)
    if tuple(r.shape) != tuple(g.shape):
        raise RuntimeError(f"hook '{name}' has changed the size of value")
    if r.dtype != g.dtype or r.device != g.device:
        raise RuntimeError(f"hook '{name}' has changed the type of value (was {g.type()} got "
                           f"{r.type()})")


def _node_hooks(node, grads, fresh_ids) -> None:
    """Tensor hooks and retain_grad of a non-leaf, on the complete gradient of each output."""
    pre_hooks = node._pre_hooks
    if pre_hooks:
        for nr, hooks in pre_hooks.items():
            if nr is not None and grads[nr] is not None:
                grads[nr] = _run_tensor_hooks(hooks, grads[nr])
    if node._retained:
        for nr, ref in node._retained.items():
            t = ref()
            if t is not None and grads[nr] is not None:
                _accumulate(t, grads[nr], _grad_state.enabled, fresh_ids)
    if pre_hooks and pre_hooks.get(None):  # the node's own (register_prehook), last
        for hook in tuple(pre_hooks[None]):
            result = hook(tuple(grads))
            if result is not None:
                if len(result) != len(grads):
                    raise RuntimeError(f"prehook of {node.name()} returned {len(result)} "
                                       f"gradients, expected {len(grads)}")
                grads[:] = result


def _accumulate(t, g, create_graph, fresh_ids) -> None:
    """Accumulate ``g`` into ``t.grad``; never keeps memory that another holder can write.
    A leaf that stopped requiring grad after the forward (frozen before ``backward``) gets
    nothing, as PyTorch's ``AccumulateGrad`` gives it."""
    if not t._requires_grad:
        return
    old = t._grad
    if create_graph:
        t._grad = g if old is None else old + g
        return
    if g.is_sparse:  # nn.Embedding(sparse=True)'s gradient (sparse_grad.py)
        from ..sparse._math import accumulate_grad

        accumulate_grad(t, g)
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
    if old.grad_fn is None and _writable(old._data):
        if old._vc.inference:  # a .grad made by a backward run in inference mode
            refuse_write(old)
        xp = old._backend.xp
        xp.add(old._data, data, out=old._data, casting="unsafe")
        old._vc.value += 1
    else:
        t._grad = Tensor._make(old._backend.binary("add", old._data, data), old._backend)


def _owns(arr) -> bool:
    return arr.base is None and _writable(arr) and arr.flags.c_contiguous


def _writable(arr) -> bool:
    # CuPy arrays have no read-only flag: they are always writable.
    return getattr(arr.flags, "writeable", True)
