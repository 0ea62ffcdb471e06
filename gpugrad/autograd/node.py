"""The graph-node side of a ``Function``: what users and the engine see of a recorded node.

``GraphNode`` is a base of ``Function``: a node's name (``MulBackward0``), ``next_functions``,
``metadata``, its hooks (``register_prehook``, ``register_hook``, the tensor hooks and
retain_grad of its outputs) and the freeing of its saved values. Also here: ``AccumulateGrad``
(what ``next_functions`` shows for a leaf), the ``RemovableHandle`` every hook registration
returns, and ``checked_grads``, the check of what a backward returned.
"""

from __future__ import annotations

import weakref

Tensor = None  # set by gpugrad.tensor at import (via the engine's bind)


class GraphNode:
    """Introspection and hooks of a recorded node (a ``Function`` instance; see the module
    docstring). The defaults of the fields these read (``_pre_hooks``, ``_retained``,
    ``_hooked``, ``_saved``...) are ``Function``'s class attributes."""

    @classmethod
    def name(cls) -> str:
        return cls._node_cls._full_name

    def __repr__(self) -> str:
        return f"<{self.name()} object at {hex(id(self))}>"

    @property
    def next_functions(self) -> tuple:
        """One ``(node, output_nr)`` per tensor input, in PyTorch's order: ``(None, 0)`` for an
        input that needs no gradient, an ``AccumulateGrad`` node for a leaf."""
        out = []
        for i in self._grad_slots():
            edge = None if i is None else self._edges[i]
            if edge is None:
                out.append((None, 0))
            elif isinstance(edge[0], Tensor):
                out.append((AccumulateGrad.of(edge[0]), 0))
            else:
                out.append((edge[0], edge[1]))
        return tuple(out)

    @property
    def metadata(self) -> dict:
        """A dict for the user's own annotations of this node."""
        return self.__dict__.setdefault("_metadata", {})

    def register_prehook(self, fn):
        """Call ``fn(grad_outputs)`` before this node's backward runs (after its outputs' tensor
        hooks), with one gradient (or None) per output; a tuple it returns replaces them.
        Returns a handle with ``remove()``."""
        return self._add_pre_hook(None, fn)

    def register_hook(self, fn):
        """Call ``fn(grad_inputs, grad_outputs)`` after this node's backward has run, with one
        gradient (or None) per entry of ``next_functions`` and one per output; a tuple it
        returns replaces ``grad_inputs``. Returns a handle with ``remove()``."""
        hooks = self.__dict__.get("_post_hooks")
        if hooks is None:
            hooks = self._post_hooks = []
            # Instance attributes shadow the class's backward for this node only: the engine
            # calls them as it calls the class's, and nodes without hooks pay nothing.
            self.backward = _hooked_backward
            self._array_backward = _hooked_array_backward(weakref.ref(self))
        hooks.append(fn)
        return RemovableHandle(hooks, fn)

    def _grad_slots(self) -> list:
        """The argument position (or None) of each entry of ``next_functions``."""
        slots = self._next_inputs
        if slots is None:
            slots = self._input_slots
        if slots is None:
            slots = [i for i, need in enumerate(self.needs_input_grad) if type(need) is bool]
        return list(slots)

    def _add_pre_hook(self, output_nr: int, fn):
        if self._pre_hooks is None:
            self._pre_hooks = {}
            self._hooked = True
        hooks = self._pre_hooks.setdefault(output_nr, [])
        hooks.append(fn)
        return RemovableHandle(hooks, fn)

    def _retain(self, output_nr: int, tensor) -> None:
        if self._retained is None:
            self._retained = {}
            self._hooked = True
        self._retained[output_nr] = weakref.ref(tensor)

    def _release(self) -> None:
        """Free what backward needed (called after backward unless retain_graph)."""
        self._saved = None


def _run_post_hooks(node, in_grads, grad_outputs) -> tuple:
    """A node's post hooks (``register_hook``) on its input gradients, one per edge (Tensors or
    None); returns them, as the hooks replaced them."""
    slots = node._grad_slots()
    for hook in tuple(node._post_hooks):
        grad_inputs = tuple(None if i is None else in_grads[i] for i in slots)
        result = hook(grad_inputs, tuple(grad_outputs))
        if result is None:
            continue
        if len(result) != len(slots):
            raise RuntimeError(f"hook of {node.name()} returned {len(result)} gradients, "
                               f"expected {len(slots)}")
        in_grads = list(in_grads)
        for i, g in zip(slots, result):
            if i is not None:
                in_grads[i] = g
    return tuple(in_grads)


def _hooked_backward(node, *grads):
    """``backward`` of a node with post hooks (on Tensors: create_graph)."""
    in_grads = checked_grads(node, type(node).backward(node, *grads))
    return _run_post_hooks(node, in_grads, grads)


def _hooked_array_backward(ref):
    """``_array_backward`` of a node with post hooks: its gradients wrapped for the hooks."""
    def array_backward(*grads):
        node = ref()
        backend = node._backend
        in_grads = type(node)._array_backward(node, *grads)
        wrapped = [None if g is None or e is None else Tensor._make(g, e[0]._backend)
                   for g, e in zip(in_grads, node._edges)]
        outs = [None if g is None else Tensor._make(g, backend) for g in grads]
        in_grads = _run_post_hooks(node, wrapped, outs)
        return tuple(None if g is None else g._data for g in in_grads)

    return array_backward


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: the node accumulating into ``variable.grad``.
    A leaf has one while anything holds it (the same object each time it is asked for)."""

    next_functions = ()

    def __init__(self, variable):
        self.variable = variable

    @classmethod
    def of(cls, variable) -> AccumulateGrad:
        ref = variable.__dict__.get("_accumulator")
        node = ref() if ref is not None else None
        if node is None:
            node = cls(variable)
            variable.__dict__["_accumulator"] = weakref.ref(node)  # weak: no cycle
        return node

    @property
    def metadata(self) -> dict:
        return self.__dict__.setdefault("_metadata", {})

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {hex(id(self))}>"


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: list, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        try:
            self._hooks.remove(self._fn)
        except ValueError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def checked_grads(node, in_grads) -> tuple:
    """A backward's result as a tuple, after checking the count and that each is a Tensor."""
    if in_grads.__class__ is not tuple:
        in_grads = (in_grads,)
    edges = node._edges
    if len(in_grads) != len(edges):
        if len(in_grads) < len(edges) or any(g is not None for g in in_grads[len(edges):]):
            raise RuntimeError(
                f"function {node.name()} returned an incorrect number of gradients "
                f"(expected {len(edges)}, got {len(in_grads)})"
            )
    slots = getattr(node, "_input_slots", None)  # a user Function's tensor arguments
    for i, (edge, g) in enumerate(zip(edges, in_grads)):
        if g is None:
            continue
        if slots is not None and i not in slots:
            raise RuntimeError(
                f"function {node.name()} returned a gradient different than None at position "
                f"{i + 1}, but the corresponding forward input was not a Variable"
            )
        if edge is not None and not isinstance(g, Tensor):
            raise TypeError(
                f"function {node.name()} returned a gradient of type "
                f"{type(g).__name__}, expected a Tensor or None"
            )
    return in_grads
