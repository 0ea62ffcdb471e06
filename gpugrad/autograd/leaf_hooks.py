"""Post-accumulate-grad hooks, run the moment a leaf's gradient is complete during backward.

Without such hooks the engine accumulates every leaf's gradient into ``.grad`` when the pass
ends. A leaf with hooks (``Tensor.register_post_accumulate_grad_hook``) is finished earlier: nodes
run in decreasing sequence number, so once the engine has run the leaf's reachable consumer with
the smallest sequence number, no gradient can reach the leaf any more. Data-parallel training
starts averaging a gradient there, while the rest of backward still runs.

Finding those consumers takes one walk over the graph before the pass; the engine makes it only
while some tensor has such hooks.
"""

from __future__ import annotations

import sys
import weakref

from .node import RemovableHandle

Tensor = None  # set by gpugrad.tensor at import (via the engine's bind)

# Leaves that have (or had) post-accumulate hooks: the engine skips the walk while it is empty.
hooked_leaves: weakref.WeakSet = weakref.WeakSet()


def register(tensor, hook) -> RemovableHandle:
    """Add ``hook(tensor)`` to run after the gradient of leaf ``tensor`` is accumulated."""
    if not tensor._requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if tensor.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    if not callable(hook):
        raise TypeError(f"hook must be callable, got {type(hook).__name__}")
    hooks = tensor.__dict__.setdefault("_post_accumulate_hooks", [])
    hooks.append(hook)
    hooked_leaves.add(tensor)
    return RemovableHandle(hooks, hook)


def run(leaf) -> None:
    for hook in tuple(leaf._post_accumulate_hooks):
        hook(leaf)


def leaf_edges(roots):
    """Every (node, leaf) edge of the graph reachable from the tensors ``roots``."""
    seen: set[int] = set()
    stack = [t.grad_fn for t in roots if t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in node._edges:
            if edge is None:
                continue
            if isinstance(edge[0], Tensor):
                yield node, edge[0]
            else:
                stack.append(edge[0])


def reachable_leaves(roots) -> set[int]:
    """The ids of the leaves that a backward from ``roots`` can reach (roots that are leaves
    included)."""
    found = {id(t) for t in roots if t.grad_fn is None and t._requires_grad}
    found.update(id(leaf) for _, leaf in leaf_edges(roots))
    return found


def plan(roots, inputs):
    """The hooked leaves a pass from ``roots`` reaches, each with the smallest sequence number of
    its consumers, as a list sorted so that ``pop()`` gives the leaf to finish first; None when
    there are none (``inputs``: the only leaves ``backward(inputs=...)`` accumulates into)."""
    if not hooked_leaves:
        return None
    wanted = None if inputs is None else {id(t) for t in inputs}
    first: dict[int, list] = {}  # id(leaf) -> [smallest consumer seq, leaf]
    for node, leaf in leaf_edges(roots):
        if leaf._post_accumulate_hooks and (wanted is None or id(leaf) in wanted):
            entry = first.get(id(leaf))
            if entry is None:
                first[id(leaf)] = [node._seq, leaf]
            elif node._seq < entry[0]:
                entry[0] = node._seq
    return sorted(first.values(), key=lambda entry: entry[0]) or None


def _references_of_a_local() -> int:
    local = object()
    return sys.getrefcount(local)


# What ``sys.getrefcount(x)`` says inside a function when a local variable is the only reference
# to ``x``; measured rather than assumed, as interpreters count the call's own references
# differently. The engine compares a gradient array with it (see ``Engine._finish_leaf``).
SOLE_REFERENCE_COUNT = _references_of_a_local()
