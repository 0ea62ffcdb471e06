"""``torch.autograd.graph``: hooks on what the graph saves, hooks on several gradients at once,
and ``Node``, the type every ``grad_fn`` is an instance of.

Saved-tensor hooks live on a per-thread stack (``record.saved_hooks``); the node being recorded
packs each tensor it saves with the innermost pair, and unpacks it with the same pair whenever
backward (or ``ctx.saved_tensors``) reads it, whatever is registered by then.
"""

from __future__ import annotations

import abc
import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from . import engine as _engine
from . import record as _record
from . import saved as _saved
from .function import Function
from .node import AccumulateGrad

__all__ = ["Node", "saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks",
           "register_multi_grad_hook", "increment_version", "GradientEdge",
           "get_gradient_edge"]

_count_lock = threading.Lock()


class Node(abc.ABC):
    """What ``tensor.grad_fn`` is: a node of the backward graph. Every gpugrad node (a built-in
    op's, a custom ``Function``'s, ``AccumulateGrad``) is an instance, by ``isinstance``."""

    @abc.abstractmethod
    def name(self) -> str:
        """The node's name, e.g. ``MulBackward0``."""

    @property
    @abc.abstractmethod
    def next_functions(self) -> tuple:
        """One ``(node, output_nr)`` per input."""

    @property
    @abc.abstractmethod
    def metadata(self) -> dict:
        """A dict for the user's own annotations of this node."""

    @abc.abstractmethod
    def register_hook(self, fn):
        """Register a hook on the node's gradients."""

    @abc.abstractmethod
    def register_prehook(self, fn):
        """Register a hook called before the node runs."""

    @classmethod
    def __subclasshook__(cls, C):
        if cls is Node and (C is AccumulateGrad or (
                issubclass(C, Function) and C.__dict__.get("_forward_cls") is not None)):
            return True
        return NotImplemented


# --------------------------------------------------------------------- saved-tensor hooks
class saved_tensors_hooks:
    """Context manager: every tensor a node saves for backward while it is active is passed to
    ``pack_hook(tensor)``, and what that returns (anything) is kept instead; when backward
    needs the tensor, ``unpack_hook(packed)`` must return it (a Tensor with the same values).
    Nested contexts: the innermost pair applies. The pair that applies is the one active when
    the node was recorded."""

    def __init__(self, pack_hook: Callable, unpack_hook: Callable):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        hooks = _saved.saved_hooks
        if hooks.disabled is not None:
            raise RuntimeError(hooks.disabled)
        _set_stack(hooks.stack + ((self.pack_hook, self.unpack_hook),))
        return self

    def __exit__(self, *exc) -> None:
        _set_stack(_saved.saved_hooks.stack[:-1])


def _set_stack(stack: tuple) -> None:
    """Set this thread's hook stack, keeping ``record.hooks_on`` the count of threads with one."""
    hooks = _saved.saved_hooks
    change = bool(stack) - bool(hooks.stack)
    hooks.stack = stack
    if change:
        with _count_lock:
            _record.hooks_on += change


class save_on_cpu(saved_tensors_hooks):
    """Saved-tensor hooks that keep each saved tensor on the host and copy it back to its
    device when backward reads it (trading device memory for copies).

    Args:
        pin_memory: copy into a fresh host buffer (gpugrad does not pin host memory; without
            it, a tensor already on the host is kept as it is).
        device_type: accepted for PyTorch compatibility.
    """

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        def pack_to_cpu(tensor):
            host = tensor.detach().cpu()
            if pin_memory and host._data is tensor._data:
                host = host.clone()
            return tensor.device, host

        def unpack_from_cpu(packed):
            device, host = packed
            return host.to(device)

        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str):
    """Context manager: registering saved-tensor hooks inside it (or entering it while hooks are
    registered) raises ``RuntimeError(error_message)``."""
    hooks = _saved.saved_hooks
    if hooks.stack:
        raise RuntimeError(error_message)
    previous = hooks.disabled
    hooks.disabled = error_message
    try:
        yield
    finally:
        hooks.disabled = previous


def reattach_leaf(leaf, values):
    """``values`` (a Tensor equal to ``leaf``, unpacked from a saved-tensor hook) as a tensor
    whose gradient goes to ``leaf``: an identity node when grad mode records (double backward),
    else ``values`` itself."""
    return _Unpacked.apply(leaf, values)


class _Unpacked(Function):
    """Identity from ``values`` with the gradient routed to ``leaf``."""

    node_name = "UnpackedSavedTensorBackward"

    @staticmethod
    def forward(ctx, leaf, values):
        return values.detach()

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None


# ------------------------------------------------------------------------ multi-grad hooks
class _MultiHandle:
    """What ``register_multi_grad_hook`` returns: ``remove()`` takes all its hooks out."""

    def __init__(self, handles):
        self.handles = tuple(handles)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def register_multi_grad_hook(tensors: Sequence, fn: Callable, *, mode: str = "all"):
    """Call ``fn`` on the gradients of several tensors in one backward pass.

    ``mode="all"``: ``fn(grads)`` once per backward in which at least one of them gets a
    gradient, with one entry per tensor (None for those this backward does not compute);
    called when the backward pass has computed them all. ``mode="any"``: ``fn(grad)`` with the
    first of their gradients computed in each backward. Returns a handle with ``remove()``.
    """
    if mode not in ("all", "any"):
        raise ValueError(f"Expects mode to be one of ('all', 'any') but got {mode}")
    tensors = tuple(tensors)
    count = len(tensors)
    lock = threading.Lock()
    if mode == "any":
        last = [None]  # the backward pass fn last ran in (held: its id cannot be reused)

        def any_hook(grad):
            task = _engine.current_task()
            with lock:
                if last[0] is task:
                    return
                last[0] = task
            fn(grad)

        return _MultiHandle([t.register_hook(any_hook) for t in tensors if t.requires_grad])

    buffers: dict = {}  # a backward pass -> the gradients it computed so far

    def hook_at(i):
        def hook(grad):
            task = _engine.current_task()
            with lock:
                grads = buffers.get(task)
                if grads is None:
                    grads = buffers[task] = [None] * count
                    task.callbacks.append(lambda: fn(buffers.pop(task)))
                grads[i] = grad

        return hook

    return _MultiHandle([t.register_hook(hook_at(i)) for i, t in enumerate(tensors)
                         if t.requires_grad])


def increment_version(tensor) -> None:
    """Bump the version counter of ``tensor`` (or of each tensor of an iterable), as an
    in-place write would: saved copies of it then fail the version check in backward."""
    from ..tensor import Tensor

    for t in (tensor,) if isinstance(tensor, Tensor) else tuple(tensor):
        t._vc.value += 1


# ------------------------------------------------------------------------------ gradient edges
class GradientEdge(NamedTuple):
    """A place in the graph where a gradient arrives: output ``output_nr`` of ``node`` (a
    recorded node, or a leaf's ``AccumulateGrad``). ``autograd.grad`` and ``autograd.backward``
    take one where they take a tensor: as an input, its gradient is what reaches that place; as
    an output, backward starts there (with the gradient given for it)."""

    node: Any
    output_nr: int
    ownership_token: Any = None  # (PyTorch's keeps a C++ graph alive; Python's refs do here)


def get_gradient_edge(tensor) -> GradientEdge:
    """The edge where ``tensor``'s gradient is computed: ``autograd.grad(loss, edge)`` gives
    what ``autograd.grad(loss, tensor)`` gives, and the edge needs no reference to ``tensor``."""
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    if tensor.grad_fn is None:
        return GradientEdge(AccumulateGrad.of(tensor), 0)
    return GradientEdge(tensor.grad_fn, tensor._output_nr)


def tensor_at(edge: GradientEdge, data=None):
    """A tensor standing at ``edge``, for the engine, which takes tensors: a leaf's edge is
    the leaf; a node's edge a tensor whose ``grad_fn`` is that node, holding ``data`` (the
    gradient given for it, where it is an output) or nothing (an input: only its place is
    read)."""
    node = edge.node
    if isinstance(node, AccumulateGrad):
        return node.variable
    backend = node._backend
    t = _engine.Tensor._make(backend.xp.empty((0,)) if data is None else data, backend)
    t.grad_fn, t._output_nr, t._requires_grad = node, edge.output_nr, True
    return t
