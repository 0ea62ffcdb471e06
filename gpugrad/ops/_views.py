"""Which tensors are differentiable views of which (the bookkeeping behind in-place autograd).

A view op (``view``, ``x[0]``, ``transpose``...) returns a tensor that shares memory with its
input. When an in-place op later writes through a view, or writes into a base that has live
views, the graph must change as PyTorch's does: the base's history becomes "old base with the
written region replaced" (``CopySlices``) and each live view that overlaps the written bytes
becomes "that region of the new base". ``ops/inplace.py`` does the rewriting; this module only
remembers, for each view made by a view op, its root (the tensor it ultimately views, through
other differentiable views) and whether grad mode was on when it was made, and keeps on each
root a registry of weak references to its live views.

``detach()`` and ``.data`` share memory too but are not differentiable views: they are not
registered, so writing through them leaves the original's graph alone, as in PyTorch.
"""

from __future__ import annotations

import weakref

from ..autograd.grad_mode import state as grad_state

_PRUNE_EVERY = 64


def track(view, source):
    """Register ``view`` (just returned by a view op applied to ``source``); returns ``view``.

    Outputs that are copies (``reshape`` of a non-contiguous tensor) are left alone.
    """
    if view._base is None:
        return view
    info = source._view_of
    root = source if info is None else info[0]
    enabled = grad_state.enabled
    view._view_of = (root, enabled)
    if not enabled:  # ``live_views`` lists only views made in grad mode: no registry entry
        return view
    views = root._views
    if views is None:
        views = root._views = {}
    elif len(views) % _PRUNE_EVERY == 0:
        for key in [k for k, ref in views.items() if ref() is None]:
            del views[key]
    views[id(view)] = weakref.ref(view)
    return view


def view_info(t):
    """``(root, made_in_grad_mode)`` for a differentiable view, else None."""
    return t._view_of


def live_views(root):
    """The live differentiable views of ``root`` made in grad mode."""
    views = root._views
    if not views:
        return []
    out = []
    for key, ref in list(views.items()):
        v = ref()
        if v is None:
            del views[key]
        elif v._view_of is not None and v._view_of[0] is root and v._view_of[1]:
            out.append(v)
    return out


def forget(view) -> None:
    """Stop treating ``view`` as a view of its root (its memory no longer lies in the root's)."""
    info = view._view_of
    if info is not None:
        views = info[0]._views
        if views is not None:
            views.pop(id(view), None)
        view._view_of = None
