"""Reverse-mode autograd: ``backward``, ``grad``, ``Function``, grad modes, ``gradcheck``."""

from __future__ import annotations

from .._warnings import warn_user_once
from .anomaly_mode import (
    detect_anomaly,
    is_anomaly_check_nan_enabled,
    is_anomaly_enabled,
    set_detect_anomaly,
)
from .engine import run_backward
from .function import Function, FunctionCtx, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .node import AccumulateGrad
from .variable import Variable

__all__ = [
    "backward", "grad", "Function", "FunctionCtx", "once_differentiable", "no_grad",
    "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
    "is_inference_mode_enabled", "gradcheck", "gradgradcheck", "GradcheckError", "Variable",
    "detect_anomaly", "set_detect_anomaly", "functional", "graph",
]


def _as_tuple(x):
    """One tensor (or ``GradientEdge``) as a 1-tuple, any other iterable as the tuple of its
    items, as PyTorch reads ``outputs``, ``inputs`` and their gradients: a generator such as
    ``model.parameters()``, ``dict.values()`` or a ``ParameterList`` are taken too."""
    from ..tensor import Tensor

    if x is None:
        return None
    if isinstance(x, (Tensor, graph.GradientEdge)):
        return (x,)
    return tuple(x)


def _inputs_at_edges(inputs):
    """``inputs`` with each ``GradientEdge`` replaced by the tensor standing at it."""
    return tuple(graph.tensor_at(t) if isinstance(t, graph.GradientEdge) else t for t in inputs)


def _outputs_at_edges(outputs, grads, batched: bool = False) -> tuple:
    """``outputs`` with each ``GradientEdge`` replaced by the tensor standing at it, which
    holds the gradient given for it (a node's output shapes are not recorded: it must be
    given, unless the edge is a leaf's); ``batched``: its first entry (``is_grads_batched``)."""
    out = []
    for i, (o, g) in enumerate(zip(outputs, grads)):
        if isinstance(o, graph.GradientEdge):
            if g is None and not isinstance(o.node, AccumulateGrad):
                raise RuntimeError(
                    f"output {i} is a GradientEdge: give its gradient in grad_outputs (gpugrad "
                    "does not record the shapes of a node's outputs)")
            data = None if g is None else g._data
            if batched and data is not None and data.shape[:1] and data.shape[0]:
                data = data[0]
            o = graph.tensor_at(o, data)
        out.append(o)
    return tuple(out)


def _seed_grads(outputs, grad_outputs, create_graph):
    """The gradient each output starts from: given, or ones for one-element outputs; and the
    arrays of those ones (the engine's unit seeds)."""
    from ..tensor import Tensor

    grads, ones = [], []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"outputs must be Tensors, got {type(out).__name__} at {i}")
        if out._requires_grad is not True:  # False, or views.GRAD_DROPPED: nothing to reach
            raise RuntimeError(
                f"element {i} of tensors does not require grad and does not have a grad_fn"
            )
        if g is None:
            if out.numel() != 1:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if out._data.dtype.kind == "c":
                raise RuntimeError("grad can be implicitly created only for real scalar "
                                   f"outputs but got {out.dtype}")
            g = Tensor._make(out._backend.xp.ones(out._data.shape, out._data.dtype), out._backend)
            ones.append(g._data)
        else:
            if not isinstance(g, Tensor):
                raise TypeError(f"gradient must be a Tensor or None, got {type(g).__name__}")
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and "
                    f"output[{i}] has a shape of {out.shape}."
                )
            if g._backend is not out._backend:
                raise RuntimeError(
                    f"invalid gradient at index {i} - expected device {out.device} but got "
                    f"{g.device}"
                )
            if g._data.dtype != out._data.dtype:
                if "c" in (g._data.dtype.kind, out._data.dtype.kind):
                    raise RuntimeError(
                        "For complex Tensors, both grad_output and output are required to have "
                        f"the same dtype. Mismatch in dtype: grad_output[{i}] has a dtype of "
                        f"{g.dtype} and output[{i}] has a dtype of {out.dtype}.")
                g = g.to(out.dtype)
            if not create_graph:
                g = g.detach()
        grads.append(g)
    return grads, ones


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """Accumulate into ``.grad`` of the leaves the gradient of ``tensors`` (see
    ``Tensor.backward``)."""
    outputs = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) or (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(
            f"grad_tensors has {len(grads)} elements but tensors has {len(outputs)}"
        )
    if retain_graph is None:
        retain_graph = create_graph
    if create_graph:  # each .grad left holds a graph that holds its leaf
        warn_user_once(
            "Using backward() with create_graph=True will create a reference cycle between the "
            "parameter and its gradient which can cause a memory leak. We recommend using "
            "autograd.grad when creating the graph to avoid this. If you have to use this "
            "function, make sure to reset the .grad fields of your parameters to None after use "
            "to break the cycle and avoid the leak.")
    outputs = _outputs_at_edges(outputs, grads)
    seeds, ones = _seed_grads(outputs, grads, create_graph)
    inputs = _as_tuple(inputs)
    if inputs is not None and len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `backward()` cannot be empty.")
    if inputs is not None:
        inputs = _inputs_at_edges(inputs)
    run_backward(outputs, seeds, retain_graph, create_graph, inputs=inputs, accumulate=True,
                 unit_seeds=ones)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         only_inputs: bool = True, allow_unused=None, is_grads_batched: bool = False,
         materialize_grads: bool = False):
    """The gradients of ``outputs`` w.r.t. ``inputs``, returned (not accumulated into .grad).

    With ``is_grads_batched``, the first dim of every grad_output is a batch dim: the result is
    one gradient per batch entry, stacked (computed one backward pass per entry)."""
    from ..tensor import Tensor

    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    if len(inputs) == 0:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    grads = _as_tuple(grad_outputs) or (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(
            f"grad requires one grad_output per output: got {len(grads)} for {len(outputs)}"
        )
    outputs = _outputs_at_edges(outputs, grads, batched=is_grads_batched)
    if any(isinstance(t, graph.GradientEdge) for t in inputs):
        if materialize_grads:
            raise RuntimeError(
                "materialize_grads cannot be used when the given input is a GradientEdge")
        inputs = _inputs_at_edges(inputs)
    if not is_grads_batched:  # (the outputs and their gradients first, as PyTorch checks)
        seeds, ones = _seed_grads(outputs, grads, create_graph)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise TypeError(f"inputs must be Tensors, got {type(t).__name__}")
        if not t.requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grads, retain_graph, create_graph, allow_unused,
                             materialize_grads)
    result = run_backward(outputs, seeds, retain_graph, create_graph, inputs=inputs,
                          accumulate=False, allow_unused=allow_unused, unit_seeds=ones)
    if materialize_grads:
        from ..factories import zeros_like

        result = tuple(zeros_like(t) if g is None else g for g, t in zip(result, inputs))
    return result


def _batched_grad(outputs, inputs, grads, retain_graph, create_graph, allow_unused,
                  materialize_grads):
    """``grad`` for each entry along the first dim of the grad_outputs, stacked."""
    from ..factories import zeros, zeros_like
    from ..ops.join import stack
    from ..tensor import Tensor

    for i, (g, out) in enumerate(zip(grads, outputs)):
        if not isinstance(g, Tensor) or g.ndim == 0 or tuple(g.shape[1:]) != tuple(out.shape):
            shape = g.shape if isinstance(g, Tensor) else None
            raise RuntimeError(
                "If `is_grads_batched=True`, we interpret the first dimension of each "
                "grad_output as the batch dimension. The sizes of the remaining dimensions are "
                "expected to match the shape of corresponding output, but a mismatch was "
                f"detected: grad_output[{i}] has a shape of {shape} and output[{i}] has a shape "
                f"of {out.shape}."
            )
    sizes = {g.shape[0] for g in grads}
    if len(sizes) != 1:
        raise RuntimeError(f"is_grads_batched: the grad_outputs have different batch sizes "
                           f"{sorted(sizes)}")
    n = sizes.pop()
    if retain_graph is None:
        retain_graph = create_graph
    rows = [grad(outputs, inputs, [g[b] for g in grads],
                 retain_graph=retain_graph if b == n - 1 else True, create_graph=create_graph,
                 allow_unused=allow_unused)
            for b in range(n)]
    result = []
    for k, t in enumerate(inputs):
        per_entry = [row[k] for row in rows]
        if all(g is None for g in per_entry):
            if n == 0:
                per_entry = []
            else:
                result.append(zeros_like(t) if materialize_grads else None)
                continue
        if not per_entry:
            result.append(zeros((0, *t.shape), dtype=t.dtype, device=t.device))
            continue
        result.append(stack([zeros_like(t) if g is None else g for g in per_entry], 0))
    return tuple(result)


# (``graph`` is read by the functions above when called: GradientEdge, tensor_at)
from . import anomaly_mode, functional, graph  # noqa: E402  (functional calls grad, defined above)
