"""Saved values: how a node keeps what its backward needs, and gives it back.

``record.py`` lays out a node and keeps each tensor that forward saved as a Saved (below; its
recording paths build the tuples inline); this module holds the rest of their life:

- reading them back for backward, version-checked against in-place writes since:
  ``saved_tensors`` (Tensors, for a differentiable backward) and ``saved_arrays`` (raw arrays);
- saved-tensor hooks (``autograd.graph.saved_tensors_hooks``): ``_pack_hooked`` is the only
  place a pack hook is called (the recording paths go there only while ``record.hooks_on`` is
  non-zero) and ``_unpacked`` the only place an unpack hook is;
- in-place ops (``ops/_inplace_graph.py``): ``protect_saved_inputs`` and
  ``retarget_saved_output`` rewrite what recent nodes saved before a tensor is overwritten.
"""

from __future__ import annotations

import threading

from .. import _capture
from .inference import refuse_save

__all__ = ["saved_arrays", "saved_tensors", "protect_saved_inputs", "retarget_saved_output",
           "FREED", "saved_hooks"]

Tensor = None  # set by gpugrad.tensor at import (via the engine's bind)

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you "
    "call .backward() or autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors after calling "
    "backward."
)


# A saved value is a "Saved": the tuple (tensor, data, version counter, version, output_nr),
# made by ``_keep`` (inlined in ``record.py``'s recording paths) and read only here.
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
    """PyTorch's error: the variable's type and shape, the node whose output it is now (an
    input's current history, none for a leaf; an output's own node) named as PyTorch names it
    there, its version and the one saved."""
    from .._dtype import SCALAR_TYPE_NAMES, from_numpy_dtype

    t = s[_TENSOR]
    data, fn, nr = ((s[_DATA], node, s[_OUTPUT_NR]) if t is None
                    else (t._data, t.grad_fn, t._output_nr))
    device = ".cuda" if node._backend.name == "cuda" else ""
    kind = f"gpugrad{device}.{SCALAR_TYPE_NAMES[from_numpy_dtype(data.dtype).name]}Tensor"
    name = "" if fn is None else fn.name().replace("Backward", "")
    name = name[:-1] if name.endswith("0") else name  # (MulBackward0: "Mul")
    source = "" if fn is None else f", which is output {nr} of {name},"
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace "
        f"operation: [{kind} {list(data.shape)}]{source} is at version {s[_VC].value}; expected "
        f"version {s[_VERSION]} instead. Hint: enable anomaly detection to find the operation "
        "that failed to compute its gradient, with "
        "gpugrad.autograd.set_detect_anomaly(True, check_nan=False)."
    )


# ------------------------------------------------------------------- saved-tensor hooks
class _SavedHooks(threading.local):
    stack = ()  # the (pack_hook, unpack_hook) pairs registered on this thread, innermost last
    disabled = None  # the error message while disable_saved_tensors_hooks is active


saved_hooks = _SavedHooks()


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
        refuse_save(v)  # (the unhooked saves refuse when they read its counter)
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
