"""Elementwise unary ops: ``exp``, ``tanh``, ``relu``... (binary arithmetic is in
``arithmetic.py``, comparisons in ``compare.py``, where and clamp in ``select.py``).

Nothing here is written per op: each entry of ``backend/formulas.UNARY`` (its math, and which
of its input and output the gradient reads) becomes a ``Function`` class, a public function
(``gpugrad.exp``), a Tensor method (``x.exp()``) and an in-place method (``x.exp_()``, in
``inplace.py``). Forward and backward call the backend's fused primitives (one pass; on CUDA one
Triton kernel); under ``create_graph=True`` backward runs the same formula on Tensors instead,
so it is differentiable again.
"""

from __future__ import annotations

from .. import _dtype as dt
from .._tensor_metadata import NoDenseArray
from ..autograd.function import Function
from ..autograd.record import record_op
from ..backend.formulas import UNARY
from ._grad_of_input import keep_input
from ._util import Tensor, conjugate, float_result, grad_state, math_ns

_NEEDS_ONE = (True,)


class _Unary(Function):
    """Base of the unary ops; subclasses set ``op`` (a key of ``formulas.UNARY``) and
    ``saves`` (its ``saves``)."""

    op = ""
    saves = ""

    @staticmethod
    def forward(ctx, x):
        op = ctx.op
        f = UNARY[op]
        xd = x._data
        if f.float_only and xd.dtype.kind not in dt.GRAD_KINDS:
            xd = xd.astype(float_result(x.dtype).np)
        y = x._new(x._backend.unary(op, xd))
        if ctx.saves:
            ctx.save_for_backward(x if ctx.saves == "x" else y)
        return y

    @staticmethod
    def backward(ctx, grad):
        # On Tensors (create_graph); the engine otherwise calls _array_backward.
        saved = ctx.saved_tensors if ctx.saves else (None,)
        x, y = (saved[0], None) if ctx.saves == "x" else (None, saved[0])
        if grad._data.dtype.kind == "c":
            x, y = conjugate(x), conjugate(y)
        f = UNARY[ctx.op]
        grad_input = f.grad(math_ns(), grad, x, y)
        return keep_input(f.grad_node, grad_input, saved[0]) if f.grad_node else grad_input

    def _array_backward(self, grad):
        saves = self.saves
        if not saves:
            return (self._backend.unary_grad(self.op, grad, None, None),)
        (s,) = self.saved_arrays()
        if grad.dtype.kind == "c":
            s = s.conj()
        if saves == "y":
            return (self._backend.unary_grad(self.op, grad, None, s),)
        if s.dtype != grad.dtype:
            s = s.astype(grad.dtype)
        return (self._backend.unary_grad(self.op, grad, s, None),)


# PyTorch's unary ops on a bool input: these refuse it (by their CPU kernels' names or in their
# own words), sign and sgn keep it, square promotes it to int64; the others read it as an integer.
_BOOL_KERNELS = {"abs": "abs_cpu", "floor": "floor_vml_cpu", "ceil": "ceil_vml_cpu",
                 "trunc": "trunc_vml_cpu", "round": "round_vml_cpu", "frac": "frac_cpu"}
_BOOL_REFUSED = {
    "neg": "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to "
           "invert a mask, use the `~` or `logical_not()` operator instead.",
    "relu": "Boolean inputs not supported for relu",
}


def _bool_input(op: str, input: Tensor) -> Tensor:
    """``input`` (a bool tensor) as ``op`` reads it, or PyTorch's error."""
    if op in _BOOL_KERNELS:
        raise dt.not_implemented_for(_BOOL_KERNELS[op], input.dtype)
    if op in _BOOL_REFUSED:
        raise RuntimeError(_BOOL_REFUSED[op])
    if op in ("sign", "sgn"):
        return input.clone()
    if op == "square":
        return input.long()
    return input


def _unary_op(op: str):
    """The ``Function`` class and the function of ``UNARY[op]``."""
    f = UNARY[op]
    cls = type(op.capitalize(), (_Unary,), {
        "op": op, "saves": f.saves, "node_name": f.node or f"{op.capitalize()}Backward0",
    })
    saves = f.saves

    def fn(input: Tensor) -> Tensor:
        if input.__class__ is not Tensor and not isinstance(input, Tensor):
            raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(input).__name__}")
        try:
            xd = input._data
        except NoDenseArray:  # a sparse tensor
            from ..sparse._math import unary

            return unary(op, input)
        if xd.dtype.kind not in dt.FLOAT_KINDS:
            if xd.dtype.kind == "b":
                input = _bool_input(op, input)
                if op in ("sign", "sgn"):
                    return input
            return cls.apply(input)
        # A float input: what apply would do, without its generality (the path of every op).
        backend = input._backend
        y = Tensor._make(backend.unary(op, xd), backend)
        if input._requires_grad and grad_state.enabled:
            record_op(cls, (input,), _NEEDS_ONE, y,
                      (input,) if saves == "x" else (y,) if saves else ())
        return y

    fn.__name__ = fn.__qualname__ = op
    fn.__doc__ = f"Elementwise ``{op}`` of ``input``."
    return cls, fn


CLASSES: dict = {}  # op -> its Function class
FUNCTIONS: dict = {}  # op -> its function (nn.functional's activations included)
for _op in UNARY:
    CLASSES[_op], FUNCTIONS[_op] = _unary_op(_op)

PUBLIC = [op for op, f in UNARY.items() if f.public]  # gpugrad.<op>, Tensor.<op>, .<op>_
globals().update({op: FUNCTIONS[op] for op in PUBLIC})
negative = FUNCTIONS["neg"]
__all__ = [*PUBLIC, "negative"]


def _pos(self):
    return self


METHODS = {op: FUNCTIONS[op] for op in PUBLIC}
METHODS.update({"negative": negative, "__neg__": negative, "__abs__": FUNCTIONS["abs"],
                "__pos__": _pos})
