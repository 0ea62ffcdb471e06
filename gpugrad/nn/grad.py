"""``gpugrad.nn.grad`` (also ``F.grad``), as ``torch.nn.grad``: the gradients of a convolution
with respect to its input (``convNd_input``) and to its weight (``convNd_weight``), given the
gradient of its output. Each is the backward of gpugrad's own ``F.convNd``, run through
``autograd.grad``; its result is differentiable (with respect to the given tensors) while grad
mode is on."""

from __future__ import annotations

from .. import autograd, factories
from ..autograd.grad_mode import enable_grad, is_grad_enabled
from ..tensor import Tensor
from .functional.conv import conv1d, conv2d, conv3d

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input",
           "conv3d_weight"]


def _input_gradient(conv, input_size, weight: Tensor, grad_output: Tensor, stride, padding,
                    dilation, groups) -> Tensor:
    # The convolution is linear in its input: its gradient does not depend on the input's
    # values, only on its size, so zeros of that size stand in for it.
    input = factories.zeros(tuple(input_size), dtype=grad_output.dtype,
                            device=grad_output.device, requires_grad=True)
    return _gradient(conv, input, weight, grad_output, input, (weight, grad_output), stride,
                     padding, dilation, groups)


def _weight_gradient(conv, input: Tensor, weight_size, grad_output: Tensor, stride, padding,
                     dilation, groups) -> Tensor:
    weight = factories.zeros(tuple(weight_size), dtype=grad_output.dtype,
                             device=grad_output.device, requires_grad=True)
    return _gradient(conv, input, weight, grad_output, weight, (input, grad_output), stride,
                     padding, dilation, groups)


def _gradient(conv, input, weight, grad_output, wrt, given, stride, padding, dilation, groups):
    """The gradient of ``conv(input, weight)`` with respect to ``wrt`` (the stand-in made
    for it), backward from ``grad_output``; with a graph when grad mode is on and one of the
    ``given`` tensors requires grad."""
    create_graph = is_grad_enabled() and any(t.requires_grad for t in given)
    if not create_graph:  # only the stand-in's history is needed
        input, weight = (t if t is wrt else t.detach() for t in (input, weight))
    with enable_grad():
        output = conv(input, weight, None, stride, padding, dilation, groups)
    (gradient,) = autograd.grad(output, wrt, grad_output, create_graph=create_graph)
    return gradient


def conv1d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``F.conv1d`` with respect to an input of ``input_size``."""
    return _input_gradient(conv1d, input_size, weight, grad_output, stride, padding, dilation,
                           groups)


def conv1d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``F.conv1d`` with respect to a weight of ``weight_size``."""
    return _weight_gradient(conv1d, input, weight_size, grad_output, stride, padding, dilation,
                            groups)


def conv2d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``F.conv2d`` with respect to an input of ``input_size``."""
    return _input_gradient(conv2d, input_size, weight, grad_output, stride, padding, dilation,
                           groups)


def conv2d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``F.conv2d`` with respect to a weight of ``weight_size``."""
    return _weight_gradient(conv2d, input, weight_size, grad_output, stride, padding, dilation,
                            groups)


def conv3d_input(input_size, weight, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``F.conv3d`` with respect to an input of ``input_size``."""
    return _input_gradient(conv3d, input_size, weight, grad_output, stride, padding, dilation,
                           groups)


def conv3d_weight(input, weight_size, grad_output, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of ``F.conv3d`` with respect to a weight of ``weight_size``."""
    return _weight_gradient(conv3d, input, weight_size, grad_output, stride, padding, dilation,
                            groups)
