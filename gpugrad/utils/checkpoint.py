"""Activation checkpointing (``torch.utils.checkpoint``): trade compute for memory by keeping a
segment's inputs instead of its intermediate results, and running the segment again in
backward.

How it works here: the segment runs once with grad mode on, so that its graph shows which
tensors it reads that require grad (its tensor arguments, and the parameters or other leaves it
reaches, e.g. a module's weights through a closure). That graph is then dropped, so its
intermediate results are freed as soon as the segment returns, and one node (``Checkpoint``)
stands for the whole segment, with those tensors as its inputs. Its backward runs the segment
again from the saved inputs (with the random state it had, so dropout draws the same masks) and
differentiates the new graph with ``autograd.grad``; the gradients then travel on through the
engine as any node's, so ``backward(inputs=...)`` and ``autograd.grad`` work in both modes.

In both variants the gradients reach the parameters the segment uses (PyTorch's reentrant
variant accumulates them into ``.grad`` during its backward; here they travel as the node's
inputs' gradients). As in PyTorch, with ``use_reentrant=True`` a segment none of whose arguments
requires grad runs without a graph (and warns).

Segments whose graph reaches a tensor made outside the segment (not a leaf, not an argument),
or that return something other than tensors or tuples and lists of tensors, keep their graph:
the gradients are right, but no memory is saved for them.
"""

from __future__ import annotations

import warnings

from ..autograd import grad as _autograd_grad
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..autograd.record import tape_position

__all__ = ["checkpoint", "checkpoint_sequential"]


def _tensor_cls():
    from ..tensor import Tensor

    return Tensor


class _RandomState:
    """The random state of the devices a segment runs on: restored for the recomputation.

    A CPU generator's state is read and written exactly (the caller's stream continues as if the
    segment ran once, as in PyTorch). A CUDA generator's state cannot be read (CuPy keeps it on
    the device), so the generator is reseeded from a value drawn from it before the segment, and
    again with that value before the recomputation: the segment sees the same numbers both
    times, and the stream after it is a deterministic function of the caller's seed.
    """

    def __init__(self, tensors):
        from .. import random
        from ..backend import get_backend

        self.cpu = random.get_rng_state()
        self.cuda = {}
        for t in tensors:
            if t.device.type == "cuda" and t.device not in self.cuda:
                backend = get_backend(t.device)
                from ..sampling import randint

                seed = int(randint(0, 2 ** 62, (1,), device=t.device).item())
                backend.manual_seed(seed)
                self.cuda[t.device] = (backend, seed)

    def restore(self):
        """Put the saved state back; returns a callable that undoes this (CPU only)."""
        from .. import random

        current = random.get_rng_state()
        random.set_rng_state(self.cpu)
        for backend, seed in self.cuda.values():
            backend.manual_seed(seed)
        return lambda: random.set_rng_state(current)


class Checkpoint(Function):
    """One node for a checkpointed segment; its backward recomputes the segment."""

    node_name = "CheckpointFunctionBackward"

    @staticmethod
    def forward(ctx, run, rng, n_args, outputs, *tensors):
        ctx.run, ctx.rng, ctx.n_args = run, rng, n_args
        ctx.save_for_backward(*tensors)
        # the values the segment already computed, outside any graph
        return tuple(o.detach() for o in outputs)

    @staticmethod
    def backward(ctx, *grads):
        create_graph = is_grad_enabled()  # (the engine turns grad mode on for create_graph)
        tensors = ctx.saved_tensors
        # Under create_graph the recomputation starts from the inputs themselves, so that the
        # gradients it returns carry their history (double backward); else from fresh leaves.
        args = tuple(t if create_graph else t.detach().requires_grad_(t.requires_grad)
                     for t in tensors[:ctx.n_args])
        others = tensors[ctx.n_args:]
        undo = ctx.rng.restore() if ctx.rng is not None else None
        try:
            with enable_grad():
                outputs = ctx.run(args)
        finally:
            if undo is not None:
                undo()
        wanted = [i for i, t in enumerate(args + others) if t.requires_grad]
        pairs = [(o, g) for o, g in zip(outputs, grads) if o.requires_grad and g is not None]
        result = [None] * len(tensors)
        if pairs and wanted:
            targets = args + others
            got = _autograd_grad([o for o, _ in pairs], [targets[i] for i in wanted],
                                 [g for _, g in pairs], allow_unused=True,
                                 create_graph=create_graph)
            for i, g in zip(wanted, got):
                result[i] = g
        return (None, None, None, None) + tuple(result)


def _segment_inputs(outputs, start: int, args):
    """The tensors that require grad which the segment's graph (its nodes recorded after
    ``start``) reaches: the arguments, then other leaves. None if it reaches a tensor made
    outside the segment that is neither (its graph must be kept)."""
    Tensor = _tensor_cls()
    arg_ids = {id(a) for a in args}
    arg_nodes = {id(a.grad_fn): a for a in args if a.grad_fn is not None}
    leaves, seen_leaves = [], set()
    stack = [o.grad_fn for o in outputs if o.grad_fn is not None]
    stack += [o for o in outputs if o.grad_fn is None and o.requires_grad]
    seen = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Tensor):  # a leaf
            if id(node) not in arg_ids and id(node) not in seen_leaves:
                seen_leaves.add(id(node))
                leaves.append(node)
            continue
        if node._seq <= start:  # made before the segment: must be an argument's
            if id(node) not in arg_nodes:
                return None
            continue
        for edge in node._edges:
            if edge is not None:
                stack.append(edge[0])
    return leaves


def _run_segment(function, args, kwargs, use_reentrant: bool, preserve_rng_state: bool,
                 context_fn):
    Tensor = _tensor_cls()
    if not is_grad_enabled():
        return function(*args, **kwargs)
    tensor_args = [a for a in args if isinstance(a, Tensor)]
    if use_reentrant and not any(a.requires_grad for a in tensor_args):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=3)
        with no_grad():
            return function(*args, **kwargs)
    rng = _RandomState(tensor_args) if preserve_rng_state else None
    forward_context, recompute_context = context_fn()
    start = tape_position()
    with forward_context:
        out = function(*args, **kwargs)
    single = isinstance(out, Tensor)
    outputs = (out,) if single else tuple(out) if isinstance(out, (tuple, list)) else None
    if outputs is None or not all(isinstance(o, Tensor) for o in outputs):
        return out  # (not tensors: the segment keeps its graph)
    leaves = _segment_inputs(outputs, start, tensor_args)
    if leaves is None:
        return out
    if not any(o.requires_grad for o in outputs):
        return out
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]

    def run(new_tensor_args):
        call_args = list(args)
        for i, t in zip(positions, new_tensor_args):
            call_args[i] = t
        with recompute_context:
            result = function(*call_args, **kwargs)
        return (result,) if isinstance(result, Tensor) else tuple(result)

    new = Checkpoint.apply(run, rng, len(tensor_args), outputs, *tensor_args, *leaves)
    for o, n in zip(outputs, new):
        if not o.requires_grad:  # an output the segment made without history stays so
            n.requires_grad_(False)
    if single:
        return new[0]
    return type(out)(new) if isinstance(out, list) else tuple(new)


def _noop_context_fn():
    import contextlib

    return contextlib.nullcontext(), contextlib.nullcontext()


def checkpoint(function, *args, use_reentrant: bool | None = None, context_fn=_noop_context_fn,
               determinism_check: str = "default", debug: bool = False,
               early_stop: bool = True, **kwargs):
    """Run ``function(*args, **kwargs)`` keeping only its inputs for backward, which runs it
    again to get the gradients (see the module docstring)."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be passed explicitly. "
            "Starting in PyTorch 2.9, calling checkpoint without use_reentrant will raise an "
            "exception. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve_rng_state = kwargs.pop("preserve_rng_state", True)
    if determinism_check not in ("default", "none"):
        raise ValueError(f"determinism_check should be one of ['default', 'none'], but got "
                         f"{determinism_check}")
    if use_reentrant:
        if context_fn is not _noop_context_fn or debug:
            raise ValueError("Passing `context_fn` or `debug` is only supported when "
                             "use_reentrant=False.")
        if kwargs:
            raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    return _run_segment(function, args, kwargs, use_reentrant, preserve_rng_state, context_fn)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool | None = None,
                          **kwargs):
    """Run a ``Sequential`` (or a list of modules or functions) in ``segments`` checkpointed
    segments; the last segment runs without checkpointing."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant parameter should be "
            "passed explicitly. In version 2.9 we will raise an exception if use_reentrant is not"
            " passed. use_reentrant=False is recommended, but if you need to preserve the "
            "current default behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(kwargs))
    from ..nn.modules.container import Sequential

    if isinstance(functions, Sequential):
        functions = list(functions.children())
    functions = list(functions)

    def run_range(begin, end):
        def forward(x):
            for j in range(begin, end + 1):
                x = functions[j](x)
            return x

        return forward

    size = len(functions) // segments
    end = -1
    for begin in range(0, size * (segments - 1), size):
        end = begin + size - 1
        input = checkpoint(run_range(begin, end), input, use_reentrant=use_reentrant,
                           preserve_rng_state=preserve)
    return run_range(end + 1, len(functions) - 1)(input)
