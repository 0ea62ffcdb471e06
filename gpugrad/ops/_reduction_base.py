"""The backward of every reduction whose gradient is an entry of ``formulas_reduce.REDUCE``
(sum, mean, amax/amin, var, std, norm, logsumexp, softmax, log_softmax): written once here,
from the formula, for both paths.

A subclass sets ``op`` and writes its forward, which ends with ``ctx.reduced(x, y, dims, param)``
(what the reduction was, and the saves its formula asks for). Backward then runs the formula on
Tensors under ``create_graph=True`` (so it is differentiable again), and otherwise through the
backend's ``reduce_grad`` on arrays (the same formula in the NumPy twin; a kernel where one
exists).
"""

from __future__ import annotations

import math

from ..autograd.function import Function
from ..backend.formulas_reduce import REDUCE, Reduced
from ._util import math_ns


def kept_shape(shape, dims):
    """``shape`` with the reduced ``dims`` set to 1 (all dims when ``dims`` is None)."""
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else n for i, n in enumerate(shape))


class Reduction(Function):
    """Base of the reductions with a ``REDUCE`` formula; subclasses set ``op``."""

    op = ""
    param = None

    def reduced(self, x, y, dims, param=None):
        """Forward's last step: remember the reduction of ``x`` over ``dims`` (None: all) into
        ``y``, and save what the gradient formula reads. Returns ``y``. (Nothing, when the
        node is not recorded: nothing will read it.)"""
        if not self.needs_input_grad[0]:
            return y
        self.shape, self.dims, self.param = x._data.shape, dims, param
        saves = REDUCE[self.op].saves
        if saves:  # (sum and mean save nothing)
            self.save_for_backward(x if "x" in saves else None, y if "y" in saves else None)
        return y

    @property
    def kshape(self):
        """The gradient's (and the output's) shape with the reduced dims kept, or None where
        the formula keeps the input's shape."""
        return None if REDUCE[self.op].same_shape else kept_shape(self.shape, self.dims)

    def _kept(self, a):
        """``a`` (the gradient, or the output) in the kept shape."""
        if a is None:
            return a
        kshape = self.kshape
        return a if kshape is None else a.reshape(kshape)

    def input_grad(self, grad, x, y):
        """The input's gradient (a Tensor, differentiable: create_graph) from the output's
        ``grad``, given the input ``x`` and the output ``y`` (each None where the formula does
        not read it)."""
        shape, dims = self.shape, self.dims
        count = math.prod(shape) if dims is None else math.prod(shape[d] for d in dims)
        r = Reduced(lambda a: a.sum(dims, keepdim=True), count, dims is None, self.param)
        gx = REDUCE[self.op].grad(math_ns(), r, self._kept(grad), x, self._kept(y))
        if gx is not None and tuple(gx.shape) != shape:
            gx = gx.expand(shape)
        return gx

    def array_input_grad(self, grad, x, y):
        """``input_grad`` on raw arrays, through the backend's ``reduce_grad``."""
        kshape = self.kshape
        if kshape is not None:
            grad = grad.reshape(kshape)
            if y is not None:
                y = y.reshape(kshape)
        return self._backend.reduce_grad(self.op, grad, x, y, self.shape, self.dims, self.param)

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph); the engine otherwise calls _array_backward.
        x, y = ctx.saved_tensors if REDUCE[ctx.op].saves else (None, None)
        return (ctx.input_grad(grad, x, y),) + (None,) * (len(ctx.needs_input_grad) - 1)

    def _array_backward(self, grad):
        # sum and mean read nothing saved: like PyTorch's, their node can run twice
        x, y = self.saved_arrays() if REDUCE[self.op].saves else (None, None)
        return (self.array_input_grad(grad, x, y),) + (None,) * (len(self.needs_input_grad) - 1)
