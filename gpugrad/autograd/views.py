"""Which tensors are differentiable views of which (the bookkeeping behind in-place autograd).

A view op (``view``, ``x[0]``, ``transpose``...) returns a tensor that shares memory with its
input. When an in-place op later writes through a view, or writes into a base that has live
views, the graph must change as PyTorch's does: the base's history becomes "old base with the
written region replaced" (``CopySlices``) and each live view that overlaps the written bytes
becomes "that region of the new base". ``ops/inplace.py`` does the rewriting; this module only
remembers, for each view made by a view op, its root (the tensor it ultimately views, through
other differentiable views) and the mode it was made in (``grad_mode.state.enabled``: True in
grad mode, False under no_grad, None in inference mode), and keeps on each root a registry (a
list) of weak references to its live views made in grad mode.

``detach()`` and ``.data`` share memory too but are not differentiable views: they are not
registered, so writing through them leaves the original's graph alone, as in PyTorch.
"""

from __future__ import annotations

import weakref

from .grad_mode import state as grad_state

_ref = weakref.ref

# ``_requires_grad`` of a view made outside grad mode (no_grad, inference mode) of a tensor that
# requires grad. PyTorch reports ``requires_grad=True`` for it and records the ops that use it in
# grad mode, but no gradient reaches it or its base: the edges to it are None (autograd/record.py
# makes them). An int, not True: truthy wherever ``_requires_grad`` decides recording, counted
# as 1 where the binary ops add up their inputs' needs, and told from True by ``is True``.
GRAD_DROPPED = 1
_FIRST_PRUNE = 64  # a root's registry drops its dead references when its length reaches a
# power of two from here on: amortized O(1) per view, bounded by twice the live views


def track(view, source):
    """Register ``view`` (just returned by a view op applied to ``source``); returns ``view``.

    Outputs that are copies (``reshape`` of a non-contiguous tensor) are left alone.
    """
    if view._base is None:
        return view
    enabled = grad_state.enabled
    if enabled:
        register(view, source)
        return view
    info = source._view_of  # ``live_views`` lists only views made in grad mode: no entry
    view._view_of = (source if info is None else info[0], enabled)
    if source._requires_grad:
        view._requires_grad = GRAD_DROPPED
    return view


def register(view, source) -> None:
    """``track`` in grad mode, for a ``view`` of ``source`` (also called by
    ``record.apply_view``, which records a view op's node in the same pass)."""
    info = source._view_of
    if info is None:
        root = source
        view._view_of = (source, True)
    else:  # a view of a view made under no_grad or in inference mode keeps that mode
        root = info[0]
        view._view_of = info
    views = root._views
    if views is None:
        root._views = [_ref(view)]
        return
    n = len(views)
    if n >= _FIRST_PRUNE and not n & (n - 1):
        views[:] = [ref for ref in views if ref() is not None]
    views.append(_ref(view))


def view_info(t):
    """``(root, mode)`` for a differentiable view (``mode``: True made in grad mode, False
under no_grad, None in inference mode), else None."""
    return t._view_of


def live_views(root):
    """The live differentiable views of ``root`` made in grad mode."""
    views = root._views
    if not views:
        return []
    out, kept = [], []
    for ref in views:
        v = ref()
        if v is None:
            continue
        kept.append(ref)
        info = v._view_of
        if info is not None and info[0] is root and info[1]:
            out.append(v)
    views[:] = kept
    return out


def forget(view) -> None:
    """Stop treating ``view`` as a view of its root (its memory no longer lies in the root's)."""
    info = view._view_of
    if info is not None:
        views = info[0]._views
        if views is not None:
            views[:] = [ref for ref in views if ref() is not view and ref() is not None]
        view._view_of = None
