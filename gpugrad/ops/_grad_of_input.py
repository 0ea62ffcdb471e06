"""Gradients that stay functions of the input under ``create_graph``.

PyTorch computes the gradient of a piecewise-linear activation (relu, leaky_relu, hardtanh) by
a backward op that takes the input as an argument (``threshold_backward(grad, result, 0)``...),
with a zero derivative in it. So a gradient taken with ``create_graph=True`` requires grad
wherever the input does, and differentiating it again sends zeros to the input: parameters that
reach a loss only through such a gradient (the hidden biases of a WGAN-GP critic) get a zero
``.grad``, not None. gpugrad's formulas compute that gradient by a mask, which reads the input
without recording it; ``keep_input`` adds the recorded dependency.
"""

from __future__ import annotations

from ..autograd.function import Function

__all__ = ["keep_input"]


class _KeepInput(Function):
    """``grad`` itself, recorded as a function of ``grad`` and ``input`` (derivative zero in
    ``input``); subclasses name the node PyTorch records."""

    @staticmethod
    def forward(ctx, grad, input):
        ctx.input_shape, ctx.input_dtype = input._data.shape, input._data.dtype
        return grad._new(grad._data)

    @staticmethod
    def backward(ctx, grad_grad):
        xp = grad_grad._backend.xp
        zeros = grad_grad._new(xp.zeros(ctx.input_shape, ctx.input_dtype))
        return grad_grad, zeros


_NODES: dict = {}


def keep_input(node_name: str, grad, input):
    """``grad`` (a Tensor computed from ``input`` by a mask), as a recorded function of
    ``input`` too when ``input`` requires grad; ``node_name`` is PyTorch's node for it."""
    if not input.requires_grad:
        return grad
    cls = _NODES.get(node_name)
    if cls is None:
        cls = _NODES[node_name] = type(node_name, (_KeepInput,), {"node_name": node_name})
    return cls.apply(grad, input)
